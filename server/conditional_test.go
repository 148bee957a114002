package main

// Preconditions and ranges, as pure functions (RFC 9110 §13, §14):
//   - The preconditions are evaluated in §13.2.2's order: If-Match, else
//     If-Unmodified-Since (412 when false); If-None-Match, else
//     If-Modified-Since (304 when false); If-Range only with a Range.
//   - If-Match uses the strong comparison (§13.1.1); If-None-Match the weak
//     one (§13.1.2); both take lists, over several field lines (§5.3), and
//     "*"; both compare with the selected representation's tag only: the
//     tag of another coding names other bytes.
//   - If-Modified-Since and If-Unmodified-Since compare at one-second
//     resolution; an invalid date is ignored (§13.1.3, §13.1.4).
//     Recipients MUST accept all three HTTP-date formats (§5.6.7).
//   - If-Range needs a strong match of the tag or the exact date (§13.1.5).
//   - One byte range: first-last, open-ended, suffix; clamped to the size;
//     unsatisfiable → 416; several ranges or a malformed header → the whole
//     file (§14.1.2, §14.2); the unit is case-insensitive (§14.1).
//     Modelled on net/http's ServeFileRangeTests.

import (
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
)

// condModTime has a fraction of a second, as file times do.
var condModTime = time.Date(2026, 2, 13, 12, 0, 0, 500_000_000, time.UTC)

// condContent is a compressible file with brotli and gzip variants.
func condContent(t *testing.T) *manifest.Content {
	t.Helper()
	c, err := manifest.NewContent("app.js", []byte(strings.Repeat("export const x = 1;\n", 100)), condModTime)
	if err != nil {
		t.Fatal(err)
	}
	if vs := c.Variants(); vs.Brotli == nil || vs.Gzip == nil {
		t.Fatal("test content has no compressed variants")
	}
	return c
}

// lines splits a test's header value into field lines at "|".
func lines(header string) [][]byte {
	if header == "" {
		return nil
	}
	var out [][]byte
	for l := range strings.SplitSeq(header, "|") {
		out = append(out, []byte(l))
	}
	return out
}

// ifNoneMatchTests use "H" for the content's hash; rep is the
// representation selected for the request, "|" separates field lines.
var ifNoneMatchTests = []struct {
	name   string
	header string
	rep    manifest.Encoding
	want   condResult
}{
	{"absent", ``, manifest.Identity, condNone},
	{"strong match", `"H"`, manifest.Identity, condFalse},
	{"weak match", `W/"H"`, manifest.Identity, condFalse},
	{"brotli tag, brotli selected", `"H.br"`, manifest.Brotli, condFalse},
	{"gzip tag, gzip selected", `W/"H.gz"`, manifest.Gzip, condFalse},
	{"brotli tag, identity selected", `"H.br"`, manifest.Identity, condTrue},
	{"gzip tag, brotli selected", `"H.gz"`, manifest.Brotli, condTrue},
	{"identity tag, gzip selected", `"H"`, manifest.Gzip, condTrue},
	{"unknown suffix", `"H.zz"`, manifest.Identity, condTrue},
	{"longer tag", `"Hx"`, manifest.Identity, condTrue},
	{"other tag", `"0123456789abcdef"`, manifest.Identity, condTrue},
	{"star", `*`, manifest.Identity, condFalse},
	{"star with spaces", `  *  `, manifest.Identity, condFalse},
	{"list with match last", `"a", "b", "H"`, manifest.Identity, condFalse},
	{"list with match first", `"H", "a"`, manifest.Identity, condFalse},
	{"list without spaces", `"a","H.br"`, manifest.Brotli, condFalse},
	{"list without match", `"a", W/"b"`, manifest.Identity, condTrue},
	{"list with star", `"a", *`, manifest.Identity, condFalse},
	{"match on the second line", `"a", "b"|"H"`, manifest.Identity, condFalse},
	{"match on the third line", `"a"|W/"b"|W/"H"`, manifest.Identity, condFalse},
	{"star on the second line", `"a"|*`, manifest.Identity, condFalse},
	{"no match on any line", `"a"|"b"`, manifest.Identity, condTrue},
	{"comma inside a tag", `"a,H", "b"`, manifest.Identity, condTrue},
	{"unquoted", `H`, manifest.Identity, condTrue},
	{"missing closing quote", `"H`, manifest.Identity, condTrue},
	{"lower-case weak prefix", `w/"H"`, manifest.Identity, condTrue},
	{"empty tag", `""`, manifest.Identity, condTrue},
	{"only W/", `W/`, manifest.Identity, condTrue},
	{"only commas", `, ,`, manifest.Identity, condTrue},
}

