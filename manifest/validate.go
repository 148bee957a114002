package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// Build manifests the loader reads. A root manifest.json is a web app
// manifest, not Vite's (Vite ≥ 5 writes .vite/manifest.json), so it is
// never read as one.
const (
	viteManifest = ".vite/manifest.json"
	craManifest  = "asset-manifest.json"
	indexHTML    = "index.html"
)

// InvalidError is returned for a build that must not be served; Problems
// says, one sentence each, what is missing or wrong.
type InvalidError struct {
	Version  string
	Problems []string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("build %q is invalid: %s", e.Version, strings.Join(e.Problems, "; "))
}

// Problems lists what is wrong according to err: an InvalidError's
// problems, or the error itself; nil for no error.
func Problems(err error) []string {
	var ie *InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie.Problems
	}
	return []string{err.Error()}
}

// buildFacts is what validation learns about a build besides its problems.
type buildFacts struct {
	// manifestOutputs are the relative paths a build manifest lists as
	// outputs: content-hashed by construction.
	manifestOutputs map[string]bool
	// indexRefs are the relative paths index.html loads: the first files
	// a visitor asks for.
	indexRefs map[string]bool
}

// indexFile is index.html as one load read it: validation checks these
// bytes and the loader serves them, so they cannot differ.
type indexFile struct {
	doc     []byte
	problem string // why it cannot be used, or ""
}

// readIndex reads the build's index.html once.
func readIndex(s *scan) indexFile {
	idx, ok := s.files[indexHTML]
	if !ok {
		return indexFile{problem: "index.html is missing"}
	}
	doc, err := os.ReadFile(idx.abs)
	if err != nil {
		return indexFile{problem: fmt.Sprintf("index.html cannot be read: %v", err)}
	}
	return indexFile{doc: doc, problem: documentProblem(doc)}
}

// validate checks a scanned build: index.html present and a document,
// every local URL it loads present (resolved against base, the URL path
// the build is served under, and under it), every output a build manifest
// names present, and the ready file (when readyFile is set) present. It
// returns every problem.
func validate(s *scan, readyFile, base string, idx indexFile) (buildFacts, []string) {
	facts := buildFacts{manifestOutputs: map[string]bool{}, indexRefs: map[string]bool{}}
	var problems []string
	if readyFile != "" {
		if _, ok := s.files[readyFile]; !ok {
			problems = append(problems, fmt.Sprintf("ready file %q is not there yet", readyFile))
		}
	}
	if idx.problem != "" {
		problems = append(problems, idx.problem)
	}
	for _, ref := range htmlRefs(idx.doc, base) {
		rel, ok := strings.CutPrefix(ref, base)
		if !ok {
			problems = append(problems, fmt.Sprintf("index.html loads %s, which is outside the base %s (a build made for another base? rebuild it for %s, or serve it with --base)", ref, base, base))
			continue
		}
		facts.indexRefs[rel] = true
		if _, ok := s.files[rel]; !ok {
			problems = append(problems, fmt.Sprintf("index.html loads %s, which is not in the build%s", ref, baseHint(s, ref, base)))
		}
	}
	for _, m := range []struct {
		name  string
		parse func([]byte) ([]string, error)
	}{{viteManifest, parseViteManifest}, {craManifest, parseCRAManifest}} {
		f, ok := s.files[m.name]
		if !ok {
			continue
		}
		outs, err := readManifest(f.abs, m.parse)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s cannot be used: %v", m.name, err))
			continue
		}
		for _, rel := range outs {
			facts.manifestOutputs[rel] = true
			// Source maps are often stripped before upload; their
			// absence breaks no page.
			if _, ok := s.files[rel]; !ok && !strings.HasSuffix(rel, ".map") {
				problems = append(problems, fmt.Sprintf("%s lists %s, which is not in the build", m.name, rel))
			}
		}
	}
	return facts, problems
}

// baseHint suggests the base a build was made for when the file index.html
// loads is in the build below a prefix of its URL ("/app/assets/x.js" and
// assets/x.js present: made for /app/).
func baseHint(s *scan, ref, base string) string {
	for i := len(base); i < len(ref); i++ {
		if ref[i] != '/' {
			continue
		}
		if _, ok := s.files[ref[i+1:]]; ok {
			return fmt.Sprintf(" (it has %s: a build made for base %s? serve it with --base %s)", ref[i+1:], ref[:i+1], ref[:i+1])
		}
	}
	return ""
}

func readManifest(p string, parse func([]byte) ([]string, error)) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	outs, err := parse(b)
	if err != nil {
		return nil, err
	}
	sort.Strings(outs)
	return slices.Compact(outs), nil
}

// parseViteManifest returns every output file of a Vite manifest:
// Record<src, {file, css?, assets?}> (vite plugins/manifest.ts).
func parseViteManifest(b []byte) ([]string, error) {
	var m map[string]struct {
		File   string   `json:"file"`
		CSS    []string `json:"css"`
		Assets []string `json:"assets"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not a Vite manifest: %w", err)
	}
	var outs []string
	for _, e := range m {
		for _, f := range append(append([]string{e.File}, e.CSS...), e.Assets...) {
			if rel, ok := outputPath(f); ok {
				outs = append(outs, rel)
			}
		}
	}
	return outs, nil
}

// parseCRAManifest returns the outputs of a CRA/webpack asset-manifest.json:
// {"files": {"main.js": "/static/js/main.1a2b3c4d.js", ...}, "entrypoints": [...]}.
// HTML pages it lists are not hashed outputs.
func parseCRAManifest(b []byte) ([]string, error) {
	var m struct {
		Files       map[string]string `json:"files"`
		Entrypoints []string          `json:"entrypoints"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not an asset manifest: %w", err)
	}
	var outs []string
	for _, f := range m.Files {
		outs = append(outs, f)
	}
	outs = append(outs, m.Entrypoints...)
	var rels []string
	for _, f := range outs {
		if rel, ok := outputPath(f); ok && !IsHTML(rel) {
			rels = append(rels, rel)
		}
	}
	return rels, nil
}

// outputPath turns a manifest's file reference ("assets/x.js", "/static/x.js",
// "./x.js") into a clean relative path, or false for external URLs.
func outputPath(f string) (string, bool) {
	p, ok := localPath(f, "/")
	if !ok || p == "/" {
		return "", false
	}
	return strings.TrimPrefix(path.Clean(p), "/"), true
}
