package main

// Answers as the RFCs and nginx give them, over raw TCP (so several lines
// of one field and odd spellings reach the server as written).
//
// Behaviours covered:
//   - RFC 9110 §13.2.2: preconditions in order. If-Match (strong
//     comparison) and If-Unmodified-Since fail with 412; If-None-Match and
//     If-Match are read over every line of the field (§5.3); an ETag
//     validates only the representation the request selects.
//   - RFC 9110 §14.1: the range unit is case-insensitive ("Bytes=0-9").
//   - RFC 9110 §9.3.7: OPTIONS (for a path or "*") gets 204 with Allow:
//     GET, HEAD, OPTIONS (HAProxy's default health check sends it); other
//     methods 405 with the same Allow (§15.5.6).
//   - X-Content-Type-Options: nosniff on every answer: files, 304, 4xx,
//     5xx, endpoints and the event stream; the types of the formats builds
//     ship (subtitles, JSON-LD, glTF models, APNG, JPEG XL).

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// rawGet sends one request head (and Connection: close) and returns the
// answer.
func rawGet(t *testing.T, addr, method, target string, lines ...string) (*http.Response, string) {
	t.Helper()
	head := method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + strings.Join(append(lines, ""), "\r\n") + "\r\n"
	resps, bodies, end := rawExchange(t, addr, head)
	if len(resps) != 1 {
		t.Fatalf("%s %s %q: %d answers (%v)", method, target, lines, len(resps), end)
	}
	return resps[0], bodies[0]
}

func TestPreconditionsOverHTTP(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, p := range []string{viteV1Report, "/"} { // each has a brotli variant
		full, _ := rawGet(t, addr, "GET", p)
		etag, lastMod := full.Header.Get("ETag"), full.Header.Get("Last-Modified")
		br, _ := rawGet(t, addr, "GET", p, "Accept-Encoding: br")
		brTag := br.Header.Get("ETag")
		if etag == "" || brTag == "" || etag == brTag {
			t.Fatalf("%s: ETags %q (identity) and %q (br)", p, etag, brTag)
		}
		before := "Thu, 01 Jan 2015 00:00:00 GMT"
		for _, tt := range []struct {
			name   string
			lines  []string
			status int
		}{
			{"if-match", []string{"If-Match: " + etag}, 200},
			{"if-match star", []string{"If-Match: *"}, 200},
			{"if-match other", []string{`If-Match: "other"`}, 412},
			{"if-match weak", []string{"If-Match: W/" + etag}, 412},
			{"if-match another coding's tag", []string{"If-Match: " + brTag}, 412},
			{"if-match on a second line", []string{`If-Match: "other"`, "If-Match: " + etag}, 200},
			{"if-match fails before if-none-match", []string{`If-Match: "other"`, "If-None-Match: " + etag}, 412},
			{"if-unmodified-since later", []string{"If-Unmodified-Since: " + lastMod}, 200},
			{"if-unmodified-since earlier", []string{"If-Unmodified-Since: " + before}, 412},
			{"if-unmodified-since ignored under if-match", []string{"If-Match: " + etag, "If-Unmodified-Since: " + before}, 200},
			{"if-none-match on a second line", []string{`If-None-Match: "a", "b"`, "If-None-Match: " + etag}, 304},
			{"if-none-match on a third line", []string{`If-None-Match: "a"`, `If-None-Match: "b"`, "If-None-Match: W/" + etag}, 304},
			{"if-none-match another coding's tag", []string{"If-None-Match: " + brTag}, 200},
			{"if-none-match br tag for br", []string{"Accept-Encoding: br", "If-None-Match: " + brTag}, 304},
			{"if-none-match identity tag for br", []string{"Accept-Encoding: br", "If-None-Match: " + etag}, 200},
		} {
			t.Run(p+" "+tt.name, func(t *testing.T) {
				resp, body := rawGet(t, addr, "GET", p, tt.lines...)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				switch tt.status {
				case 412:
					// A status answer: never cached, names no representation.
					for name, want := range map[string]string{"Cache-Control": "no-store", "ETag": "", "Skewless-Version": "v1", "X-Content-Type-Options": "nosniff"} {
						if got := resp.Header.Get(name); got != want {
							t.Errorf("%s: %q, want %q", name, got, want)
						}
					}
				case 304:
					// RFC 9110 §15.4.5: what a 200 would carry.
					for _, name := range []string{"ETag", "Cache-Control", "Vary", "Last-Modified", "X-Content-Type-Options"} {
						if resp.Header.Get(name) == "" {
							t.Errorf("304 without %s", name)
						}
					}
					if body != "" {
						t.Errorf("304 with a body")
					}
				}
			})
		}
	}
}

