package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skewless/skewless/manifest"
)

// condResult is the result of evaluating a precondition header: absent,
// true, or false (as in net/http's fs.go).
type condResult int

const (
	condNone condResult = iota
	condTrue
	condFalse
)

// checkIfNoneMatch evaluates If-None-Match with the weak comparison RFC 9110
// §13.1.2 prescribes. condFalse means "matches": answer 304.
func checkIfNoneMatch(header string, c *manifest.Content) condResult {
	if header == "" {
		return condNone
	}
	for header != "" {
		var tag string
		tag, header, _ = strings.Cut(header, ",")
		tag = strings.TrimSpace(tag)
		if tag == "*" || c.MatchesETag(tag) {
			return condFalse
		}
	}
	return condTrue
}

// checkIfModifiedSince evaluates If-Modified-Since; RFC 9110 §13.1.3: it is
// ignored when If-None-Match is present (the caller checks that first).
// condFalse means "not modified": answer 304.
func checkIfModifiedSince(header string, modTime time.Time) condResult {
	if header == "" {
		return condNone
	}
	t, err := http.ParseTime(header)
	if err != nil {
		return condNone
	}
	// HTTP dates have one-second resolution.
	if !modTime.Truncate(time.Second).After(t) {
		return condFalse
	}
	return condTrue
}

// checkIfRange reports whether a Range request may be honoured: If-Range
// absent, or naming the current validator (a strong ETag or the exact
// Last-Modified date), RFC 9110 §13.1.5.
func checkIfRange(header string, rep *manifest.Representation, modTime time.Time) bool {
	if header == "" {
		return true
	}
	if strings.HasPrefix(header, `"`) {
		return header == rep.ETag
	}
	t, err := http.ParseTime(header)
	return err == nil && t.Equal(modTime.Truncate(time.Second).UTC())
}

// rangeResult says what to do with a Range header.
type rangeResult int

const (
	rangeIgnore        rangeResult = iota // serve the whole file, 200
	rangeSatisfiable                      // serve the range, 206
	rangeUnsatisfiable                    // 416
)

// parseRange parses a single byte range (RFC 9110 §14.1.2) against a
// representation of size bytes. Multiple ranges and malformed headers are
// ignored and the whole file is sent, which the RFC allows: a browser only
// asks for one range, and multipart/byteranges serves nobody here.
func parseRange(header string, size int64) (start, length int64, res rangeResult) {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, rangeIgnore
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, rangeIgnore
	}
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, rangeIgnore
		}
		if n == 0 || size == 0 {
			return 0, 0, rangeUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, rangeSatisfiable
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, rangeIgnore
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return 0, 0, rangeIgnore
		}
		e = min(e, size-1)
	}
	if s >= size {
		return 0, 0, rangeUnsatisfiable
	}
	return s, e - s + 1, rangeSatisfiable
}
