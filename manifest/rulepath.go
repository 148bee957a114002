package manifest

import (
	"fmt"
	"strings"
)

// pathPattern is a URL path pattern of _headers and _redirects, compiled:
// literal text, :placeholders (each a whole segment, matching one
// non-empty segment) and at most one * (a splat, at the end, matching the
// rest of the path, empty included). "/news/*" also matches "/news", and
// a path with a trailing slash matches the pattern without it ("/about/"
// as "/about"), as Netlify matches.
type pathPattern struct {
	text  string
	parts []patternPart
	splat bool
}

type patternPart struct {
	lit  string // literal text, or
	name string // a placeholder's name (without ':')
}

// underBase maps a rule's URL path pattern to a pattern of build paths
// under base ("/app/assets/*" → "/assets/*" for base "/app/"): rules are
// written with the URLs a browser shows. "/*" stays every path; a pattern
// outside the base could never match.
func underBase(p, base string) (string, error) {
	switch {
	case base == "/" || p == "/*":
		return p, nil
	case strings.HasPrefix(p, base):
		return "/" + p[len(base):], nil
	case p == strings.TrimSuffix(base, "/"):
		return "/", nil
	}
	return "", fmt.Errorf("%q is outside the base %s: it can never match", p, base)
}

// compilePattern compiles p, which must start with '/'.
func compilePattern(p string) (pathPattern, error) {
	pat := pathPattern{text: p}
	if !strings.HasPrefix(p, "/") {
		return pat, fmt.Errorf("%q is not a path (paths start with /)", p)
	}
	if i := strings.IndexByte(p, '*'); i >= 0 {
		if i != len(p)-1 {
			return pat, fmt.Errorf("%q: * (the splat) must end the path", p)
		}
		pat.splat, p = true, p[:i]
	}
	var lit strings.Builder
	for _, seg := range strings.SplitAfter(p, "/") {
		name, ok := strings.CutPrefix(strings.TrimSuffix(seg, "/"), ":")
		if !ok {
			lit.WriteString(seg)
			continue
		}
		if !validPlaceholder(name) {
			return pat, fmt.Errorf("%q: placeholder :%s is not a name (letters, digits, _)", pat.text, name)
		}
		if lit.Len() > 0 {
			pat.parts = append(pat.parts, patternPart{lit: lit.String()})
			lit.Reset()
		}
		pat.parts = append(pat.parts, patternPart{name: name})
		if strings.HasSuffix(seg, "/") {
			lit.WriteByte('/')
		}
	}
	if lit.Len() > 0 {
		pat.parts = append(pat.parts, patternPart{lit: lit.String()})
	}
	return pat, nil
}

func validPlaceholder(name string) bool {
	if name == "" || name == "splat" {
		return false
	}
	return nameEnd(name, 0) == len(name)
}

// static reports whether the pattern is one exact path.
func (p pathPattern) static() bool {
	return !p.splat && (len(p.parts) == 0 || len(p.parts) == 1 && p.parts[0].name == "")
}

// match reports whether path matches, without allocating.
func (p pathPattern) match(path string) bool {
	_, ok := p.matchAt(path, nil)
	return ok
}

// captures returns the placeholders' and the splat's values for a path
// that matches (nil otherwise).
func (p pathPattern) captures(path string) map[string]string {
	caps := map[string]string{}
	if _, ok := p.matchAt(path, caps); !ok {
		return nil
	}
	return caps
}

// matchAt matches path, trying it without a trailing slash too, and
// "/news" for "/news/*". caps, when not nil, receives the captures.
func (p pathPattern) matchAt(path string, caps map[string]string) (string, bool) {
	if p.matchExact(path, caps, false) {
		return path, true
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") && p.matchExact(path[:len(path)-1], caps, false) {
		return path[:len(path)-1], true
	}
	if p.splat && p.matchExact(path, caps, true) {
		return path, true
	}
	return "", false
}

// matchExact matches path against the pattern; bare matches it as if its
// final "/*" were absent ("/news/*" as "/news", with an empty splat).
func (p pathPattern) matchExact(path string, caps map[string]string, bare bool) bool {
	if bare && (len(p.parts) == 0 || !strings.HasSuffix(p.parts[len(p.parts)-1].lit, "/")) {
		return false
	}
	i := 0
	for k, part := range p.parts {
		if part.name == "" {
			lit := part.lit
			if bare && k == len(p.parts)-1 {
				lit = lit[:len(lit)-1]
			}
			if !strings.HasPrefix(path[i:], lit) {
				return false
			}
			i += len(lit)
			continue
		}
		n := strings.IndexByte(path[i:], '/')
		if n < 0 {
			n = len(path) - i
		}
		if n == 0 {
			return false
		}
		if caps != nil {
			caps[part.name] = path[i : i+n]
		}
		i += n
	}
	switch {
	case bare:
		if caps != nil {
			caps["splat"] = ""
		}
		return i == len(path)
	case p.splat:
		if caps != nil {
			caps["splat"] = path[i:]
		}
		return true
	}
	return i == len(path)
}

// names lists the placeholders the pattern captures, the splat as "splat".
func (p pathPattern) names() map[string]bool {
	out := map[string]bool{}
	for _, part := range p.parts {
		if part.name != "" {
			out[part.name] = true
		}
	}
	if p.splat {
		out["splat"] = true
	}
	return out
}

// substitute replaces :name in s by the captured values, longest names
// first (":splat" before ":s").
func substitute(s string, caps map[string]string) string {
	if len(caps) == 0 || strings.IndexByte(s, ':') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != ':' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := nameEnd(s, i+1)
		if v, ok := caps[s[i+1:j]]; ok && j > i+1 {
			b.WriteString(v)
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// placeholdersIn lists the :names s uses.
func placeholdersIn(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		j := nameEnd(s, i+1)
		if j > i+1 {
			out = append(out, s[i+1:j])
		}
		i = j - 1
	}
	return out
}

// nameEnd returns where the placeholder name starting at i ends: a letter
// or '_', then letters, digits and '_' (":8080" in a URL is no name).
func nameEnd(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (j > i && c >= '0' && c <= '9') {
			j++
			continue
		}
		break
	}
	return j
}
