package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/skewless/skewless/manifest"
)

// runInspect is `skewless inspect DIR`: how a build folder would be served,
// file by file, without deploying it. This is how a user checks a new
// toolchain: every content-hashed file should say "immutable", and nothing
// that changes between builds should.
func runInspect(args []string) error {
	fs := newFlagSet("inspect", "DIR [--json] [--immutable GLOB]... [--ready-file NAME] [--base /app/]")
	var asJSON bool
	var ready string
	var globs []string
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.StringVar(&ready, "ready-file", "", "a file that must exist in the build (as the server's --ready-file)")
	immutableFlag(fs, &globs)
	var base string
	baseFlag(fs, &base)
	pos, err := commandArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	dir := pos[0]
	if err := checkSourceFolder(dir); err != nil {
		return err
	}
	immutable, err := manifest.ParseGlobs(globs)
	if err != nil {
		return usageError{err.Error()}
	}
	if base, err = normalizeBase(base); err != nil {
		return usageError{err.Error()}
	}
	r, err := manifest.NewLoader(manifest.LoaderConfig{ReadyFile: ready, Immutable: immutable, Base: base}).Report(dir)
	if err != nil {
		return err
	}
	if asJSON {
		err = printInspectJSON(os.Stdout, dir, r)
	} else {
		err = printInspect(os.Stdout, r)
	}
	if err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(os.Stderr, "skewless inspect: %s is not ready to deploy: %s\n", dir, strings.Join(r.Problems, "; "))
		return exitError{1}
	}
	return nil
}

// printInspect writes one line per file and a summary line.
func printInspect(w io.Writer, r *manifest.BuildReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tCACHE\tRULE\tTYPE\tENCODINGS\tSIZE")
	for _, f := range r.Files {
		cache := "no-cache"
		if f.Immutable {
			cache = "immutable"
		}
		rule := string(f.Rule)
		if f.Role != "" {
			rule += " (" + f.Role + ")"
		}
		enc := strings.Join(f.Encodings, ", ")
		if enc == "" {
			enc = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Path, cache, rule, f.Type, enc, humanBytes(f.Bytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Rules != nil {
		printRules(w, r.Rules)
	}
	_, err := fmt.Fprintln(w, inspectSummary(r))
	return err
}

// printRules says what _headers and _redirects do: each header rule with
// the headers it sets and how many files it matches, each redirect or
// rewrite in order (the first match wins), and the lines left out.
func printRules(w io.Writer, r *manifest.RulesReport) {
	if len(r.Headers) > 0 {
		fmt.Fprintln(w, "\n_headers (every matching rule applies; by URL, also to routes and rewrites):")
	}
	for _, h := range r.Headers {
		fmt.Fprintf(w, "  line %d  %s  (%d files)\n", h.Line, h.Path, h.Files)
		for _, x := range h.Set {
			fmt.Fprintf(w, "    %s: %s\n", x.Name, x.Value)
		}
		for _, name := range h.Detach {
			fmt.Fprintf(w, "    ! %s (removed)\n", name)
		}
	}
	if len(r.Redirects) > 0 {
		fmt.Fprintln(w, "\n_redirects (first match wins; a file at the path wins over a rule without !):")
	}
	for _, x := range r.Redirects {
		what := fmt.Sprintf("%d redirect", x.Status)
		if x.Rewrite() {
			what = "200 rewrite"
		}
		if x.Force {
			what += ", forced: even where a file is"
		}
		fmt.Fprintf(w, "  line %d  %s -> %s  (%s)\n", x.Line, x.From, x.To, what)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "\nrule lines left out (the build stays ready):")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintln(w)
}

// inspectSummary is the one-line count: files, hashed, immutable.
func inspectSummary(r *manifest.BuildReport) string {
	s := fmt.Sprintf("%d files: %d hashed, %d immutable", len(r.Files), r.Hashed, r.Immutable)
	if extra := r.Immutable - r.Hashed; extra > 0 {
		s += fmt.Sprintf(" (%d by --immutable)", extra)
	}
	s += fmt.Sprintf(", %d revalidated (no-cache)", len(r.Files)-r.Immutable)
	if len(r.Problems) == 0 {
		return s + "; ready"
	}
	return s + fmt.Sprintf("; NOT READY (%d problems)", len(r.Problems))
}

func printInspectJSON(w io.Writer, dir string, r *manifest.BuildReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Dir   string `json:"dir"`
		Ready bool   `json:"ready"`
		*manifest.BuildReport
	}{dir, len(r.Problems) == 0, r})
}
