package main

// Integration tests of the serving contract over real HTTP, against the real
// server on copies of the committed fixture builds.
//
// Behaviours covered (CONTRACT.md "Vocabulary" and "Serving"; RFC 9110):
//   - Resolution order: a file of the current build; clean URLs (P/ and
//     extension-less P try P/index.html, then P.html); a hashed asset of a
//     live build; a retired hashed path (404, Skewless-Asset: retired); a
//     missing file with an extension (404, Skewless-Asset: unknown, never the
//     index); the SPA fallback (200, index.html), or 404 with --spa=false.
//   - Headers: Skewless-Version on every response (200, 206, 304, 400, 404,
//     405, 416, /_skewless/*); Cache-Control "public, max-age=31536000,
//     immutable" for hashed assets, "no-cache" for HTML and unhashed files,
//     "no-store" for every 404 and /_skewless/ JSON answer; a strong ETag and
//     Last-Modified (RFC 9110 §8.8); Content-Type with charset=utf-8 for text
//     types; X-Content-Type-Options: nosniff.
//   - Methods: 405 with Allow: GET, HEAD (RFC 9110 §15.5.6); HEAD answers
//     with the header fields GET would send, Content-Length included, and no
//     content (RFC 9110 §9.3.2, §8.6).
//   - Conditional requests: If-None-Match with the weak comparison, lists and
//     "*" (RFC 9110 §13.1.2); If-Modified-Since (§13.1.3), ignored when
//     If-None-Match is present (§13.1.3, §13.2.2); 304 carries ETag and
//     Cache-Control (§15.4.5).
//   - Ranges: one byte range → 206 with Content-Range (RFC 9110 §14.4); suffix
//     and open ranges (§14.1.2); unsatisfiable → 416 with "bytes */size"
//     (§15.5.17); multiple ranges may be ignored (§14.2); If-Range (§13.1.5);
//     ranges are of the identity coding.
//   - HTML injection: the helper's script tag, with the serving build's
//     version, is the first element of <head> of every HTML document; none
//     with --inject=false.
//   - Dotfiles and dot-folders are not served, except /.well-known/
//     (RFC 8615).
//   - Endpoints: /_skewless/client.js, /_skewless/version, /_skewless/health
//     (503 with no build, as every asset request then is, with Retry-After),
//     unknown /_skewless/ paths.
//   - Hashed assets of Vite, webpack/CRA and esbuild builds, and files a build
//     manifest lists; live builds keep their hashed assets served after a
//     deploy; retired builds' paths answer 404 with the marker.

import (
	"encoding/json"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// The contract's header values, spelled out here rather than taken from the
// server's constants, so a drift in the server shows up as a failure.
const (
	ccImmutable  = "public, max-age=31536000, immutable"
	ccRevalidate = "no-cache"
	ccNoStore    = "no-store"
	allowMethods = "GET, HEAD, OPTIONS"
)

// Paths of the Vite fixture build v1.
const (
	viteV1Entry  = "/assets/index-BUIHxmUq.js"
	viteV1CSS    = "/assets/index-BJZwVCD_.css" // the same in v1, v2, v3
	viteV1About  = "/assets/about-Br9WxIf2.js"  // a lazy chunk only v1 has
	viteV1Report = "/assets/report-BOLr84pY.js"
	viteV1Vendor = "/assets/vendor-Bb1KB3MD.js" // the same in v1, v2, v3
)

const (
	webpackFixtureBuilds = "../fixtures/webpack-builds"
	esbuildFixtureBuilds = "../fixtures/esbuild-builds"
)

// contractHelperTag is the tag the contract says every HTML document gets.
func contractHelperTag(version string) string {
	return `<script src="/_skewless/client.js" data-version="` + version + `"></script>`
}

// fixtureFileBytes reads file p (a URL path) of a committed fixture build.
func fixtureFileBytes(t *testing.T, src, version, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, version, filepath.FromSlash(strings.TrimPrefix(p, "/"))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeInBuild writes a file into a build folder, creating its folders.
func writeInBuild(t *testing.T, dir, rel, content string) {
	t.Helper()
	if err := manifesttest.WriteFiles(dir, map[string]string{rel: content}); err != nil {
		t.Fatal(err)
	}
}

func assertHeader(t *testing.T, resp *http.Response, name, want string) {
	t.Helper()
	if got := resp.Header.Get(name); got != want {
		t.Errorf("%s %s: %s = %q, want %q", resp.Request.Method, resp.Request.URL.RequestURI(), name, got, want)
	}
}

// versionUnlessImmutable is the Skewless-Version resp must carry: v, or
// none when caches may keep it for a year (CONTRACT "Headers").
func versionUnlessImmutable(resp *http.Response, v string) string {
	if resp.Header.Get("Cache-Control") == ccImmutable {
		return ""
	}
	return v
}

func assertStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Errorf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL.RequestURI(), resp.StatusCode, want)
	}
}

// assertStrongETag checks for an entity tag without the weak indicator
// (RFC 9110 §8.8.3).
func assertStrongETag(t *testing.T, resp *http.Response) string {
	t.Helper()
	tag := resp.Header.Get("ETag")
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Errorf("%s: ETag %q, want a strong entity tag", resp.Request.URL.Path, tag)
	}
	return tag
}

