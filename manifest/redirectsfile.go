package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// RedirectsFile is the name of a build's redirects file (Netlify and
// Cloudflare Pages format), read at the build's root and never served.
const RedirectsFile = "_redirects"

// Redirect is one rule of a _redirects file.
type Redirect struct {
	Line int    `json:"line"`
	From string `json:"from"`
	// To is the target as written: a path or an absolute URL, with
	// :placeholders and :splat filled from From.
	To string `json:"to"`
	// Status is 301, 302, 303, 307, 308 (a redirect) or 200 (a rewrite:
	// the target's file answers at From's URL).
	Status int `json:"status"`
	// Force applies the rule even where a file answers the path (Netlify's
	// "!"); without it, a file of the build shadows the rule.
	Force bool `json:"force"`

	from pathPattern // From, as a pattern of build paths
	// rewrite is a rewrite's target as a build path (To under the base).
	rewrite string
}

// Rewrite reports whether the rule serves another file rather than
// redirecting.
func (r *Redirect) Rewrite() bool { return r.Status == 200 }

// Target is the rule's To with the captures of path (a build path it
// matches) filled in: for a redirect, the Location to send.
func (r *Redirect) Target(path string) string {
	return substitute(r.To, r.from.captures(path))
}

// RewritePath is a rewrite's target as a build path, captures filled in.
func (r *Redirect) RewritePath(path string) string {
	return substitute(r.rewrite, r.from.captures(path))
}

// RewriteStatic is a rewrite's target build path when it uses no
// captures ("" otherwise): checked at load.
func (r *Redirect) RewriteStatic() string {
	if len(placeholdersIn(r.rewrite)) > 0 {
		return ""
	}
	return r.rewrite
}

// RedirectRules are the compiled rules of a _redirects file, in order.
type RedirectRules struct {
	rules []Redirect
	// exact and exactForced map a static From (a path without
	// placeholders) to its first rule, and first forced rule; dynamic
	// lists the other rules' indexes, in order. A lookup is a map read
	// and a scan of the dynamic rules only.
	exact, exactForced map[string]int
	dynamic            []int
	forced             bool // some rule has "!"
}

var redirectStatuses = map[int]bool{200: true, 301: true, 302: true, 303: true, 307: true, 308: true}

// ParseRedirects reads a _redirects file: one rule a line, "FROM TO
// [STATUS][!]", '#' starting a comment line. FROM is a path with
// :placeholders and a trailing * (the splat); TO a path or an http(s)
// URL that may use them (:splat); STATUS 301 (the default), 302, 303,
// 307, 308, or 200 for a rewrite to a file of the build. Query matching,
// conditions (Country=, Language=, Role=), proxying to other hosts and
// other statuses are Netlify's alone: such lines are left out and
// reported, with their line numbers, as problems.
//
// Paths are URL paths as the browser shows them, base included; FROM is
// kept as a pattern of build paths, TO as written (a rewrite's also as a
// build path).
func ParseRedirects(data []byte, base string) (*RedirectRules, []string) {
	rr := &RedirectRules{exact: map[string]int{}, exactForced: map[string]int{}}
	var problems []string
	for n, line := range strings.Split(string(data), "\n") {
		n++
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		r, err := parseRedirect(n, strings.Fields(text), base)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s line %d: %v", RedirectsFile, n, err))
			continue
		}
		rr.add(r)
	}
	return rr, problems
}

// add appends rule r and indexes it.
func (rr *RedirectRules) add(r Redirect) {
	i := len(rr.rules)
	if !r.from.static() {
		rr.dynamic = append(rr.dynamic, i)
	} else {
		firstIndex(rr.exact, r.from.text, i)
		if r.Force {
			firstIndex(rr.exactForced, r.from.text, i)
		}
	}
	rr.forced = rr.forced || r.Force
	rr.rules = append(rr.rules, r)
}