func TestCheckIfNoneMatch(t *testing.T) {
	c := condContent(t)
	for _, tt := range ifNoneMatchTests {
		t.Run(tt.name, func(t *testing.T) {
			header := strings.ReplaceAll(tt.header, "H", c.Hash)
			if got := checkIfNoneMatch(lines(header), c.Variant(tt.rep).ETag); got != tt.want {
				t.Errorf("checkIfNoneMatch(%q, %s) = %d, want %d", header, tt.rep.Token(), got, tt.want)
			}
		})
	}
}

// ifMatchTests: condTrue lets the request proceed, condFalse is a 412.
var ifMatchTests = []struct {
	name   string
	header string
	rep    manifest.Encoding
	want   condResult
}{
	{"absent", ``, manifest.Identity, condNone},
	{"strong match", `"H"`, manifest.Identity, condTrue},
	{"weak tag never matches", `W/"H"`, manifest.Identity, condFalse},
	{"star", `*`, manifest.Identity, condTrue},
	{"other tag", `"abc"`, manifest.Identity, condFalse},
	{"brotli tag, brotli selected", `"H.br"`, manifest.Brotli, condTrue},
	{"brotli tag, identity selected", `"H.br"`, manifest.Identity, condFalse},
	{"list with match", `"a", "H"`, manifest.Identity, condTrue},
	{"match on the second line", `"a"|"H"`, manifest.Identity, condTrue},
	{"no match on any line", `"a"|W/"H"`, manifest.Identity, condFalse},
	{"malformed", `H`, manifest.Identity, condFalse},
}

func TestCheckIfMatch(t *testing.T) {
	c := condContent(t)
	for _, tt := range ifMatchTests {
		t.Run(tt.name, func(t *testing.T) {
			header := strings.ReplaceAll(tt.header, "H", c.Hash)
			if got := checkIfMatch(lines(header), c.Variant(tt.rep).ETag); got != tt.want {
				t.Errorf("checkIfMatch(%q, %s) = %d, want %d", header, tt.rep.Token(), got, tt.want)
			}
		})
	}
}

var ifUnmodifiedSinceTests = []struct {
	name   string
	header string
	want   condResult
}{
	{"absent", "", condNone},
	{"same second", "Fri, 13 Feb 2026 12:00:00 GMT", condTrue},
	{"later", "Sat, 14 Feb 2026 00:00:00 GMT", condTrue},
	{"one second earlier", "Fri, 13 Feb 2026 11:59:59 GMT", condFalse},
	{"not a date", "yesterday", condNone},
	{"obsolete RFC 850 date", "Friday, 13-Feb-26 11:00:00 GMT", condFalse},
}

func TestCheckIfUnmodifiedSince(t *testing.T) {
	for _, tt := range ifUnmodifiedSinceTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkIfUnmodifiedSince([]byte(tt.header), condModTime); got != tt.want {
				t.Errorf("checkIfUnmodifiedSince(%q) = %d, want %d", tt.header, got, tt.want)
			}
		})
	}
}

// mapFields is a request head for checkPreconditions: field name → lines.
type mapFields map[string][]string

func (m mapFields) first(name []byte) []byte {
	if v := m[string(name)]; len(v) > 0 {
		return []byte(v[0])
	}
	return nil
}

func (m mapFields) all(name string) [][]byte {
	var out [][]byte
	for _, v := range m[name] {
		out = append(out, []byte(v))
	}
	return out
}

const (
	condDate    = "Fri, 13 Feb 2026 12:00:00 GMT" // condModTime's second
	condEarlier = "Thu, 12 Feb 2026 12:00:00 GMT"
)