// assertHelperFirstInHead checks that doc's first element in <head> is the
// helper's tag for version, before the app's own scripts and preloads.
func assertHelperFirstInHead(t *testing.T, doc, version string) {
	t.Helper()
	tag := contractHelperTag(version)
	lower := strings.ToLower(doc)
	head := strings.Index(lower, "<head")
	if head < 0 {
		t.Fatalf("no <head> in\n%s", doc)
	}
	end := strings.IndexByte(doc[head:], '>')
	rest := strings.TrimLeft(doc[head+end+1:], " \t\r\n")
	if !strings.HasPrefix(rest, tag) {
		t.Fatalf("first element of <head> is not %s:\n%s", tag, doc)
	}
	at := strings.Index(doc, tag)
	for _, own := range []string{"<script type=", "modulepreload", "<script defer", "stylesheet"} {
		if i := strings.Index(doc, own); i >= 0 && i < at {
			t.Errorf("%q comes before the helper tag", own)
		}
	}
	if n := strings.Count(doc, "/_skewless/client.js"); n != 1 {
		t.Errorf("helper tag appears %d times", n)
	}
}

// assertNotIndex checks that a 404 did not fall back to the SPA's index.
func assertNotIndex(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if strings.Contains(body, "<html") || strings.Contains(body, "Skewless demo") {
		t.Errorf("%s: answered with an HTML document:\n%s", resp.Request.URL.Path, body)
	}
}

// renameIntoBuilds deploys the fixture build src/version the way a deploy script
// does: a complete copy next to the builds folder, renamed into it, then
// waits until the server serves it.
func renameIntoBuilds(t *testing.T, ts *testServer, src, version string) {
	t.Helper()
	staging := filepath.Join(t.TempDir(), version)
	copyTree(t, filepath.Join(src, version), staging)
	if err := os.Rename(staging, filepath.Join(ts.Dir, version)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "Skewless-Version: "+version, func() bool { return ts.versionOf(t) == version })
}

var httpResolutionCases = []struct {
	name   string
	path   string
	status int
	cache  string
	ctype  string
	file   string // the fixture file the body must equal
	index  bool   // the body must be the served index.html
	asset  string // Skewless-Asset
}{
	{name: "hashed entry", path: viteV1Entry, status: 200, cache: ccImmutable, ctype: "text/javascript; charset=utf-8", file: viteV1Entry},
	{name: "hashed stylesheet", path: viteV1CSS, status: 200, cache: ccImmutable, ctype: "text/css; charset=utf-8", file: viteV1CSS},
	{name: "hashed lazy chunk", path: viteV1About, status: 200, cache: ccImmutable, ctype: "text/javascript; charset=utf-8", file: viteV1About},
	{name: "hashed with query", path: viteV1Vendor + "?v=1", status: 200, cache: ccImmutable, ctype: "text/javascript; charset=utf-8", file: viteV1Vendor},
	{name: "unhashed svg", path: "/favicon.svg", status: 200, cache: ccRevalidate, ctype: "image/svg+xml; charset=utf-8", file: "/favicon.svg"},
	{name: "unhashed text", path: "/robots.txt", status: 200, cache: ccRevalidate, ctype: "text/plain; charset=utf-8", file: "/robots.txt"},
	{name: "root", path: "/", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "index.html", path: "/index.html", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "spa route", path: "/about", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "deep spa route", path: "/deep/route/x", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "spa route with slash", path: "/report/", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "spa route with query", path: "/about?tab=2", status: 200, cache: ccRevalidate, ctype: "text/html; charset=utf-8", index: true},
	{name: "missing hashed asset", path: "/assets/nope-ABCDEFG1.js", status: 404, cache: ccNoStore, asset: "unknown"},
	{name: "missing image", path: "/missing.png", status: 404, cache: ccNoStore, asset: "unknown"},
	{name: "missing file in route", path: "/deep/route/x.json", status: 404, cache: ccNoStore, asset: "unknown"},
}

func TestServeResolution(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	_, index := ts.get(t, "GET", "/")
	for _, tc := range httpResolutionCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.get(t, "GET", tc.path)
			assertStatus(t, resp, tc.status)
			assertHeader(t, resp, "Skewless-Version", versionUnlessImmutable(resp, "v1"))
			assertHeader(t, resp, "Cache-Control", tc.cache)
			assertHeader(t, resp, "Skewless-Asset", tc.asset)
			if tc.ctype != "" {
				assertHeader(t, resp, "Content-Type", tc.ctype)
			}
			if tc.status != 200 {
				assertNotIndex(t, resp, body)
				return
			}
			assertHeader(t, resp, "X-Content-Type-Options", "nosniff")
			assertStrongETag(t, resp)
			if resp.Header.Get("Last-Modified") == "" {
				t.Errorf("no Last-Modified")
			}
			switch {
			case tc.index && body != index:
				t.Errorf("body is not the index.html that / serves:\n%s", body)
			case tc.file != "":
				if want := fixtureFileBytes(t, fixtures, "v1", tc.file); body != string(want) {
					t.Errorf("body differs from %s (%d bytes, want %d)", tc.file, len(body), len(want))
				}
				info, err := os.Stat(filepath.Join(ts.Dir, "v1", filepath.FromSlash(tc.file[1:])))
				if err != nil {
					t.Fatal(err)
				}
				// A hashed file keeps its time; an unhashed one is never
				// dated before its build became current (lastmodified_test.go).
				if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err != nil || lm.Before(info.ModTime().Truncate(time.Second)) ||
					(tc.cache == ccImmutable && !lm.Equal(info.ModTime().Truncate(time.Second))) {
					t.Errorf("Last-Modified %q for a file of %s", resp.Header.Get("Last-Modified"), info.ModTime().UTC().Format(http.TimeFormat))
				}
			}
		})
	}
}