// parseRedirect reads one rule's fields.
func parseRedirect(n int, f []string, base string) (Redirect, error) {
	r := Redirect{Line: n, Status: 301}
	if len(f) < 2 {
		return r, fmt.Errorf("%q has no target (FROM TO [STATUS])", strings.Join(f, " "))
	}
	r.From, r.To = f[0], f[1]
	switch {
	case strings.Contains(r.From, "://"):
		return r, fmt.Errorf("%q: rules for other hosts are not supported (a path applies to every host)", r.From)
	case strings.ContainsAny(r.From, "?#"):
		return r, fmt.Errorf("%q: FROM matches the path only; queries are not matched", r.From)
	case strings.Contains(r.To, "=") && !strings.HasPrefix(r.To, "/") && !strings.Contains(r.To, "://"):
		return r, fmt.Errorf("%q: query parameter matching is not supported", r.To)
	case !strings.HasPrefix(r.To, "/") && !strings.HasPrefix(r.To, "http://") && !strings.HasPrefix(r.To, "https://"):
		return r, fmt.Errorf("%q is not a target (a path starting with /, or an http(s) URL)", r.To)
	}
	if len(f) >= 3 {
		status, force := strings.CutSuffix(f[2], "!")
		code, err := strconv.Atoi(status)
		if err != nil || !redirectStatuses[code] {
			return r, fmt.Errorf("status %q is not supported (301, 302, 303, 307, 308, or 200 to rewrite)", f[2])
		}
		r.Status, r.Force = code, force
	}
	if len(f) > 3 {
		return r, fmt.Errorf("conditions (%s) are not supported", strings.Join(f[3:], " "))
	}
	rel, err := underBase(r.From, base)
	if err != nil {
		return r, err
	}
	if r.from, err = compilePattern(rel); err != nil {
		return r, err
	}
	names := r.from.names()
	for _, ph := range placeholdersIn(r.To) {
		if !names[ph] {
			return r, fmt.Errorf("%q uses :%s, which %q does not capture", r.To, ph, r.From)
		}
	}
	if !r.Rewrite() {
		return r, nil
	}
	if !strings.HasPrefix(r.To, "/") {
		return r, fmt.Errorf("a 200 rewrite to %q would proxy another host, which is not supported (redirect with 301/302, or rewrite to a path)", r.To)
	}
	to, _, _ := strings.Cut(r.To, "?")
	if r.rewrite, err = underBase(to, base); err != nil || strings.Contains(r.rewrite, "*") {
		return r, fmt.Errorf("rewrites to %q, outside the base %s", r.To, base)
	}
	return r, nil
}

// Empty reports whether there are no rules.
func (rr *RedirectRules) Empty() bool { return rr == nil || len(rr.rules) == 0 }

// HasForced reports whether any rule has "!": only then must a request
// for a file look at the rules at all.
func (rr *RedirectRules) HasForced() bool { return rr != nil && rr.forced }

// Rules lists the rules in order (for inspect).
func (rr *RedirectRules) Rules() []Redirect {
	if rr == nil {
		return nil
	}
	return rr.rules
}

// Match returns the first rule for path (first match wins), or the first
// forced one when forcedOnly; nil when none matches. It does not allocate.
func (rr *RedirectRules) Match(path string, forcedOnly bool) *Redirect {
	if rr.Empty() {
		return nil
	}
	exact := rr.exact
	if forcedOnly {
		exact = rr.exactForced
	}
	best := -1
	if i, ok := exact[path]; ok {
		best = i
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		if i, ok := exact[path[:len(path)-1]]; ok && (best < 0 || i < best) {
			best = i
		}
	}
	for _, i := range rr.dynamic {
		if best >= 0 && i > best {
			break
		}
		if r := &rr.rules[i]; (!forcedOnly || r.Force) && r.from.match(path) {
			return r
		}
	}
	if best >= 0 {
		return &rr.rules[best]
	}
	return nil
}

func firstIndex(m map[string]int, k string, i int) {
	if _, ok := m[k]; !ok {
		m[k] = i
	}
}
