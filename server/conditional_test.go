package main

// Preconditions and ranges, as pure functions (RFC 9110 §13, §14):
//   - If-None-Match uses the weak comparison, takes lists and "*", and
//     matches any coding's tag of the same content (§13.1.2).
//   - If-Modified-Since compares at one-second resolution; an invalid date
//     is ignored (§13.1.3). Recipients MUST accept all three HTTP-date
//     formats (§5.6.7).
//   - If-Range needs a strong match of the tag or the exact date (§13.1.5).
//   - One byte range: first-last, open-ended, suffix; clamped to the size;
//     unsatisfiable → 416; several ranges or a malformed header → the whole
//     file (§14.1.2, §14.2). Modelled on net/http's ServeFileRangeTests.

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

// ifNoneMatchTests use "H" for the content's hash.
var ifNoneMatchTests = []struct {
	name   string
	header string
	want   condResult
}{
	{"absent", ``, condNone},
	{"strong match", `"H"`, condFalse},
	{"weak match", `W/"H"`, condFalse},
	{"brotli variant tag", `"H.br"`, condFalse},
	{"gzip variant tag", `"H.gz"`, condFalse},
	{"weak variant tag", `W/"H.gz"`, condFalse},
	{"unknown suffix", `"H.zz"`, condTrue},
	{"longer tag", `"Hx"`, condTrue},
	{"other tag", `"0123456789abcdef"`, condTrue},
	{"star", `*`, condFalse},
	{"star with spaces", `  *  `, condFalse},
	{"list with match last", `"a", "b", "H"`, condFalse},
	{"list with match first", `"H", "a"`, condFalse},
	{"list without spaces", `"a","H.br"`, condFalse},
	{"list without match", `"a", W/"b"`, condTrue},
	{"list with star", `"a", *`, condFalse},
	{"unquoted", `H`, condTrue},
	{"missing closing quote", `"H`, condTrue},
	{"lower-case weak prefix", `w/"H"`, condTrue},
	{"empty tag", `""`, condTrue},
	{"only W/", `W/`, condTrue},
	{"only commas", `, ,`, condTrue},
}

func TestCheckIfNoneMatch(t *testing.T) {
	c := condContent(t)
	for _, tt := range ifNoneMatchTests {
		t.Run(tt.name, func(t *testing.T) {
			header := strings.ReplaceAll(tt.header, "H", c.Hash)
			if got := checkIfNoneMatch(header, c); got != tt.want {
				t.Errorf("checkIfNoneMatch(%q) = %d, want %d", header, got, tt.want)
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
			if got := checkIfModifiedSince(tt.header, condModTime); got != tt.want {
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
			if got := checkIfRange(header, c.Variant(tt.rep), condModTime); got != tt.want {
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
	{"Bytes=0-1", 10000, 0, 0, rangeIgnore},
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