func TestServeIndexIsTheBuildsOwn(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	resp, body := ts.get(t, "GET", "/")
	assertStatus(t, resp, 200)
	want := string(fixtureFileBytes(t, fixtures, "v1", "/index.html"))
	if got := strings.Replace(body, contractHelperTag("v1"), "", 1); got != want {
		t.Errorf("index.html, helper tag aside, differs from the build's:\n%s", body)
	}
}

func TestServeWithoutSPA(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.SPA = false
	ts := startServer(t, cfg)
	for _, p := range []string{"/about", "/deep/route/x", "/report/"} {
		resp, body := ts.get(t, "GET", p)
		assertStatus(t, resp, 404)
		assertHeader(t, resp, "Cache-Control", ccNoStore)
		assertHeader(t, resp, "Skewless-Version", "v1")
		assertNotIndex(t, resp, body)
	}
	for _, p := range []string{"/", "/index.html", viteV1Entry} {
		resp, _ := ts.get(t, "GET", p)
		assertStatus(t, resp, 200)
	}
	resp, _ := ts.get(t, "GET", "/missing.png")
	assertStatus(t, resp, 404)
	assertHeader(t, resp, "Skewless-Asset", "unknown")
}

// httpVersionHeaderCases: every answer names the current version, except
// the ones caches may keep for a year (immutable assets, whole, in part
// or not modified): weeks later, such a copy would name an old one.
var httpVersionHeaderCases = []struct {
	name    string
	method  string
	path    string
	headers []string
	status  int
	version string
}{
	{"200 asset", "GET", viteV1CSS, nil, 200, ""},
	{"200 live build's asset", "GET", viteV1Entry, nil, 200, ""},
	{"200 index", "GET", "/", nil, 200, "v2"},
	{"200 fallback", "GET", "/about", nil, 200, "v2"},
	{"200 unhashed file", "GET", "/robots.txt", nil, 200, "v2"},
	{"200 head", "HEAD", viteV1CSS, nil, 200, ""},
	{"304", "GET", viteV1CSS, []string{"If-None-Match: *"}, 304, ""},
	{"304 index", "GET", "/", []string{"If-None-Match: *"}, 304, "v2"},
	{"206", "GET", viteV1CSS, []string{"Range: bytes=0-0"}, 206, ""},
	{"206 unhashed file", "GET", "/robots.txt", []string{"Range: bytes=0-0"}, 206, "v2"},
	{"404 unknown", "GET", "/missing.png", nil, 404, "v2"},
	{"404 dotfile", "GET", "/.vite/manifest.json", nil, 404, "v2"},
	{"400 backslash", "GET", "/a%5cb", nil, 400, "v2"},
	{"400 dot-dot", "GET", "/assets/%2e%2e/index.html", nil, 400, "v2"},
	{"405 post", "POST", "/", nil, 405, "v2"},
	{"405 delete endpoint", "DELETE", "/_skewless/version", nil, 405, "v2"},
	{"204 options", "OPTIONS", viteV1CSS, nil, 204, "v2"},
	{"412", "GET", viteV1CSS, []string{`If-Match: "nope"`}, 412, "v2"},
	{"416", "GET", viteV1CSS, []string{"Range: bytes=99999999-"}, 416, "v2"},
	{"client.js", "GET", "/_skewless/client.js", nil, 200, "v2"},
	{"version", "GET", "/_skewless/version", nil, 200, "v2"},
	{"health", "GET", "/_skewless/health", nil, 200, "v2"},
	{"unknown endpoint", "GET", "/_skewless/nope", nil, 404, "v2"},
}

func TestServeVersionHeaderOnEveryResponse(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1", "v2")))
	for _, tc := range httpVersionHeaderCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := ts.get(t, tc.method, tc.path, tc.headers...)
			assertStatus(t, resp, tc.status)
			assertHeader(t, resp, "Skewless-Version", tc.version)
			if _, ok := resp.Header["Skewless-Version"]; !ok && tc.version != "" {
				t.Errorf("no Skewless-Version")
			}
		})
	}
	t.Run("events", func(t *testing.T) {
		// The stream never ends: read its header fields only.
		resp, err := httpClient.Get(ts.URL + "/_skewless/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Skewless-Version", "v2")
	})
}

func TestServeMethodNotAllowed(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "TRACE"} {
		for _, p := range []string{"/", viteV1Entry, "/about", "/missing.png", "/_skewless/version"} {
			resp, body := ts.get(t, method, p)
			assertStatus(t, resp, 405)
			assertHeader(t, resp, "Allow", allowMethods)
			assertHeader(t, resp, "Skewless-Version", "v1")
			assertNotIndex(t, resp, body)
		}
	}
}

// httpHeadFields are the fields HEAD must answer as GET does (RFC 9110
// §9.3.2); Date and the like may differ.
var httpHeadFields = []string{"Content-Type", "Cache-Control", "ETag", "Last-Modified", "Vary",
	"Content-Encoding", "X-Content-Type-Options", "Skewless-Version", "Skewless-Asset", "Accept-Ranges", "Allow"}