func TestRangeUnitAnyCase(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	file := string(fixtureFileBytes(t, fixtures, "v1", viteV1Report))
	for _, unit := range []string{"bytes", "Bytes", "BYTES", "bYtEs"} {
		resp, body := rawGet(t, addr, "GET", viteV1Report, "Range: "+unit+"=0-9")
		if resp.StatusCode != 206 || body != file[:10] || resp.Header.Get("Content-Range") == "" {
			t.Errorf("Range: %s=0-9: status %d, %d bytes, Content-Range %q; want 206 with the first 10 bytes",
				unit, resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, target := range []string{"*", "/", viteV1Entry, "/about", "/missing.png", "/_skewless/version", "/_skewless/events"} {
		resp, body := rawGet(t, addr, "OPTIONS", target)
		if resp.StatusCode != 204 || resp.Header.Get("Allow") != allowMethods || body != "" {
			t.Errorf("OPTIONS %s: %d, Allow %q, %d bytes; want 204 with Allow: %s and no body",
				target, resp.StatusCode, resp.Header.Get("Allow"), len(body), allowMethods)
		}
		// RFC 9110 §8.6: no Content-Length in a 204.
		if _, ok := resp.Header["Content-Length"]; ok {
			t.Errorf("OPTIONS %s: 204 with Content-Length", target)
		}
		if resp.Header.Get("Skewless-Version") != "v1" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("OPTIONS %s: headers %v", target, resp.Header)
		}
	}
	// HAProxy's "option httpchk" default: OPTIONS / HTTP/1.0.
	resps, _, end := rawExchange(t, addr, "OPTIONS / HTTP/1.0\r\n\r\n")
	if len(resps) != 1 || resps[0].StatusCode != 204 {
		t.Errorf("OPTIONS / HTTP/1.0: %d answers (%v), want a 204", len(resps), end)
	}
}

// TestNoSniffOnEveryAnswer: every answer, whatever produced it, tells
// browsers not to sniff its type.
func TestNoSniffOnEveryAnswer(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	cases := []struct {
		method, target string
		lines          []string
		status         int
	}{
		{"GET", viteV1Entry, nil, 200},
		{"GET", viteV1Entry, []string{"If-None-Match: *"}, 304},
		{"GET", viteV1Entry, []string{"Range: bytes=0-1"}, 206},
		{"GET", viteV1Entry, []string{"Range: bytes=999999-"}, 416},
		{"GET", viteV1Entry, []string{`If-Match: "x"`}, 412},
		{"GET", "/", nil, 200},
		{"GET", "/about", nil, 200},
		{"GET", "/missing.png", nil, 404},
		{"HEAD", "/missing.png", nil, 404},
		{"GET", "/a%00b", nil, 400},
		{"DELETE", "/", nil, 405},
		{"OPTIONS", "/", nil, 204},
		{"GET", "/_skewless/version", nil, 200},
		{"GET", "/_skewless/health", nil, 200},
		{"GET", "/_skewless/client.js", nil, 200},
		{"GET", "/_skewless/nope", nil, 404},
		{"HEAD", "/_skewless/events", nil, 200},
		{"GET", "/", []string{"X-Big: " + strings.Repeat("a", 40<<10)}, 431},
		{"GET", "/?" + strings.Repeat("a", 40<<10), nil, 414},
		{"GET", "/", []string{"Content-Length: 0", "Transfer-Encoding: identity"}, 400},
	}
	for _, tt := range cases {
		resp, _ := rawGet(t, addr, tt.method, tt.target, tt.lines...)
		if resp.StatusCode != tt.status || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %.40s %q: %d, X-Content-Type-Options %q; want %d with nosniff",
				tt.method, tt.target, tt.lines, resp.StatusCode, resp.Header.Get("X-Content-Type-Options"), tt.status)
		}
	}
	// With no build yet, and past --max-sse: 503s.
	empty := startServer(t, testConfig(t, t.TempDir()))
	resp, _ := rawGet(t, strings.TrimPrefix(empty.URL, "http://"), "GET", "/")
	if resp.StatusCode != 503 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no build: %d, X-Content-Type-Options %q", resp.StatusCode, resp.Header.Get("X-Content-Type-Options"))
	}
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MaxSSE = 0
	full := startServer(t, cfg)
	resp, _ = rawGet(t, strings.TrimPrefix(full.URL, "http://"), "GET", "/_skewless/events")
	if resp.StatusCode != 503 || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past --max-sse: %d, headers %v", resp.StatusCode, resp.Header)
	}
}

// TestContentTypesOverHTTP: formats builds now ship are sent with their
// types (under nosniff, octet-stream would break them), text with UTF-8.
func TestContentTypesOverHTTP(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1")
	want := map[string]string{
		"captions.vtt":    "text/vtt; charset=utf-8",
		"data.jsonld":     "application/ld+json; charset=utf-8",
		"scene.gltf":      "model/gltf+json; charset=utf-8",
		"scene.glb":       "model/gltf-binary",
		"anim.apng":       "image/apng",
		"photo.jxl":       "image/jxl",
		"app.webmanifest": "application/manifest+json; charset=utf-8",
		"worker.mjs":      "text/javascript; charset=utf-8",
		"font.woff2":      "font/woff2",
		"mod.wasm":        "application/wasm",
	}
	for name := range want {
		writeInBuild(t, filepath.Join(dir, "v1"), "media/"+name, "x")
	}
	ts := startServer(t, testConfig(t, dir))
	for name, ct := range want {
		resp, _ := ts.get(t, "GET", "/media/"+name)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, Content-Type %q; want %q with nosniff", name, resp.StatusCode, resp.Header.Get("Content-Type"), ct)
		}
	}
}
