package main

import (
	"bytes"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2/utils"

	"github.com/skewless/skewless/manifest"
)

// outcome is what a request came to, for the access log and metrics.
type outcome uint8

const (
	outServed      outcome = iota // a file of the current or a live build
	outFallback                   // the SPA's index.html for a client-side route
	outUnknown                    // 404: a file nobody has
	outRetired                    // 404: a file only retired builds had
	outNotFound                   // 404: a route, with --spa=false (maybe with the 404 page)
	outBadRequest                 // 400: a malformed path
	outEndpoint                   // /_skewless/...
	outNotAllowed                 // 405
	outUnavailable                // 503: no current build yet
	outNotModified                // 304
	outPrecondFail                // 412
)

var outcomeNames = [...]string{"served", "fallback", "unknown", "retired", "not-found", "bad-request", "endpoint", "method-not-allowed", "unavailable", "not-modified", "precondition-failed"}

func (o outcome) String() string { return outcomeNames[o] }

// resolution is the answer to a request path: a file to send, or a status.
type resolution struct {
	file    *manifest.File
	outcome outcome
	status  int
}

// decodePath turns a raw request path into the path to look up. It refuses
// (400) what cannot name a file of a build: bad escapes, NUL, backslashes
// and dot-dot segments, encoded or not. The lookup is a map of the build's
// own files, so nothing outside the build is reachable either way; the
// 400 tells the client its request is malformed.
func decodePath(raw string) (string, bool) {
	if !strings.HasPrefix(raw, "/") {
		return "", false
	}
	p := raw
	if strings.IndexByte(raw, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(raw); err != nil {
			return "", false
		}
	}
	if strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 {
		return "", false
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p, true // the common case, checked without allocating
	}
	// Check every segment before collapsing empty ones, so "/a//../b"
	// cannot pass as "/b".
	var b strings.Builder
	for rest := p[1:]; ; {
		seg, more, found := strings.Cut(rest, "/")
		switch seg {
		case "..", ".":
			return "", false
		case "":
		default:
			b.WriteByte('/')
			b.WriteString(seg)
		}
		if !found {
			break
		}
		rest = more
	}
	if strings.HasSuffix(p, "/") || b.Len() == 0 {
		b.WriteByte('/')
	}
	return b.String(), true
}

// request is what resolve needs of a request besides its path.
type request struct {
	// spa answers client-side routes with the SPA fallback (--spa).
	spa bool
	// header is read only when the answer depends on whether the request
	// is a document navigation (a miss), so an asset hit reads none.
	// Nil: not a navigation.
	header headerReader
}

// headerReader reads request header values by canonical name, as
// *fasthttp.RequestHeader does.
type headerReader interface {
	PeekCanonical(key []byte) []byte
}

// resolve applies the serving order of the contract to a decoded path:
// a file of the current build (with clean URLs), a file of a live build,
// a retired path, a missing file, or the SPA fallback (or, without one,
// the build's 404 page for a document navigation).
func resolve(s *manifest.Snapshot, p string, req request) resolution {
	if !manifest.Servable(p[1:]) {
		return resolution{outcome: outUnknown, status: 404}
	}
	if f := s.File(p); f != nil {
		return resolution{file: f, outcome: outServed, status: 200}
	}
	ext := lastSegmentHasExt(p)
	if !ext {
		if f := cleanURL(s, p); f != nil {
			return resolution{file: f, outcome: outServed, status: 200}
		}
	}
	if f := s.LiveFile(p); f != nil {
		return resolution{file: f, outcome: outServed, status: 200}
	}
	if s.RetiredBy(p) != "" {
		return resolution{outcome: outRetired, status: 404}
	}
	// "/assets/x.js/" is not x.js, nor a route to render (a page there
	// would resolve its relative URLs against the wrong folder).
	if file, ok := strings.CutSuffix(p, "/"); ok && file != "" && namesFile(s, file) {
		return resolution{outcome: outUnknown, status: 404}
	}
	// A path with an extension is a file nobody has, unless a person asked
	// for a page there (/user/john.doe, maybe exported as john.doe.html):
	// headers are read only now.
	nav := ext && navigation(req.header)
	switch {
	case ext && !nav:
		return resolution{outcome: outUnknown, status: 404}
	case ext:
		if f := cleanURL(s, p); f != nil {
			return resolution{file: f, outcome: outServed, status: 200}
		}
	}
	if req.spa {
		if f := fallback(s); f != nil {
			return resolution{file: f, outcome: outFallback, status: 200}
		}
	}
	if f := s.File(manifest.NotFoundPage); f != nil && (nav || !ext && navigation(req.header)) {
		return resolution{file: f, outcome: outNotFound, status: 404}
	}
	return resolution{outcome: outNotFound, status: 404}
}