func TestServeHead(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	paths := []string{viteV1Entry, viteV1CSS, "/", "/about", "/robots.txt", "/favicon.svg",
		"/_skewless/client.js", "/_skewless/version", "/_skewless/health", "/missing.png"}
	for _, p := range paths {
		for _, ae := range []string{"", "br", "gzip"} {
			t.Run(p+" "+ae, func(t *testing.T) {
				var hdr []string
				if ae != "" {
					hdr = []string{"Accept-Encoding: " + ae}
				}
				get, body := ts.get(t, "GET", p, hdr...)
				head, headBody := ts.get(t, "HEAD", p, hdr...)
				assertStatus(t, head, get.StatusCode)
				if headBody != "" {
					t.Errorf("HEAD has a body of %d bytes", len(headBody))
				}
				for _, f := range httpHeadFields {
					if g, h := get.Header.Get(f), head.Header.Get(f); g != h {
						t.Errorf("%s: GET %q, HEAD %q", f, g, h)
					}
				}
				// RFC 9110 §8.6: a HEAD response must not send a
				// Content-Length other than GET's content length.
				if got, want := head.Header.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
					t.Errorf("HEAD Content-Length %q, want %s (the GET body's length)", got, want)
				}
			})
		}
	}
}

var httpConditionalCases = []struct {
	name    string
	headers func(etag string, lastMod time.Time) []string
	status  int
}{
	{"if-none-match exact", func(e string, _ time.Time) []string { return []string{"If-None-Match: " + e} }, 304},
	{"if-none-match weak", func(e string, _ time.Time) []string { return []string{"If-None-Match: W/" + e} }, 304},
	{"if-none-match list", func(e string, _ time.Time) []string { return []string{`If-None-Match: "nope", ` + e + `, "other"`} }, 304},
	{"if-none-match star", func(string, time.Time) []string { return []string{"If-None-Match: *"} }, 304},
	{"if-none-match other", func(string, time.Time) []string { return []string{`If-None-Match: "nope"`} }, 200},
	{"if-none-match other list", func(string, time.Time) []string { return []string{`If-None-Match: "a", W/"b"`} }, 200},
	{"if-modified-since equal", func(_ string, lm time.Time) []string { return []string{"If-Modified-Since: " + imfDate(lm)} }, 304},
	{"if-modified-since later", func(_ string, lm time.Time) []string {
		return []string{"If-Modified-Since: " + imfDate(lm.Add(time.Hour))}
	}, 304},
	{"if-modified-since earlier", func(_ string, lm time.Time) []string {
		return []string{"If-Modified-Since: " + imfDate(lm.Add(-time.Hour))}
	}, 200},
	{"if-modified-since invalid", func(string, time.Time) []string { return []string{"If-Modified-Since: yesterday"} }, 200},
	// RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match
	// is present, whichever way each would decide.
	{"if-none-match other wins over later date", func(_ string, lm time.Time) []string {
		return []string{`If-None-Match: "nope"`, "If-Modified-Since: " + imfDate(lm.Add(time.Hour))}
	}, 200},
	{"if-none-match match wins over earlier date", func(e string, lm time.Time) []string {
		return []string{"If-None-Match: " + e, "If-Modified-Since: " + imfDate(lm.Add(-time.Hour))}
	}, 304},
}

func imfDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func TestServeConditional(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	for _, p := range []string{viteV1Entry, "/", "/about", "/robots.txt"} {
		full, _ := ts.get(t, "GET", p)
		etag := full.Header.Get("ETag")
		lastMod, err := http.ParseTime(full.Header.Get("Last-Modified"))
		if err != nil {
			t.Fatalf("%s: Last-Modified %q: %v", p, full.Header.Get("Last-Modified"), err)
		}
		for _, tc := range httpConditionalCases {
			t.Run(path.Base(p)+" "+tc.name, func(t *testing.T) {
				resp, body := ts.get(t, "GET", p, tc.headers(etag, lastMod)...)
				assertStatus(t, resp, tc.status)
				assertHeader(t, resp, "ETag", etag)
				assertHeader(t, resp, "Cache-Control", full.Header.Get("Cache-Control"))
				assertHeader(t, resp, "Skewless-Version", versionUnlessImmutable(resp, "v1"))
				if tc.status == 304 && body != "" {
					t.Errorf("304 with a body of %d bytes", len(body))
				}
			})
		}
	}
}

var httpRangeCases = []struct {
	name    string
	headers func(etag, lastMod string) []string
	status  int
	span    func(size int) (lo, hi int) // the bytes of a 206, [lo, hi)
}{
	{name: "first ten bytes", headers: rangeHeaderOnly("bytes=0-9"), status: 206, span: func(int) (int, int) { return 0, 10 }},
	{name: "middle", headers: rangeHeaderOnly("bytes=100-199"), status: 206, span: func(int) (int, int) { return 100, 200 }},
	{name: "suffix", headers: rangeHeaderOnly("bytes=-5"), status: 206, span: func(n int) (int, int) { return n - 5, n }},
	{name: "open", headers: rangeHeaderOnly("bytes=10-"), status: 206, span: func(n int) (int, int) { return 10, n }},
	{name: "last past the end", headers: rangeHeaderOnly("bytes=9000-99999999"), status: 206, span: func(n int) (int, int) { return 9000, n }},
	{name: "beyond the end", headers: rangeHeaderOnly("bytes=99999999-"), status: 416},
	{name: "multiple ranges", headers: rangeHeaderOnly("bytes=0-1,5-6"), status: 200},
	{name: "not bytes", headers: rangeHeaderOnly("pages=1-2"), status: 200},
	{name: "if-range current etag", headers: func(e, _ string) []string { return []string{"Range: bytes=0-9", "If-Range: " + e} },
		status: 206, span: func(int) (int, int) { return 0, 10 }},
	{name: "if-range last-modified", headers: func(_, lm string) []string { return []string{"Range: bytes=0-9", "If-Range: " + lm} },
		status: 206, span: func(int) (int, int) { return 0, 10 }},
	{name: "if-range other etag", headers: func(string, string) []string { return []string{"Range: bytes=0-9", `If-Range: "other"`} }, status: 200},
	{name: "if-range weak etag", headers: func(e, _ string) []string { return []string{"Range: bytes=0-9", "If-Range: W/" + e} }, status: 200},
	{name: "with accept-encoding br", headers: func(string, string) []string { return []string{"Range: bytes=0-9", "Accept-Encoding: br"} },
		status: 206, span: func(int) (int, int) { return 0, 10 }},
	{name: "with accept-encoding gzip", headers: func(string, string) []string { return []string{"Range: bytes=-5", "Accept-Encoding: gzip, br"} },
		status: 206, span: func(n int) (int, int) { return n - 5, n }},
}

