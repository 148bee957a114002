package manifest

import (
	"fmt"
	"os"
	"strings"
)

// Rules are what a build's _headers and _redirects files say, compiled
// once at load: a request only matches compiled patterns.
type Rules struct {
	Headers   *HeaderRules
	Redirects *RedirectRules
	// Problems lists the lines left out, with why ("_headers line 4:
	// ..."). They do not make the build invalid: Netlify and Cloudflare
	// Pages ignore such lines with a warning too, and a typo in a header
	// must not hold back a deploy.
	Problems []string
}

// rulesFile reports whether rel is one of the rules files, which are
// read at load and never served.
func rulesFile(rel string) bool { return rel == HeadersFile || rel == RedirectsFile }

// loadRules reads and compiles the rules files of a scanned build, if it
// has them (nil otherwise), for builds served under base.
func loadRules(s *scan, base string) *Rules {
	var r Rules
	read := func(name string) []byte {
		f, ok := s.files[name]
		if !ok {
			return nil
		}
		b, err := os.ReadFile(f.abs)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s cannot be read: %v", name, err))
			return nil
		}
		return b
	}
	hb, rb := read(HeadersFile), read(RedirectsFile)
	if hb == nil && rb == nil && r.Problems == nil {
		return nil
	}
	var p []string
	r.Headers, p = ParseHeaders(hb, base)
	r.Problems = append(r.Problems, p...)
	r.Redirects, p = ParseRedirects(rb, base)
	r.Problems = append(r.Problems, p...)
	r.Problems = append(r.Problems, r.Redirects.dropMissingRewrites(func(p string) bool { return rewriteTarget(s, p) })...)
	return &r
}

// rewriteTarget reports whether a rewrite to build path p finds a file,
// as a request does: the file, or its clean URL (p/index.html, p.html).
func rewriteTarget(s *scan, p string) bool {
	rel := strings.TrimPrefix(p, "/")
	if _, ok := s.files[rel]; ok && rel != "" {
		return true
	}
	base := strings.TrimSuffix(rel, "/")
	for _, c := range []string{base + "/index.html", base + ".html"} {
		if _, ok := s.files[strings.TrimPrefix(c, "/")]; ok {
			return true
		}
	}
	return false
}

// dropMissingRewrites removes the rewrites to a fixed path the build does
// not have, and says which.
func (rr *RedirectRules) dropMissingRewrites(exists func(string) bool) []string {
	var problems []string
	kept := rr.rules[:0:0]
	for _, r := range rr.rules {
		if t := r.RewriteStatic(); r.Rewrite() && t != "" && !exists(t) {
			problems = append(problems, fmt.Sprintf("%s line %d: rewrites to %s, which is not in the build", RedirectsFile, r.Line, r.To))
			continue
		}
		kept = append(kept, r)
	}
	if len(kept) != len(rr.rules) {
		*rr = *rebuildRedirects(kept)
	}
	return problems
}

// rebuildRedirects indexes rules again after some were removed.
func rebuildRedirects(rules []Redirect) *RedirectRules {
	rr := &RedirectRules{exact: map[string]int{}, exactForced: map[string]int{}}
	for _, r := range rules {
		rr.add(r)
	}
	return rr
}

// RulesReport is what a build's _headers and _redirects do, for inspect.
type RulesReport struct {
	Headers   []HeaderRuleReport `json:"headers"`
	Redirects []Redirect         `json:"redirects"`
	// Problems are the lines left out; they do not keep the build from
	// being ready.
	Problems []string `json:"problems"`
}

// HeaderRuleReport is one _headers block as it will apply.
type HeaderRuleReport struct {
	Line   int      `json:"line"`
	Path   string   `json:"path"`
	Set    []Header `json:"set"`
	Detach []string `json:"detach,omitempty"`
	// Files counts the build's files whose own URL it matches (it applies
	// to routes and rewrites as well).
	Files int `json:"files"`
}

// report describes r for the build files at paths (URL paths of build
// files, "/assets/a.js").
func (r *Rules) report(paths []string) *RulesReport {
	rep := &RulesReport{Headers: []HeaderRuleReport{}, Redirects: r.Redirects.Rules(), Problems: r.Problems}
	if rep.Redirects == nil {
		rep.Redirects = []Redirect{}
	}
	if rep.Problems == nil {
		rep.Problems = []string{}
	}
	for _, hr := range r.Headers.rules {
		h := HeaderRuleReport{Line: hr.line, Path: hr.written, Set: hr.set, Detach: hr.detach}
		if h.Set == nil {
			h.Set = []Header{}
		}
		for _, p := range paths {
			if hr.path.match(p) {
				h.Files++
			}
		}
		rep.Headers = append(rep.Headers, h)
	}
	return rep
}
