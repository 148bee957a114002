package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"
)

// Request header names of the preconditions, as fasthttp stores them.
var (
	hdrIfMatch           = []byte("If-Match")
	hdrIfUnmodifiedSince = []byte("If-Unmodified-Since")
	nameIfMatch          = "If-Match"
	nameIfNoneMatch      = "If-None-Match"
)

// condResult is the result of evaluating a precondition header: absent,
// true, or false (as in net/http's fs.go).
type condResult int

const (
	condNone condResult = iota
	condTrue
	condFalse
)

// requestFields is what preconditions read of a request: the first line
// of a field, or all of its lines (a list field such as If-None-Match may
// be split over several, RFC 9110 §5.3). Either is empty when the field is
// absent.
type requestFields interface {
	first(name []byte) []byte
	all(name string) [][]byte
}

// fasthttpFields reads a fasthttp request head without copying.
type fasthttpFields fasthttp.RequestHeader

func (f *fasthttpFields) first(name []byte) []byte {
	return (*fasthttp.RequestHeader)(f).PeekCanonical(name)
}

func (f *fasthttpFields) all(name string) [][]byte {
	return (*fasthttp.RequestHeader)(f).PeekAll(name)
}

// precondition is what the preconditions of a request decide.
type precondition uint8

const (
	precondServe       precondition = iota // serve, honouring a Range
	precondIgnoreRange                     // serve the whole representation: If-Range failed
	precondNotModified                     // 304
	precondFailed                          // 412
)

// checkPreconditions evaluates a GET or HEAD's preconditions against the
// representation selected for it (its strong ETag and modification time),
// in the order RFC 9110 §13.2.2 gives: If-Match, else If-Unmodified-Since
// (412 when false); If-None-Match, else If-Modified-Since (304 when
// false); then If-Range, when the request has a Range.
func checkPreconditions(r requestFields, hasRange bool, etag string, modTime time.Time) precondition {
	if v := r.first(hdrIfMatch); len(v) > 0 {
		if checkIfMatch(r.all(nameIfMatch), etag) == condFalse {
			return precondFailed
		}
	} else if checkIfUnmodifiedSince(r.first(hdrIfUnmodifiedSince), modTime) == condFalse {
		return precondFailed
	}
	if v := r.first(hdrIfNoneMatch); len(v) > 0 {
		// A revalidation sends one line: the others are looked for only
		// when it does not match.
		first := [1][]byte{v}
		res := checkIfNoneMatch(first[:], etag)
		if res == condTrue {
			res = checkIfNoneMatch(r.all(nameIfNoneMatch), etag)
		}
		if res == condFalse {
			return precondNotModified
		}
	} else if checkIfModifiedSince(r.first(hdrIfModifiedSince), modTime) == condFalse {
		return precondNotModified
	}
	if hasRange && !checkIfRange(r.first(hdrIfRange), etag, modTime) {
		return precondIgnoreRange
	}
	return precondServe
}

// checkIfMatch evaluates If-Match with the strong comparison RFC 9110
// §13.1.1 prescribes: "*" or the representation's own strong tag.
func checkIfMatch(lines [][]byte, etag string) condResult {
	if len(lines) == 0 {
		return condNone
	}
	found := false
	eachETag(lines, func(tag []byte, weak bool) bool {
		found = string(tag) == "*" || (!weak && string(tag) == etag)
		return !found
	})
	if found {
		return condTrue
	}
	return condFalse
}

// checkIfNoneMatch evaluates If-None-Match with the weak comparison RFC
// 9110 §13.1.2 prescribes, against the selected representation's tag only:
// the tag of another coding of the same file names other bytes.
// condFalse means "matches": answer 304.
func checkIfNoneMatch(lines [][]byte, etag string) condResult {
	if len(lines) == 0 {
		return condNone
	}
	match := false
	eachETag(lines, func(tag []byte, _ bool) bool {
		match = string(tag) == "*" || string(tag) == etag
		return !match
	})
	if match {
		return condFalse
	}
	return condTrue
}