func rangeHeaderOnly(r string) func(string, string) []string {
	return func(string, string) []string { return []string{"Range: " + r} }
}

func TestServeRange(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	file := fixtureFileBytes(t, fixtures, "v1", viteV1Report)
	size := len(file)
	full, _ := ts.get(t, "GET", viteV1Report)
	etag, lastMod := full.Header.Get("ETag"), full.Header.Get("Last-Modified")
	assertHeader(t, full, "Accept-Ranges", "bytes")
	for _, tc := range httpRangeCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.get(t, "GET", viteV1Report, tc.headers(etag, lastMod)...)
			assertStatus(t, resp, tc.status)
			assertHeader(t, resp, "Skewless-Version", versionUnlessImmutable(resp, "v1"))
			assertHeader(t, resp, "Content-Encoding", "")
			switch tc.status {
			case 206:
				lo, hi := tc.span(size)
				assertHeader(t, resp, "Content-Range", "bytes "+strconv.Itoa(lo)+"-"+strconv.Itoa(hi-1)+"/"+strconv.Itoa(size))
				assertHeader(t, resp, "Content-Length", strconv.Itoa(hi-lo))
				assertHeader(t, resp, "Cache-Control", ccImmutable)
				assertHeader(t, resp, "ETag", etag)
				if body != string(file[lo:hi]) {
					t.Errorf("body %q, want %q", body, file[lo:hi])
				}
			case 416:
				assertHeader(t, resp, "Content-Range", "bytes */"+strconv.Itoa(size))
				// A status answer about no representation: none of the
				// file's validators or body headers.
				assertHeader(t, resp, "Cache-Control", "no-store")
				for _, name := range []string{"ETag", "Last-Modified", "Vary", "Accept-Ranges"} {
					assertHeader(t, resp, name, "")
				}
			case 200:
				assertHeader(t, resp, "Content-Range", "")
				if body != string(file) {
					t.Errorf("want the whole file (%d bytes), got %d bytes", size, len(body))
				}
			}
		})
	}
}

func TestServeHTMLInjection(t *testing.T) {
	const version = "2024.06.01-rc_1" // every character class a version may use
	dir := t.TempDir()
	build := filepath.Join(dir, version)
	copyTree(t, filepath.Join(fixtures, "v1"), build)
	writeInBuild(t, build, "page.html", `<!DOCTYPE html><html><head><meta charset="utf-8"><script type="module" src="`+viteV1Entry+`"></script></head><body>PAGE-MARKER</body></html>`)
	writeInBuild(t, build, "docs/index.html", `<!doctype html><HTML><HEAD>
<script defer src="/assets/vendor-Bb1KB3MD.js"></script></HEAD><body>DOCS-MARKER</body></HTML>`)
	ts := startServer(t, testConfig(t, dir))
	for _, p := range []string{"/", "/index.html", "/about", "/deep/route/x", "/page.html", "/page", "/docs/", "/docs", "/docs/index.html"} {
		t.Run(p, func(t *testing.T) {
			resp, body := ts.get(t, "GET", p)
			assertStatus(t, resp, 200)
			assertHeader(t, resp, "Content-Type", "text/html; charset=utf-8")
			assertHeader(t, resp, "Cache-Control", ccRevalidate)
			assertHelperFirstInHead(t, body, version)
		})
	}
	t.Run("client.js", func(t *testing.T) {
		resp, body := ts.get(t, "GET", "/_skewless/client.js")
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Content-Type", "text/javascript; charset=utf-8")
		assertHeader(t, resp, "Cache-Control", ccRevalidate)
		assertHeader(t, resp, "X-Content-Type-Options", "nosniff")
		assertStrongETag(t, resp)
		if !strings.Contains(body, "skewless") {
			t.Errorf("client.js does not look like the helper:\n%.200s", body)
		}
		br, _ := ts.get(t, "GET", "/_skewless/client.js", "Accept-Encoding: br")
		assertHeader(t, br, "Content-Encoding", "br")
		assertHeader(t, br, "Vary", "Accept-Encoding")
	})
}

func TestServeWithoutInjection(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.Inject = false
	ts := startServer(t, cfg)
	want := string(fixtureFileBytes(t, fixtures, "v1", "/index.html"))
	for _, p := range []string{"/", "/index.html", "/about"} {
		resp, body := ts.get(t, "GET", p)
		assertStatus(t, resp, 200)
		if body != want {
			t.Errorf("%s: with --inject=false the index differs from the build's:\n%s", p, body)
		}
	}
}