// preconditionTests use "H" for the identity representation's hash.
var preconditionTests = []struct {
	name     string
	fields   mapFields
	hasRange bool
	want     precondition
}{
	{"none", mapFields{}, false, precondServe},
	{"if-match holds", mapFields{"If-Match": {`"H"`}}, false, precondServe},
	{"if-match fails", mapFields{"If-Match": {`"x"`}}, false, precondFailed},
	{"if-match fails before if-none-match matches", mapFields{"If-Match": {`"x"`}, "If-None-Match": {`"H"`}}, false, precondFailed},
	{"if-match holds, if-none-match matches", mapFields{"If-Match": {`"H"`}, "If-None-Match": {`"H"`}}, false, precondNotModified},
	{"if-match on a second line", mapFields{"If-Match": {`"x"`, `"H"`}}, false, precondServe},
	{"if-unmodified-since fails", mapFields{"If-Unmodified-Since": {condEarlier}}, false, precondFailed},
	{"if-unmodified-since holds", mapFields{"If-Unmodified-Since": {condDate}}, false, precondServe},
	{"if-unmodified-since ignored with if-match", mapFields{"If-Match": {`*`}, "If-Unmodified-Since": {condEarlier}}, false, precondServe},
	{"if-unmodified-since invalid", mapFields{"If-Unmodified-Since": {"soon"}}, false, precondServe},
	{"if-none-match matches", mapFields{"If-None-Match": {`"H"`}}, false, precondNotModified},
	{"if-none-match on a second line", mapFields{"If-None-Match": {`"x"`, `"H"`}}, false, precondNotModified},
	{"if-none-match differs, if-modified-since ignored", mapFields{"If-None-Match": {`"x"`}, "If-Modified-Since": {condDate}}, false, precondServe},
	{"if-modified-since not modified", mapFields{"If-Modified-Since": {condDate}}, false, precondNotModified},
	{"if-modified-since modified", mapFields{"If-Modified-Since": {condEarlier}}, false, precondServe},
	{"if-range holds", mapFields{"If-Range": {`"H"`}}, true, precondServe},
	{"if-range fails", mapFields{"If-Range": {`"x"`}}, true, precondIgnoreRange},
	{"if-range without range", mapFields{"If-Range": {`"x"`}}, false, precondServe},
	{"if-range date on a wednesday", mapFields{"If-Range": {"Wed, 11 Feb 2026 12:00:00 GMT"}}, true, precondIgnoreRange},
	{"not modified before if-range", mapFields{"If-None-Match": {`"H"`}, "If-Range": {`"x"`}}, true, precondNotModified},
}

func TestCheckPreconditions(t *testing.T) {
	c := condContent(t)
	for _, tt := range preconditionTests {
		t.Run(tt.name, func(t *testing.T) {
			fields := mapFields{}
			for k, v := range tt.fields {
				for _, l := range v {
					fields[k] = append(fields[k], strings.ReplaceAll(l, "H", c.Hash))
				}
			}
			if got := checkPreconditions(fields, tt.hasRange, c.Identity.ETag, condModTime); got != tt.want {
				t.Errorf("checkPreconditions(%v, range %v) = %d, want %d", fields, tt.hasRange, got, tt.want)
			}
		})
	}
}

var ifModifiedSinceTests = []struct {
	name   string
	header string
	want   condResult
}{
	{"absent", "", condNone},
	{"same second", "Fri, 13 Feb 2026 12:00:00 GMT", condFalse},
	{"later", "Sat, 14 Feb 2026 00:00:00 GMT", condFalse},
	{"one second earlier", "Fri, 13 Feb 2026 11:59:59 GMT", condTrue},
	{"a year earlier", "Thu, 13 Feb 2025 12:00:00 GMT", condTrue},
	{"not a date", "yesterday", condNone},
	{"not GMT", "Fri, 13 Feb 2026 12:00:00 +0100", condNone},
	{"ISO 8601", "2026-02-13T12:00:00Z", condNone},
	// RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an
	// HTTP field MUST accept all three HTTP-date formats."
	{"obsolete RFC 850 date", "Friday, 13-Feb-26 12:00:00 GMT", condFalse},
	{"obsolete asctime date", "Fri Feb 13 12:00:00 2026", condFalse},
}

func TestCheckIfModifiedSince(t *testing.T) {
	for _, tt := range ifModifiedSinceTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkIfModifiedSince([]byte(tt.header), condModTime); got != tt.want {
				t.Errorf("checkIfModifiedSince(%q) = %d, want %d", tt.header, got, tt.want)
			}
		})
	}
}

// ifRangeTests use "H" for the content's hash; rep names the
// representation the range would be of.
var ifRangeTests = []struct {
	name   string
	header string
	rep    manifest.Encoding
	want   bool
}{
	{"absent", ``, manifest.Identity, true},
	{"strong match", `"H"`, manifest.Identity, true},
	{"strong match of the brotli representation", `"H.br"`, manifest.Brotli, true},
	{"another coding's tag", `"H.br"`, manifest.Identity, false},
	{"weak tag never matches", `W/"H"`, manifest.Identity, false},
	{"other tag", `"abc"`, manifest.Identity, false},
	{"tag list is not a validator", `"H", "abc"`, manifest.Identity, false},
	{"exact date", `Fri, 13 Feb 2026 12:00:00 GMT`, manifest.Identity, true},
	{"later date", `Fri, 13 Feb 2026 12:00:01 GMT`, manifest.Identity, false},
	{"earlier date", `Fri, 13 Feb 2026 11:59:59 GMT`, manifest.Identity, false},
	{"not a date", `yesterday`, manifest.Identity, false},
}

