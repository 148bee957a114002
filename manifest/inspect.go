package manifest

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Globs are --immutable patterns: URL paths of files to cache for a year
// although their names carry no hash the classifier recognises. A pattern
// is matched against the whole URL path of a file from the build root
// ("/fonts/Inter.woff2"; a pattern without a leading '/' gets one). In a
// pattern "**" as a whole segment matches any number of folders (none
// too), and within a segment "*" matches any run of characters but '/',
// "?" one character, and "[a-z]" a class, as Go's path.Match has them:
// "/fonts/*.woff2", "/static/**", "/**/*.wasm".
type Globs []glob

type glob struct {
	text string
	segs []string
}

// ParseGlobs checks and compiles patterns; the error names the first bad
// one and why.
func ParseGlobs(patterns []string) (Globs, error) {
	var gs Globs
	for _, p := range patterns {
		if p == "" {
			return nil, fmt.Errorf("--immutable: an empty pattern matches nothing")
		}
		text := "/" + strings.TrimPrefix(p, "/")
		segs := strings.Split(text[1:], "/")
		for _, s := range segs {
			if strings.Contains(s, "**") && s != "**" {
				return nil, fmt.Errorf("--immutable %q: \"**\" must be a whole segment (\"/static/**\", \"/**/*.woff2\")", p)
			}
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("--immutable %q: bad pattern in %q: %w", p, s, err)
			}
		}
		gs = append(gs, glob{text: text, segs: segs})
	}
	return gs, nil
}

// String lists the patterns as given, with their leading '/'.
func (gs Globs) String() string {
	texts := make([]string, len(gs))
	for i, g := range gs {
		texts[i] = g.text
	}
	return strings.Join(texts, ",")
}

// Match reports whether rel (slash-separated, relative to the build root)
// matches any of the patterns.
func (gs Globs) Match(rel string) bool {
	if len(gs) == 0 {
		return false
	}
	segs := strings.Split(rel, "/")
	for _, g := range gs {
		if matchSegments(g.segs, segs) {
			return true
		}
	}
	return false
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// FallbackPages are the HTML files served for client-side routes, in the
// order they are tried: Nuxt's and adapter-static's 200.html (the hosts'
// convention, Surge first), React Router's __spa-fallback.html (written
// when "/" itself is pre-rendered into index.html), then index.html.
var FallbackPages = []string{"/200.html", "/__spa-fallback.html", "/index.html"}

// NotFoundPage is the build's page for a missing page, served with status
// 404 to document navigations that get no SPA fallback (Next.js, Nuxt,
// Astro and GitHub Pages-style builds write it).
const NotFoundPage = "/404.html"

// FileReport says how one file of a build will be served.
type FileReport struct {
	Path      string `json:"path"`
	Bytes     int64  `json:"bytes"`
	Immutable bool   `json:"immutable"`
	Rule      Rule   `json:"rule"`
	Why       string `json:"why"`
	Type      string `json:"type"`
	// Encodings lists the codings served besides identity: the build's own
	// .br/.gz siblings ("br (build)"), or those made at load
	// ("br (at load)") for compressible types, kept when smaller.
	Encodings []string `json:"encodings"`
	// Role names what an HTML file is for besides its own URL.
	Role string `json:"role,omitempty"`
	// Headers are what the build's _headers adds when the file is asked
	// for at its own URL.
	Headers []Header `json:"headers,omitempty"`
}

// BuildReport is how a build folder would be served: every file, and
// what keeps it from being ready (nothing when Problems is empty).
type BuildReport struct {
	Files    []FileReport `json:"files"`
	Problems []string     `json:"problems"`
	// Hashed counts files immutable by their name (or folder, or build
	// manifest); Immutable adds those only --immutable made so.
	Hashed    int `json:"hashed"`
	Immutable int `json:"immutable"`
	// Rules is what the build's _headers and _redirects do (nil: it has
	// neither).
	Rules *RulesReport `json:"rules,omitempty"`
}

// Report validates the build in dir as a load would and says how each of
// its files would be served, reading no file but index.html, build
// manifests, _headers and _redirects.
func (l *Loader) Report(dir string) (*BuildReport, error) {
	s, err := scanBuild(dir)
	if err != nil {
		return nil, err
	}
	facts, problems := validate(s, l.cfg.ReadyFile, l.cfg.Base, readIndex(s))
	r := &BuildReport{Problems: problems, Files: []FileReport{}}
	if r.Problems == nil {
		r.Problems = []string{}
	}
	rules := loadRules(s, l.cfg.Base)
	var paths []string
	for _, f := range servedFiles(s) {
		rel := f.rel
		paths = append(paths, "/"+rel)
		immutable, rule := Classify(rel, Facts{Listed: facts.manifestOutputs, Immutable: l.cfg.Immutable})
		mt := typeOf(rel)
		fr := FileReport{Path: "/" + rel, Bytes: f.size, Immutable: immutable, Rule: rule, Why: rule.Describe(),
			Type: mt.contentType, Encodings: l.encodings(s, rel, f.size, mt.compressible), Role: roleOf("/"+rel, s)}
		if rules != nil {
			fr.Headers = rules.Headers.For(fr.Path)
		}
		if immutable {
			r.Immutable++
			if rule != RuleFlag {
				r.Hashed++
			}
		}
		r.Files = append(r.Files, fr)
	}
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path })
	if rules != nil {
		r.Rules = rules.report(paths)
	}
	return r, nil
}

// encodings mirrors what the loader prepares: a build's own siblings (not
// for HTML, which is rewritten at load), else brotli and gzip made at load
// for compressible files of 128 bytes up to MaxMemoryFile.
func (l *Loader) encodings(s *scan, rel string, size int64, compressible bool) []string {
	var own []string
	if !IsHTML(rel) {
		for _, e := range []struct{ ext, name string }{{".br", "br"}, {".gz", "gzip"}} {
			if _, ok := s.files[rel+e.ext]; ok {
				own = append(own, e.name+" (build)")
			}
		}
	}
	switch {
	case own != nil:
		return own
	case compressible && size >= 128 && size <= l.cfg.MaxMemoryFile:
		return []string{"br (at load)", "gzip (at load)"}
	}
	return []string{}
}

// roleOf names what an HTML file serves besides its own URL.
func roleOf(p string, s *scan) string {
	for _, fb := range FallbackPages {
		if _, ok := s.files[fb[1:]]; ok {
			if fb == p {
				return "SPA fallback"
			}
			break
		}
	}
	if p == NotFoundPage {
		return "404 page"
	}
	return ""
}