var httpDotfileCases = []struct {
	name   string
	path   string
	status int
	body   string // the body for a 200
}{
	{name: "vite manifest", path: "/.vite/manifest.json", status: 404},
	{name: "env", path: "/.env", status: 404},
	{name: "env encoded dot", path: "/%2eenv", status: 404},
	{name: "git config", path: "/.git/config", status: 404},
	{name: "git folder", path: "/.git/", status: 404},
	{name: "git extension-less", path: "/.git", status: 404},
	{name: "dotfile in a folder", path: "/assets/.secret.json", status: 404},
	{name: "well-known", path: "/.well-known/security.txt", status: 200, body: "Contact: mailto:security@example.com\n"},
}

func TestServeDotfiles(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	build := filepath.Join(dir, "v1")
	writeInBuild(t, build, ".env", "API_KEY=DOTENV-MARKER\n")
	writeInBuild(t, build, ".git/config", "[core]\n\tGITCONFIG-MARKER = true\n")
	writeInBuild(t, build, "assets/.secret.json", `{"SECRETJSON-MARKER": 1}`)
	writeInBuild(t, build, ".well-known/security.txt", "Contact: mailto:security@example.com\n")
	ts := startServer(t, testConfig(t, dir))
	for _, tc := range httpDotfileCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.get(t, "GET", tc.path)
			assertStatus(t, resp, tc.status)
			assertHeader(t, resp, "Skewless-Version", "v1")
			if strings.Contains(body, "-MARKER") || strings.Contains(body, `"isEntry"`) {
				t.Errorf("body leaks a private file:\n%s", body)
			}
			if tc.status == 404 {
				assertHeader(t, resp, "Cache-Control", ccNoStore)
				assertNotIndex(t, resp, body)
				return
			}
			assertHeader(t, resp, "Cache-Control", ccRevalidate)
			assertHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
			if body != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}
}

var httpCleanURLCases = []struct {
	path   string
	marker string
}{
	{"/docs/", "DOCS-INDEX-MARKER"},
	{"/docs", "DOCS-INDEX-MARKER"},
	{"/docs/index.html", "DOCS-INDEX-MARKER"},
	{"/pricing", "PRICING-MARKER"},
	{"/pricing.html", "PRICING-MARKER"},
	{"/docs/guide", "GUIDE-MARKER"},
	{"/docs/guide/", "GUIDE-MARKER"},
}

func TestServeCleanURLs(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	build := filepath.Join(dir, "v1")
	page := func(marker string) string {
		return "<!doctype html><html><head><title>" + marker + "</title></head><body>" + marker + "</body></html>"
	}
	writeInBuild(t, build, "docs/index.html", page("DOCS-INDEX-MARKER"))
	writeInBuild(t, build, "pricing.html", page("PRICING-MARKER"))
	writeInBuild(t, build, "docs/guide/index.html", page("GUIDE-MARKER"))
	ts := startServer(t, testConfig(t, dir))
	for _, tc := range httpCleanURLCases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := ts.get(t, "GET", tc.path)
			assertStatus(t, resp, 200)
			assertHeader(t, resp, "Cache-Control", ccRevalidate)
			assertHeader(t, resp, "Content-Type", "text/html; charset=utf-8")
			if !strings.Contains(body, tc.marker) {
				t.Errorf("body is not the page with %s:\n%s", tc.marker, body)
			}
		})
	}
	// A route that is no page still falls back to the SPA.
	resp, body := ts.get(t, "GET", "/docs/elsewhere")
	assertStatus(t, resp, 200)
	if !strings.Contains(body, "Skewless demo") {
		t.Errorf("/docs/elsewhere is not the SPA index:\n%s", body)
	}
}

// versionDoc is the body of /_skewless/version.
type versionDoc struct {
	Version string `json:"version"`
	Builds  []struct {
		Version string `json:"version"`
		State   string `json:"state"`
	} `json:"builds"`
}

func fetchVersionDoc(t *testing.T, ts *testServer) versionDoc {
	t.Helper()
	resp, body := ts.get(t, "GET", "/_skewless/version")
	assertStatus(t, resp, 200)
	assertHeader(t, resp, "Cache-Control", ccNoStore)
	assertHeader(t, resp, "Content-Type", "application/json; charset=utf-8")
	var v versionDoc
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("version body %q: %v", body, err)
	}
	return v
}

// buildStates maps each listed build to its state.
func (v versionDoc) buildStates() map[string]string {
	m := map[string]string{}
	for _, b := range v.Builds {
		m[b.Version] = b.State
	}
	return m
}

func TestEndpointVersion(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1", "v2")))
	v := fetchVersionDoc(t, ts)
	if v.Version != "v2" {
		t.Errorf("version %q, want v2", v.Version)
	}
	got, want := v.buildStates(), map[string]string{"v2": "current", "v1": "live"}
	if len(got) != len(want) || got["v1"] != want["v1"] || got["v2"] != want["v2"] {
		t.Errorf("builds %v, want %v", got, want)
	}
}

func TestEndpointHealthAndUnknown(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	resp, body := ts.get(t, "GET", "/_skewless/health")
	assertStatus(t, resp, 200)
	assertHeader(t, resp, "Cache-Control", ccNoStore)
	if !strings.Contains(body, `"v1"`) {
		t.Errorf("health does not name the build: %s", body)
	}
	for _, p := range []string{"/_skewless/nope", "/_skewless/", "/_skewless/client.js.map", "/_skewless/version/x"} {
		resp, body := ts.get(t, "GET", p)
		assertStatus(t, resp, 404)
		assertHeader(t, resp, "Cache-Control", ccNoStore)
		assertHeader(t, resp, "Skewless-Version", "v1")
		assertNotIndex(t, resp, body)
	}
}