// eachETag calls f with each entity-tag of a list (RFC 9110 §8.8.3: the
// opaque tag with its quotes, and whether it was marked weak, or "*"),
// until f returns false or a member is malformed.
func eachETag(lines [][]byte, f func(tag []byte, weak bool) bool) {
	for _, s := range lines {
		for {
			s = trimListSeparators(s)
			if len(s) == 0 {
				break
			}
			if s[0] == '*' {
				if !f(s[:1], false) {
					return
				}
				s = s[1:]
				continue
			}
			weak := len(s) >= 2 && s[0] == 'W' && s[1] == '/'
			if weak {
				s = s[2:]
			}
			end := closingQuote(s)
			if end < 0 {
				return
			}
			if !f(s[:end+1], weak) {
				return
			}
			s = s[end+1:]
		}
	}
}

func trimListSeparators(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == ',') {
		s = s[1:]
	}
	return s
}

// closingQuote returns the index of the quote that ends the opaque tag s
// starts with, or -1 when s does not start with one.
func closingQuote(s []byte) int {
	if len(s) < 2 || s[0] != '"' {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i
		case c == 0x21 || c >= 0x23 && c != 0x7f: // etagc
		default:
			return -1
		}
	}
	return -1
}

// checkIfUnmodifiedSince evaluates If-Unmodified-Since (RFC 9110
// §13.1.4): false when the file changed after the date. An invalid date
// is ignored.
func checkIfUnmodifiedSince(header []byte, modTime time.Time) condResult {
	t, ok := parseHTTPDate(header)
	if !ok {
		return condNone
	}
	if modTime.Truncate(time.Second).After(t) {
		return condFalse
	}
	return condTrue
}

// checkIfModifiedSince evaluates If-Modified-Since; RFC 9110 §13.1.3: it is
// ignored when If-None-Match is present (the caller checks that first).
// condFalse means "not modified": answer 304.
func checkIfModifiedSince(header []byte, modTime time.Time) condResult {
	t, ok := parseHTTPDate(header)
	if !ok {
		return condNone
	}
	// HTTP dates have one-second resolution.
	if !modTime.Truncate(time.Second).After(t) {
		return condFalse
	}
	return condTrue
}

func parseHTTPDate(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(utils.UnsafeString(b))
	return t, err == nil
}

// checkIfRange reports whether a Range request may be honoured: If-Range
// absent, or naming the representation's validator (its strong ETag, or
// the exact Last-Modified date), RFC 9110 §13.1.5.
func checkIfRange(header []byte, etag string, modTime time.Time) bool {
	if len(header) == 0 {
		return true
	}
	if header[0] == '"' || len(header) > 1 && header[0] == 'W' && header[1] == '/' {
		return string(header) == etag // a weak tag never matches
	}
	t, ok := parseHTTPDate(header)
	return ok && t.Equal(modTime.Truncate(time.Second).UTC())
}

// rangeResult says what to do with a Range header.
type rangeResult int

const (
	rangeIgnore        rangeResult = iota // serve the whole file, 200
	rangeSatisfiable                      // serve the range, 206
	rangeUnsatisfiable                    // 416
)

// parseRange parses a single byte range (RFC 9110 §14.1.2; the unit is
// case-insensitive, §14.1) against a representation of size bytes.
// Multiple ranges and malformed headers are ignored and the whole file is
// sent, which the RFC allows: a browser only asks for one range, and
// multipart/byteranges serves nobody here.
func parseRange(header string, size int64) (start, length int64, res rangeResult) {
	if len(header) < 6 || !strings.EqualFold(header[:6], "bytes=") || strings.IndexByte(header, ',') >= 0 {
		return 0, 0, rangeIgnore
	}
	first, last, ok := strings.Cut(strings.TrimSpace(header[6:]), "-")
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
