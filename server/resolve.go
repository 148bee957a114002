package main

import (
	"net/url"
	"path"
	"strings"

	"github.com/skewless/skewless/manifest"
)

// outcome is what a request came to, for the access log and metrics.
type outcome uint8

const (
	outServed      outcome = iota // a file of the current or a live build
	outFallback                   // the SPA's index.html for a client-side route
	outUnknown                    // 404: a file nobody has
	outRetired                    // 404: a hashed file only retired builds had
	outNotFound                   // 404: a route, with --spa=false
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

// resolve applies the serving order of the contract to a decoded path:
// a file of the current build (with clean URLs), a hashed file of a live
// build, a retired hashed path, a missing file, or the SPA fallback.
func resolve(s *manifest.Snapshot, p string, spa bool) resolution {
	if !manifest.Servable(p[1:]) {
		return resolution{outcome: outUnknown, status: 404}
	}
	if f := s.File(p); f != nil {
		return resolution{file: f, outcome: outServed, status: 200}
	}
	last := p[strings.LastIndexByte(p, '/')+1:]
	ext := path.Ext(last)
	if f := cleanURL(s, p, ext); f != nil {
		return resolution{file: f, outcome: outServed, status: 200}
	}
	if f := s.LiveHashed(p); f != nil {
		return resolution{file: f, outcome: outServed, status: 200}
	}
	if s.RetiredBy(p) != "" {
		return resolution{outcome: outRetired, status: 404}
	}
	if ext != "" {
		return resolution{outcome: outUnknown, status: 404}
	}
	if spa {
		if f := s.File("/index.html"); f != nil {
			return resolution{file: f, outcome: outFallback, status: 200}
		}
	}
	return resolution{outcome: outNotFound, status: 404}
}

// cleanURL tries "P/index.html" for "P/", and "P/index.html" then "P.html"
// for an extension-less P, as static hosts do for clean URLs.
func cleanURL(s *manifest.Snapshot, p, ext string) *manifest.File {
	if strings.HasSuffix(p, "/") {
		return s.File(p + "index.html")
	}
	if ext != "" {
		return nil
	}
	if f := s.File(p + "/index.html"); f != nil {
		return f
	}
	return s.File(p + ".html")
}