func TestServeWithoutBuilds(t *testing.T) {
	ts := startServer(t, testConfig(t, t.TempDir()))
	resp, _ := ts.get(t, "GET", "/_skewless/health")
	assertStatus(t, resp, 503)
	assertHeader(t, resp, "Cache-Control", ccNoStore)
	for _, p := range []string{"/", "/about", viteV1Entry, "/favicon.svg"} {
		resp, body := ts.get(t, "GET", p)
		assertStatus(t, resp, 503)
		assertNotIndex(t, resp, body)
		if ra := resp.Header.Get("Retry-After"); ra == "" {
			t.Errorf("%s: 503 without Retry-After", p)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != ccNoStore {
			t.Errorf("%s: 503 with Cache-Control %q, want %q", p, cc, ccNoStore)
		}
	}
	// The first build dropped in is served.
	renameIntoBuilds(t, ts, fixtures, "v1")
	resp, _ = ts.get(t, "GET", "/_skewless/health")
	assertStatus(t, resp, 200)
}

var httpBundlerCases = []struct {
	name     string
	src      string
	version  string
	hashed   []string
	unhashed []string
}{
	{"vite", fixtures, "v1", []string{viteV1Entry, viteV1CSS, viteV1About, viteV1Report, viteV1Vendor}, []string{"/favicon.svg", "/robots.txt"}},
	{"webpack", webpackFixtureBuilds, "w1", []string{"/static/js/main.ec5f49ea.js", "/static/css/main.69a882dd.css",
		"/static/js/908.c2bf3acc.chunk.js", "/static/js/about.96107024.chunk.js"}, []string{"/favicon.svg", "/robots.txt", "/asset-manifest.json"}},
	{"esbuild", esbuildFixtureBuilds, "e1", []string{"/main-HAM52357.js", "/main-WUZDRTJB.css", "/chunks/chunk-E3P2ARQA.js",
		"/chunks/about-ZIPWLCQN.js", "/chunks/report-WIWMDTHJ.js"}, []string{"/favicon.svg", "/robots.txt"}},
}

func TestServeBundlerBuilds(t *testing.T) {
	for _, tc := range httpBundlerCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, testConfig(t, buildsWith(t, tc.src, tc.version)))
			for _, p := range tc.hashed {
				resp, body := ts.get(t, "GET", p)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Cache-Control", ccImmutable)
				assertStrongETag(t, resp)
				if body != string(fixtureFileBytes(t, tc.src, tc.version, p)) {
					t.Errorf("%s: body differs from the build's file", p)
				}
			}
			for _, p := range tc.unhashed {
				resp, _ := ts.get(t, "GET", p)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Cache-Control", ccRevalidate)
				assertStrongETag(t, resp)
			}
			for _, p := range []string{"/", "/about"} {
				resp, body := ts.get(t, "GET", p)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Cache-Control", ccRevalidate)
				if got := strings.Replace(body, contractHelperTag(tc.version), "", 1); got != string(fixtureFileBytes(t, tc.src, tc.version, "/index.html")) {
					t.Errorf("%s is not the build's index.html:\n%s", p, body)
				}
				assertHelperFirstInHead(t, body, tc.version)
			}
		})
	}
}

// TestServeAssetManifestOutputs: every output asset-manifest.json lists
// with a hash-shaped name is a hashed asset; one named without a hash is
// not pinned for a year, listed or not.
func TestServeAssetManifestOutputs(t *testing.T) {
	dir := buildsWith(t, webpackFixtureBuilds, "w1")
	build := filepath.Join(dir, "w1")
	writeInBuild(t, build, "static/js/runtime.js", "console.log('runtime, named without a hash');\n")
	m := map[string]any{}
	if err := json.Unmarshal(fixtureFileBytes(t, webpackFixtureBuilds, "w1", "/asset-manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["files"].(map[string]any)["runtime.js"] = "/static/js/runtime.js"
	b, _ := json.Marshal(m)
	writeInBuild(t, build, "asset-manifest.json", string(b))
	ts := startServer(t, testConfig(t, dir))

	resp, body := ts.get(t, "GET", "/asset-manifest.json")
	assertStatus(t, resp, 200)
	assertHeader(t, resp, "Content-Type", "application/json; charset=utf-8")
	var am struct {
		Files       map[string]string `json:"files"`
		Entrypoints []string          `json:"entrypoints"`
	}
	if err := json.Unmarshal([]byte(body), &am); err != nil {
		t.Fatal(err)
	}
	outputs := slices.Clone(am.Entrypoints)
	for _, f := range am.Files {
		outputs = append(outputs, f)
	}
	for _, f := range outputs {
		p := "/" + strings.TrimPrefix(f, "/")
		if strings.HasSuffix(p, ".html") {
			continue
		}
		resp, _ := ts.get(t, "GET", p)
		assertStatus(t, resp, 200)
		if p == "/static/js/runtime.js" {
			assertHeader(t, resp, "Cache-Control", ccRevalidate)
			continue
		}
		assertHeader(t, resp, "Cache-Control", ccImmutable)
	}
}

// httpDeployCases are consecutive builds of each bundler: what only the old
// one has, and hashed paths both share.
var httpDeployCases = []struct {
	name               string
	src                string
	old, new           string
	oldOnly, shared    []string
	oldEntry, newEntry string
}{
	{"vite", fixtures, "v1", "v2", []string{viteV1About, viteV1Entry, viteV1Report}, []string{viteV1CSS, viteV1Vendor},
		"/assets/index-BUIHxmUq.js", "/assets/index-RI6W6SFG.js"},
	{"webpack", webpackFixtureBuilds, "w1", "w2", []string{"/static/js/about.96107024.chunk.js", "/static/js/908.c2bf3acc.chunk.js"},
		[]string{"/static/css/main.69a882dd.css"}, "/static/js/main.ec5f49ea.js", "/static/js/main.70259edf.js"},
	{"esbuild", esbuildFixtureBuilds, "e1", "e2", []string{"/chunks/about-ZIPWLCQN.js", "/main-HAM52357.js"},
		[]string{"/main-WUZDRTJB.css", "/chunks/chunk-E3P2ARQA.js"}, "/main-HAM52357.js", "/main-TGHY74WK.js"},
}

func TestServeLiveBuildAfterDeploy(t *testing.T) {
	for _, tc := range httpDeployCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, testConfig(t, buildsWith(t, tc.src, tc.old)))
			if v := ts.versionOf(t); v != tc.old {
				t.Fatalf("serving %q, want %q", v, tc.old)
			}
			renameIntoBuilds(t, ts, tc.src, tc.new)
			for _, p := range append(slices.Clone(tc.oldOnly), tc.shared...) {
				resp, body := ts.get(t, "GET", p)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Cache-Control", ccImmutable)
				assertHeader(t, resp, "Skewless-Version", "")
				if body != string(fixtureFileBytes(t, tc.src, tc.old, p)) {
					t.Errorf("%s: body differs from %s's file", p, tc.old)
				}
			}
			for _, p := range []string{"/", "/index.html", "/about"} {
				_, body := ts.get(t, "GET", p)
				if !strings.Contains(body, tc.newEntry) || strings.Contains(body, tc.oldEntry) {
					t.Errorf("%s is not %s's index.html:\n%s", p, tc.new, body)
				}
				assertHelperFirstInHead(t, body, tc.new)
			}
			if got := fetchVersionDoc(t, ts).buildStates(); got[tc.old] != "live" || got[tc.new] != "current" {
				t.Errorf("builds %v, want %s live and %s current", got, tc.old, tc.new)
			}
		})
	}
}

