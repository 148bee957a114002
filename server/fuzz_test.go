package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/skewless/skewless/manifest"
)

// FuzzDecodePath: never panics; an accepted path starts with "/" and holds
// no NUL, no backslash and no "." or ".." segment.
func FuzzDecodePath(f *testing.F) {
	for _, tt := range decodePathTests {
		f.Add(tt.raw)
	}
	for _, s := range []string{"/%2e%2e%2f%2e%2e%2fetc/passwd", "/%c0%ae%c0%ae/", "/a/%2e%2e%5c", "/%25", "/a/b/../../..", "/.//..//", "///..", "/%u002e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, ok := decodePath(raw)
		if !ok {
			if p != "" {
				t.Fatalf("decodePath(%q) refused it but returned %q", raw, p)
			}
			return
		}
		if !strings.HasPrefix(p, "/") {
			t.Fatalf("decodePath(%q) = %q: no leading slash", raw, p)
		}
		if strings.ContainsAny(p, "\x00\\") {
			t.Fatalf("decodePath(%q) = %q: NUL or backslash", raw, p)
		}
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("decodePath(%q) = %q: %q segment", raw, p, seg)
			}
		}
	})
}

// FuzzResolve: decodePath then resolve on a fixture snapshot never panics,
// and a file it serves is always one of the snapshot's builds' own files
// (pointer identity), with the status that goes with the outcome: 200, or
// 404 for the build's 404 page.
func FuzzResolve(f *testing.F) {
	for _, tt := range resolveTests {
		f.Add(tt.path, tt.spa, tt.header != nil)
	}
	for _, tt := range decodePathTests {
		f.Add(tt.raw, true, true)
	}
	snap, builds := resolveSnapshot(f)
	own := map[*manifest.File]bool{}
	for _, b := range builds {
		for _, file := range b.Files {
			own[file] = true
		}
	}
	page404 := snap.Current.Files[manifest.NotFoundPage]
	f.Fuzz(func(t *testing.T, raw string, spa, nav bool) {
		p, ok := decodePath(raw)
		if !ok {
			return
		}
		req := request{spa: spa}
		if nav {
			req.header = navigate
		}
		res := resolve(snap, p, req)
		switch {
		case res.file != nil && !own[res.file]:
			t.Fatalf("resolve(%q) served a file that is not a build's own", raw)
		case res.file != nil && res.status != 200 && (res.status != 404 || res.file != page404 || !nav):
			t.Fatalf("resolve(%q) served a file with status %d", raw, res.status)
		case res.file == nil && res.status != 404:
			t.Fatalf("resolve(%q) served nothing with status %d", raw, res.status)
		case res.outcome == outFallback && res.file != fallback(snap):
			t.Fatalf("resolve(%q): fallback is not the current build's fallback page", raw)
		case res.outcome == outFallback && !spa:
			t.Fatalf("resolve(%q): fallback with spa off", raw)
		case res.file != nil && strings.Contains(strings.TrimPrefix(p, "/.well-known/"), "/."):
			t.Fatalf("resolve(%q) served a dotfile", raw)
		case res.file != nil && res.outcome == outServed && len(p) > 1 && strings.HasSuffix(p, "/") && !manifest.IsHTML(fileName(builds, res.file)):
			t.Fatalf("resolve(%q) served a file for a path ending in a slash", raw)
		}
	})
}

// fileName finds the URL path of f in builds.
func fileName(builds map[string]*manifest.Build, f *manifest.File) string {
	for _, b := range builds {
		for p, file := range b.Files {
			if file == f {
				return p
			}
		}
	}
	return ""
}

// FuzzNegotiate: never panics; picks a coding the file has, and one the
// header names (or allows with "*").
func FuzzNegotiate(f *testing.F) {
	for _, tt := range negotiateTests {
		f.Add(tt.header, tt.br, tt.gz)
	}
	f.Fuzz(func(t *testing.T, header string, haveBr, haveGz bool) {
		got := negotiate([]byte(header), haveBr, haveGz)
		lower := strings.ToLower(header)
		switch got {
		case manifest.Identity:
		case manifest.Brotli:
			if !haveBr || !(strings.Contains(lower, "br") || strings.Contains(header, "*")) {
				t.Fatalf("negotiate(%q, %v, %v) = br", header, haveBr, haveGz)
			}
		case manifest.Gzip:
			if !haveGz || !(strings.Contains(lower, "gzip") || strings.Contains(header, "*")) {
				t.Fatalf("negotiate(%q, %v, %v) = gzip", header, haveBr, haveGz)
			}
		default:
			t.Fatalf("negotiate(%q) = %d, not a coding", header, got)
		}
		if header == "" && got != manifest.Identity {
			t.Fatalf("negotiate with no header = %s", got.Token())
		}
	})
}

// FuzzParseRange: never panics; a satisfiable range lies inside the
// representation and is not empty; other results carry no range.
func FuzzParseRange(f *testing.F) {
	for _, tt := range parseRangeTests {
		f.Add(tt.r, tt.size)
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return // a representation has no negative size
		}
		start, length, res := parseRange(header, size)
		switch res {
		case rangeSatisfiable:
			if start < 0 || length < 1 || start > size-length {
				t.Fatalf("parseRange(%q, %d) = start %d, length %d", header, size, start, length)
			}
		case rangeIgnore, rangeUnsatisfiable:
			if start != 0 || length != 0 {
				t.Fatalf("parseRange(%q, %d) = %d, %d with result %d", header, size, start, length, res)
			}
		default:
			t.Fatalf("parseRange(%q, %d): result %d", header, size, res)
		}
	})
}

// FuzzInject: never panics; the output is the input with the tag inserted
// once, at headInsertion's offset, after any byte-order mark. Where the
// input does not hold the tag already, the output holds it exactly once
// and removing it gives the input.
func FuzzInject(f *testing.F) {
	for _, tt := range injectHeadTests {
		f.Add(tt.in)
	}
	f.Add(`<!doctype html><html><head>` + injTag + `</head>`)
	f.Add("<html x='")
	f.Add("<!--")
	f.Add("<")
	tag := []byte(injTag)
	f.Fuzz(func(t *testing.T, doc string) {
		out := injectHead([]byte(doc), tag)
		if len(out) != len(doc)+len(tag) {
			t.Fatalf("injectHead(%q): %d bytes out, want %d", doc, len(out), len(doc)+len(tag))
		}
		at := headInsertion([]byte(doc))
		if at < 0 || at > len(doc) || string(out[:at]) != doc[:at] || !bytes.Equal(out[at:at+len(tag)], tag) || string(out[at+len(tag):]) != doc[at:] {
			t.Fatalf("injectHead(%q) = %q: not the input with the tag at %d", doc, out, at)
		}
		if strings.HasPrefix(doc, "\ufeff") && at < 3 {
			t.Fatalf("injectHead(%q): tag before the byte-order mark", doc)
		}
		// (Where the input holds the tag already, the insertion may
		// split that copy, so only the check above applies.)
		if !strings.Contains(doc, injTag) {
			if n := bytes.Count(out, tag); n != 1 {
				t.Fatalf("injectHead(%q): tag appears %d times", doc, n)
			}
			if i := bytes.Index(out, tag); string(out[:i])+string(out[i+len(tag):]) != doc {
				t.Fatalf("injectHead(%q) = %q: removing the tag does not give the input", doc, out)
			}
		}
	})
}