// cleanURL tries, as static hosts do for clean URLs, "P/index.html" then
// "P.html" for "P" (Nuxt and Astro write about/index.html, Next.js
// about.html) and for "P/" (Next.js serves about.html at /about/ too).
func cleanURL(s *manifest.Snapshot, p string) *manifest.File {
	base := strings.TrimSuffix(p, "/")
	if base == "" {
		return s.File("/index.html")
	}
	if f := s.File(base + "/index.html"); f != nil {
		return f
	}
	return s.File(base + ".html")
}

// namesFile reports whether p is a file the server would serve, or
// remembers as retired.
func namesFile(s *manifest.Snapshot, p string) bool {
	return s.File(p) != nil || s.LiveFile(p) != nil || s.RetiredBy(p) != ""
}

// lastSegmentHasExt reports whether the last segment of p (the one before
// a trailing slash, if any) has a file extension.
func lastSegmentHasExt(p string) bool {
	p = strings.TrimSuffix(p, "/")
	return path.Ext(p[strings.LastIndexByte(p, '/')+1:]) != ""
}

// fallback is the page for client-side routes: the first of
// manifest.FallbackPages the current build has.
func fallback(s *manifest.Snapshot) *manifest.File {
	for _, p := range manifest.FallbackPages {
		if f := s.File(p); f != nil {
			return f
		}
	}
	return nil
}

var (
	hdrSecFetchMode = []byte("Sec-Fetch-Mode")
	hdrSecFetchDest = []byte("Sec-Fetch-Dest")
	hdrAccept       = []byte("Accept")
)

// navigation reports whether the request loads a document in a browsing
// context (a link followed, a URL typed, a reload): Fetch metadata
// says so (Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: document), or, from
// browsers that send none, an Accept that prefers text/html, as every
// browser's navigation Accept does and no script, style or image load's.
func navigation(h headerReader) bool {
	if h == nil {
		return false
	}
	return bytes.Equal(h.PeekCanonical(hdrSecFetchMode), valNavigate) ||
		bytes.Equal(h.PeekCanonical(hdrSecFetchDest), valDocument) ||
		prefersHTML(h.PeekCanonical(hdrAccept))
}

var (
	valNavigate = []byte("navigate")
	valDocument = []byte("document")
)

// prefersHTML reports whether an Accept header names text/html (or
// application/xhtml+xml) with a q-value no other range beats (RFC 9110
// §12.5.1). "*/*" alone, as fetch() and script loads send, does not.
func prefersHTML(accept []byte) bool {
	htmlQ, otherQ := -1.0, -1.0
	for len(accept) > 0 {
		var item []byte
		if i := bytes.IndexByte(accept, ','); i >= 0 {
			item, accept = accept[:i], accept[i+1:]
		} else {
			item, accept = accept, nil
		}
		typ, q := mediaRange(item)
		switch {
		case len(typ) == 0:
		case bytes.EqualFold(typ, mimeHTML) || bytes.EqualFold(typ, mimeXHTML):
			htmlQ = max(htmlQ, q)
		default:
			otherQ = max(otherQ, q)
		}
	}
	return htmlQ > 0 && htmlQ >= otherQ
}

var (
	mimeHTML  = []byte("text/html")
	mimeXHTML = []byte("application/xhtml+xml")
)

// mediaRange splits one Accept element into its type and q-value (1 when
// absent or malformed).
func mediaRange(item []byte) ([]byte, float64) {
	typ, params, _ := bytes.Cut(item, []byte(";"))
	q := 1.0
	for len(params) > 0 {
		var param []byte
		param, params, _ = bytes.Cut(params, []byte(";"))
		name, value, ok := bytes.Cut(bytes.TrimSpace(param), []byte("="))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("q")) {
			if v, err := strconv.ParseFloat(utils.UnsafeString(bytes.TrimSpace(value)), 64); err == nil && v >= 0 && v <= 1 {
				q = v
			}
		}
	}
	return bytes.TrimSpace(typ), q
}