func TestServeRetiredBuild(t *testing.T) {
	for _, tc := range httpDeployCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, buildsWith(t, tc.src, tc.old))
			cfg.Grace = 0
			ts := startServer(t, cfg)
			renameIntoBuilds(t, ts, tc.src, tc.new)
			// Retirement follows the activation: wait for it.
			eventually(t, 10*time.Second, tc.old+" retired", func() bool {
				resp, _ := ts.get(t, "GET", tc.oldOnly[0])
				return resp.StatusCode == 404
			})
			for _, p := range tc.oldOnly {
				resp, body := ts.get(t, "GET", p)
				assertStatus(t, resp, 404)
				assertHeader(t, resp, "Skewless-Asset", "retired")
				assertHeader(t, resp, "Cache-Control", ccNoStore)
				assertHeader(t, resp, "Skewless-Version", tc.new)
				assertNotIndex(t, resp, body)
			}
			for _, p := range tc.shared {
				resp, _ := ts.get(t, "GET", p)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Cache-Control", ccImmutable)
				assertHeader(t, resp, "Skewless-Asset", "")
			}
			if got := fetchVersionDoc(t, ts).buildStates(); got[tc.old] != "retired" || got[tc.new] != "current" {
				t.Errorf("builds %v, want %s retired and %s current", got, tc.old, tc.new)
			}
		})
	}
}

// TestRequestHeaderNamesInAnyCase: header names are case-insensitive (RFC
// 9110 §5.1); a raw client's lower- or upper-case names work as the usual
// spelling does.
func TestRequestHeaderNamesInAnyCase(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	resp, _ := ts.get(t, "GET", viteV1Entry)
	etag, modified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	for _, tt := range []struct {
		header   []string
		status   int
		encoding string
	}{
		{[]string{"accept-encoding: br"}, 200, "br"},
		{[]string{"ACCEPT-ENCODING: gzip"}, 200, "gzip"},
		{[]string{"if-none-match: " + etag}, 304, ""},
		{[]string{"IF-MODIFIED-SINCE: " + modified}, 304, ""},
		{[]string{"range: bytes=0-9"}, 206, ""},
		{[]string{"range: bytes=0-9", "if-range: " + etag}, 206, ""},
		{[]string{"range: bytes=0-9", `if-range: "other"`}, 200, ""},
	} {
		a := sendRaw(addr, hostileRequest{"GET", viteV1Entry, "HTTP/1.1", tt.header})
		if a.err != nil {
			t.Fatalf("%q: %v", tt.header, a.err)
		}
		if a.status != tt.status || a.header.Get("Content-Encoding") != tt.encoding {
			t.Errorf("%q: status %d, Content-Encoding %q; want %d, %q", tt.header, a.status, a.header.Get("Content-Encoding"), tt.status, tt.encoding)
		}
	}
}

// TestReservedPrefixOnTheDecodedPath: /_skewless/ is reserved however the
// path spells it: a doubled slash or an encoded one still reaches the
// endpoint, never the SPA fallback or a build's file.
func TestReservedPrefixOnTheDecodedPath(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	for _, p := range []string{"/_skewless/version", "//_skewless/version", "/_skewless%2Fversion"} {
		resp, body := ts.get(t, "GET", p)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"version":"v1"`) {
			t.Errorf("%s: %d %q %.60q; want the version endpoint", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, _ := ts.get(t, "GET", "/_skewless/nope"); resp.StatusCode != 404 {
		t.Errorf("/_skewless/nope: %d, want 404", resp.StatusCode)
	}
}