func TestCheckIfRange(t *testing.T) {
	c := condContent(t)
	for _, tt := range ifRangeTests {
		t.Run(tt.name, func(t *testing.T) {
			header := strings.ReplaceAll(tt.header, "H", c.Hash)
			if got := checkIfRange([]byte(header), c.Variant(tt.rep).ETag, condModTime); got != tt.want {
				t.Errorf("checkIfRange(%q, %s) = %v, want %v", header, tt.rep.Token(), got, tt.want)
			}
		})
	}
}

var parseRangeTests = []struct {
	r             string
	size          int64
	start, length int64
	res           rangeResult
}{
	{"bytes=0-499", 10000, 0, 500, rangeSatisfiable},
	{"bytes=500-999", 10000, 500, 500, rangeSatisfiable},
	{"bytes=0-0", 10000, 0, 1, rangeSatisfiable},
	{"bytes=9999-9999", 10000, 9999, 1, rangeSatisfiable},
	{"bytes=-500", 10000, 9500, 500, rangeSatisfiable},
	{"bytes=-1", 10000, 9999, 1, rangeSatisfiable},
	{"bytes=9500-", 10000, 9500, 500, rangeSatisfiable},
	{"bytes=0-", 10000, 0, 10000, rangeSatisfiable},
	{"bytes=0-", 1, 0, 1, rangeSatisfiable},
	{"bytes= 2-5 ", 10, 2, 4, rangeSatisfiable},
	// Beyond the end: clamped (a last-pos past the size means "to the end").
	{"bytes=0-99999", 10000, 0, 10000, rangeSatisfiable},
	{"bytes=9000-20000", 10000, 9000, 1000, rangeSatisfiable},
	{"bytes=-20000", 10000, 0, 10000, rangeSatisfiable},
	{"bytes=-9223372036854775807", 10, 0, 10, rangeSatisfiable},
	// Unsatisfiable (416).
	{"bytes=10000-", 10000, 0, 0, rangeUnsatisfiable},
	{"bytes=10000-10001", 10000, 0, 0, rangeUnsatisfiable},
	{"bytes=20000-30000", 10000, 0, 0, rangeUnsatisfiable},
	{"bytes=-0", 10000, 0, 0, rangeUnsatisfiable},
	{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
	{"bytes=-5", 0, 0, 0, rangeUnsatisfiable},
	{"bytes=9223372036854775807-", 10, 0, 0, rangeUnsatisfiable},
	// Ignored: the whole file (200).
	{"", 10000, 0, 0, rangeIgnore},
	{"bytes=0-1,5-6", 10000, 0, 0, rangeIgnore},
	{"bytes=0-1, 5-6", 10000, 0, 0, rangeIgnore},
	{"bytes=500-400", 10000, 0, 0, rangeIgnore},
	{"bytes=", 10000, 0, 0, rangeIgnore},
	{"bytes=-", 10000, 0, 0, rangeIgnore},
	{"bytes=--1", 10000, 0, 0, rangeIgnore},
	{"bytes=abc", 10000, 0, 0, rangeIgnore},
	{"bytes=a-b", 10000, 0, 0, rangeIgnore},
	{"bytes=1-b", 10000, 0, 0, rangeIgnore},
	{"bytes=-b", 10000, 0, 0, rangeIgnore},
	{"bytes=0 - 1", 10000, 0, 0, rangeIgnore},
	{"bytes=0-99999999999999999999", 10000, 0, 0, rangeIgnore},
	{"bytes 0-1", 10000, 0, 0, rangeIgnore},
	{"items=0-1", 10000, 0, 0, rangeIgnore},
	{"bytesx=0-1", 10000, 0, 0, rangeIgnore},
	// The unit is case-insensitive (RFC 9110 §14.1).
	{"Bytes=0-1", 10000, 0, 2, rangeSatisfiable},
	{"BYTES=-5", 10000, 9995, 5, rangeSatisfiable},
	{"0-1", 10000, 0, 0, rangeIgnore},
}

func TestParseRange(t *testing.T) {
	for _, tt := range parseRangeTests {
		start, length, res := parseRange(tt.r, tt.size)
		if start != tt.start || length != tt.length || res != tt.res {
			t.Errorf("parseRange(%q, %d) = %d, %d, %d; want %d, %d, %d", tt.r, tt.size, start, length, res, tt.start, tt.length, tt.res)
		}
	}
}
