package manifest

import (
	"fmt"
	"net/textproto"
	"strings"
)

// HeadersFile is the name of a build's custom headers file (Netlify and
// Cloudflare Pages format), read at the build's root and never served.
const HeadersFile = "_headers"

// Header is one response header a _headers rule adds.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// headerRule is one block of a _headers file: a path pattern, the headers
// it adds and the ones it detaches ("! Name": removes what an earlier
// matching rule added, as Cloudflare Pages does).
type headerRule struct {
	line    int
	written string // the path line as written
	path    pathPattern
	set     []Header
	detach  []string
}

// HeaderRules are the compiled rules of a _headers file.
type HeaderRules struct {
	rules []headerRule
}

// deniedHeaders are the headers a _headers rule may not set: the server
// decides them, and a rule that set them would break caching (a year-long
// Cache-Control on an unhashed file, a pinned 404), framing, the
// validators, the version the helper reads, or the safety of cached
// responses. Lower case.
var deniedHeaders = map[string]string{
	"cache-control":          "caching is skewless's (hashed files immutable, the rest no-cache); use --immutable GLOB for hashed names it misses",
	"expires":                "caching is skewless's (use --immutable GLOB for hashed names it misses)",
	"pragma":                 "caching is skewless's",
	"age":                    "caches set it",
	"etag":                   "skewless sets the validators",
	"last-modified":          "skewless sets the validators",
	"vary":                   "skewless sets it for the encodings it negotiates",
	"content-length":         "framing is the server's",
	"content-encoding":       "skewless negotiates the encoding",
	"content-range":          "skewless answers ranges",
	"accept-ranges":          "skewless answers ranges",
	"transfer-encoding":      "framing is the server's",
	"connection":             "a hop-by-hop header",
	"keep-alive":             "a hop-by-hop header",
	"upgrade":                "a hop-by-hop header",
	"trailer":                "framing is the server's",
	"te":                     "a hop-by-hop header",
	"proxy-authenticate":     "a hop-by-hop header",
	"date":                   "the server sets it",
	"location":               "redirects are _redirects' (from to 301)",
	"set-cookie":             "a cached file must not set a cookie",
	"x-content-type-options": "skewless always sends nosniff",
	"allow":                  "the server answers methods",
	"retry-after":            "the server sets it",
}

// headerDenied says why a _headers rule may not set name, or "".
func headerDenied(name string) string {
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "skewless-") {
		return "Skewless-* headers are the server's (the helper trusts them)"
	}
	return deniedHeaders[lower]
}

// ParseHeaders reads a _headers file: blocks of an unindented URL path
// pattern ("/*", "/assets/*", "/blog/:slug", an exact path) followed by
// indented "Name: value" lines (values may use the pattern's :placeholders
// and :splat) or "! Name" lines; '#' starts a comment line. Lines it
// cannot use are left out and reported, with their line numbers, as
// problems: a typo in one header must not keep a build from going live,
// as Netlify and Cloudflare Pages ignore such lines with a warning.
//
// Paths are URL paths as the browser shows them, base included ("/app/*"
// under --base /app/); rules are kept as patterns of build paths.
func ParseHeaders(data []byte, base string) (*HeaderRules, []string) {
	hr := &HeaderRules{}
	var problems []string
	var cur *headerRule
	bad := func(n int, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s line %d: %s", HeadersFile, n, fmt.Sprintf(format, a...)))
	}
	for n, line := range strings.Split(string(data), "\n") {
		n++
		line = strings.TrimRight(line, " \t\r")
		text := strings.TrimSpace(line)
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
			continue
		case line[0] != ' ' && line[0] != '\t':
			cur = nil
			if strings.Contains(text, "://") {
				bad(n, "%q: absolute URLs are not supported (a path such as /* applies to every host)", text)
				continue
			}
			rel, err := underBase(text, base)
			if err != nil {
				bad(n, "%v", err)
				continue
			}
			pat, err := compilePattern(rel)
			if err != nil {
				bad(n, "%v", err)
				continue
			}
			hr.rules = append(hr.rules, headerRule{line: n, written: text, path: pat})
			cur = &hr.rules[len(hr.rules)-1]
		case cur == nil:
			bad(n, "%q is indented but follows no path line (or follows an ignored one)", text)
		default:
			parseHeaderLine(cur, text, func(format string, a ...any) { bad(n, format, a...) })
		}
	}
	return hr, problems
}

// parseHeaderLine adds one indented line to rule r.
func parseHeaderLine(r *headerRule, text string, bad func(string, ...any)) {
	if name, ok := strings.CutPrefix(text, "!"); ok {
		name = strings.TrimSpace(name)
		if !validHeaderName(name) {
			bad("%q is not a header name", name)
			return
		}
		r.detach = append(r.detach, textproto.CanonicalMIMEHeaderKey(name))
		return
	}
	name, value, ok := strings.Cut(text, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	switch {
	case !ok:
		bad("%q is not \"Name: value\"", text)
	case !validHeaderName(name):
		bad("%q is not a header name", name)
	case value == "":
		bad("%s has no value", name)
	case strings.ContainsAny(value, "\x00\r\n") || !printable(value):
		bad("the value of %s holds control characters", name)
	case headerDenied(name) != "":
		bad("%s cannot be set here: %s", name, headerDenied(name))
	default:
		// Values hold colons of their own (CSP sources, URLs): only :splat
		// is surely meant as a placeholder; other names not captured stay.
		if strings.Contains(value, ":splat") && !r.path.splat {
			bad("the value of %s uses :splat, but %s has no *", name, r.written)
			return
		}
		r.set = append(r.set, Header{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
	}
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 §5.1:
// a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Empty reports whether there are no rules.
func (hr *HeaderRules) Empty() bool { return hr == nil || len(hr.rules) == 0 }

// For returns the headers the rules give a response for path, in the order
// they were first set: every matching rule adds its headers (values of one
// name joined with ", ", as Cloudflare Pages does), and "! Name" drops
// what earlier rules set. Placeholders in values are filled from the path.
func (hr *HeaderRules) For(path string) []Header {
	if hr.Empty() {
		return nil
	}
	var out []Header
	for _, r := range hr.rules {
		if !r.path.match(path) {
			continue
		}
		for _, name := range r.detach {
			out = removeHeader(out, name)
		}
		caps := map[string]string(nil)
		for _, h := range r.set {
			v := h.Value
			if strings.IndexByte(v, ':') >= 0 {
				if caps == nil {
					caps = r.path.captures(path)
				}
				v = escapeControls(substitute(v, caps))
			}
			out = addHeader(out, h.Name, v)
		}
	}
	return out
}

func addHeader(hs []Header, name, value string) []Header {
	for i := range hs {
		if hs[i].Name == name {
			hs[i].Value += ", " + value
			return hs
		}
	}
	return append(hs, Header{Name: name, Value: value})
}

func removeHeader(hs []Header, name string) []Header {
	out := hs[:0]
	for _, h := range hs {
		if h.Name != name {
			out = append(out, h)
		}
	}
	return out
}

// escapeControls percent-encodes control characters in a value filled
// from a request path ("/blog/%0d%0a..." decodes to a line break, which
// would split the response), leaving every other byte as it is.
func escapeControls(v string) string {
	if printable(v) {
		return v
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
