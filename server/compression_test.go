package main

// Content-coding negotiation over real HTTP.
//
// Behaviours covered:
//   - RFC 9110 §12.5.3 Accept-Encoding: the coding with the highest q-value
//     wins; "identity" and an absent header get the identity coding; q=0
//     refuses a coding; "*" stands for codings not named; coding names are
//     case-insensitive (§8.4.1) and x-gzip is gzip (§8.4.1.3).
//   - RFC 9110 §8.4 Content-Encoding names the coding sent; §12.5.5 Vary:
//     Accept-Encoding on every response of a resource that has codings
//     (identity and 304 included, §15.4.5), none on one that has not.
//   - RFC 9110 §8.6 Content-Length is the length of the encoded content.
//   - RFC 9110 §8.8.3 each coding has its own strong ETag; §13.1.2 an
//     If-None-Match revalidates only the representation the request
//     selects: another coding's tag names other bytes.
//   - CONTRACT "Serving": compressible types (JS, CSS, HTML, SVG, JSON,
//     source maps, text, wasm) honour br and gzip, and decode to exactly the
//     identity bytes; other types (PNG) are sent as they are; a build's own
//     .br/.gz siblings are what is sent; compression happens once per file
//     (every response of a coding is the same bytes).

import (
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// decodeBody undoes the content coding enc ("" or "identity": none).
func decodeBody(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "", "identity":
		return body
	case "br":
		r = brotli.NewReader(strings.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", enc, err)
	}
	return string(b)
}

func brotliBytes(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func gzipBytes(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Files the compression tests add to a copy of v1.
const (
	siblingPath     = "/assets/sibling-Q1w2E3r4.js"
	siblingIdentity = "IDENTITY-MARKER"
	siblingBrotli   = "PRECOMPRESSED-BR-MARKER"
	siblingGzip     = "PRECOMPRESSED-GZ-MARKER"
)

// compressionBuilds returns a builds folder with v1 plus one file of each
// type the contract names, a PNG, and a script with precompressed siblings
// whose contents differ from it (so the test can tell which was sent).
func compressionBuilds(t *testing.T) string {
	t.Helper()
	dir := buildsWith(t, fixtures, "v1")
	build := filepath.Join(dir, "v1")
	writeInBuild(t, build, "big.svg", `<svg xmlns="http://www.w3.org/2000/svg">`+
		strings.Repeat(`<rect x="1" y="2" width="3" height="4" fill="#abcdef"/>`, 12)+`</svg>`)
	writeInBuild(t, build, "data.json", "["+strings.Repeat(`{"id": 1, "name": "skewless", "ok": true},`, 12)+"{}]")
	writeInBuild(t, build, "notes.txt", strings.Repeat("Skewless keeps old chunks loadable.\n", 12))
	writeInBuild(t, build, "assets/index-BUIHxmUq.js.map",
		`{"version":3,"sources":["src/main.js"],"mappings":"`+strings.Repeat("AAAA,CAAC;", 40)+`"}`)
	writeInBuild(t, build, "module.wasm", "\x00asm\x01\x00\x00\x00"+strings.Repeat("\x00\x01\x02\x03", 64))
	writeInBuild(t, build, "logo.png", "\x89PNG\r\n\x1a\n"+strings.Repeat("\x00\x00\x00\x0dIHDR", 64))
	writeInBuild(t, build, siblingPath[1:], "console.log('"+siblingIdentity+"');\n"+strings.Repeat("// padding\n", 12))
	writeInBuild(t, build, siblingPath[1:]+".br", brotliBytes(t, "console.log('"+siblingBrotli+"');\n"))
	writeInBuild(t, build, siblingPath[1:]+".gz", gzipBytes(t, "console.log('"+siblingGzip+"');\n"))
	return dir
}

var compressionTypeCases = []struct {
	path         string
	ctype        string
	compressible bool
}{
	{viteV1Report, "text/javascript; charset=utf-8", true},
	{viteV1CSS, "text/css; charset=utf-8", true},
	{"/", "text/html; charset=utf-8", true},
	{"/about", "text/html; charset=utf-8", true},
	{"/big.svg", "image/svg+xml; charset=utf-8", true},
	{"/data.json", "application/json; charset=utf-8", true},
	{"/assets/index-BUIHxmUq.js.map", "application/json; charset=utf-8", true},
	{"/notes.txt", "text/plain; charset=utf-8", true},
	{"/module.wasm", "application/wasm", true},
	{"/_skewless/client.js", "text/javascript; charset=utf-8", true},
	{"/logo.png", "image/png", false},
}

func TestCompressionByType(t *testing.T) {
	ts := startServer(t, testConfig(t, compressionBuilds(t)))
	for _, tc := range compressionTypeCases {
		t.Run(tc.path, func(t *testing.T) {
			id, identity := ts.get(t, "GET", tc.path)
			assertStatus(t, id, 200)
			assertHeader(t, id, "Content-Type", tc.ctype)
			assertHeader(t, id, "Content-Encoding", "")
			if !tc.compressible {
				assertHeader(t, id, "Vary", "")
				resp, body := ts.get(t, "GET", tc.path, "Accept-Encoding: br, gzip")
				assertHeader(t, resp, "Content-Encoding", "")
				assertHeader(t, resp, "Vary", "")
				if body != identity {
					t.Errorf("body differs from the identity body")
				}
				return
			}
			assertHeader(t, id, "Vary", "Accept-Encoding")
			for _, enc := range []string{"br", "gzip"} {
				resp, body := ts.get(t, "GET", tc.path, "Accept-Encoding: "+enc)
				assertStatus(t, resp, 200)
				assertHeader(t, resp, "Content-Encoding", enc)
				assertHeader(t, resp, "Vary", "Accept-Encoding")
				assertHeader(t, resp, "Content-Type", tc.ctype)
				assertHeader(t, resp, "Cache-Control", id.Header.Get("Cache-Control"))
				assertHeader(t, resp, "Content-Length", strconv.Itoa(len(body)))
				if got := decodeBody(t, enc, body); got != identity {
					t.Errorf("%s body decodes to %d bytes that differ from the identity body (%d bytes)", enc, len(got), len(identity))
				}
				if len(body) >= len(identity) {
					t.Errorf("%s body of %d bytes is not smaller than identity's %d", enc, len(body), len(identity))
				}
			}
		})
	}
}

var compressionNegotiationCases = []struct {
	name   string
	accept string   // Accept-Encoding; "" sends none
	want   []string // acceptable Content-Encodings; "" is identity
}{
	{"none", "", []string{""}},
	{"br", "br", []string{"br"}},
	{"gzip", "gzip", []string{"gzip"}},
	{"identity", "identity", []string{""}},
	{"gzip preferred by q", "gzip;q=1, br;q=0.5", []string{"gzip"}},
	{"gzip preferred by q, listed last", "br;q=0.5, gzip", []string{"gzip"}},
	{"br preferred by q", "gzip;q=0.4, br;q=0.9", []string{"br"}},
	{"browser", "gzip, deflate, br", []string{"br", "gzip"}},
	{"upper case", "GZIP", []string{"gzip"}},
	{"spaces around q", "br ; q=0.2 , gzip ; q=0.8", []string{"gzip"}},
	{"x-gzip", "x-gzip", []string{"gzip"}},
	{"br refused", "br;q=0", []string{""}},
	{"both refused", "br;q=0, gzip;q=0", []string{""}},
	{"identity preferred", "identity;q=1, gzip;q=0.5", []string{""}},
	{"star", "*", []string{"br", "gzip"}},
	{"star but br refused", "*, br;q=0", []string{"gzip"}},
	{"deflate only", "deflate", []string{""}},
	{"unknown coding", "compress", []string{""}},
}

func TestCompressionNegotiation(t *testing.T) {
	ts := startServer(t, testConfig(t, compressionBuilds(t)))
	_, identity := ts.get(t, "GET", viteV1Report)
	for _, tc := range compressionNegotiationCases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept-Encoding: " + tc.accept}
			}
			resp, body := ts.get(t, "GET", viteV1Report, hdr...)
			assertStatus(t, resp, 200)
			assertHeader(t, resp, "Vary", "Accept-Encoding")
			enc := resp.Header.Get("Content-Encoding")
			ok := false
			for _, w := range tc.want {
				ok = ok || enc == w
			}
			if !ok {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q, want one of %q", tc.accept, enc, tc.want)
			}
			assertHeader(t, resp, "Content-Length", strconv.Itoa(len(body)))
			if decodeBody(t, enc, body) != identity {
				t.Errorf("body does not decode to the identity body")
			}
			// Compressed once per file: every response of a coding is
			// the same bytes.
			again, body2 := ts.get(t, "GET", viteV1Report, hdr...)
			if body2 != body || again.Header.Get("ETag") != resp.Header.Get("ETag") {
				t.Errorf("a second request got other bytes or another ETag")
			}
		})
	}
}

func TestCompressionETags(t *testing.T) {
	ts := startServer(t, testConfig(t, compressionBuilds(t)))
	for _, p := range []string{viteV1Report, "/", "/_skewless/client.js"} {
		t.Run(p, func(t *testing.T) {
			tags := map[string]string{}
			for _, enc := range []string{"identity", "br", "gzip"} {
				resp, _ := ts.get(t, "GET", p, "Accept-Encoding: "+enc)
				tags[enc] = assertStrongETag(t, resp)
			}
			if tags["identity"] == tags["br"] || tags["identity"] == tags["gzip"] || tags["br"] == tags["gzip"] {
				t.Fatalf("codings share an ETag: %v", tags)
			}
			// An ETag validates only the representation it names: a
			// cache holding the gzip bytes cannot revalidate them for a
			// request that selects brotli (RFC 9110 §8.8.3, §13.1.2).
			for _, tc := range []struct {
				accept, tag, served string
				status              int
			}{
				{"br", tags["br"], "br", 304},
				{"gzip", `"nope", W/` + tags["gzip"], "gzip", 304},
				{"identity", tags["identity"], "identity", 304},
				{"br", tags["gzip"], "br", 200},
				{"br", tags["identity"], "br", 200},
				{"gzip", tags["br"], "gzip", 200},
				{"identity", tags["br"], "identity", 200},
				{"br", `"nope", W/` + tags["gzip"], "br", 200},
			} {
				resp, body := ts.get(t, "GET", p, "Accept-Encoding: "+tc.accept, "If-None-Match: "+tc.tag)
				assertStatus(t, resp, tc.status)
				if tc.status == 304 && body != "" {
					t.Errorf("304 with a body")
				}
				// RFC 9110 §15.4.5: the 304 names the representation
				// the request selects, and keeps Vary.
				assertHeader(t, resp, "ETag", tags[tc.served])
				assertHeader(t, resp, "Vary", "Accept-Encoding")
			}
		})
	}
}

func TestCompressionPrecompressedSiblings(t *testing.T) {
	ts := startServer(t, testConfig(t, compressionBuilds(t)))
	for _, tc := range []struct {
		accept, enc, marker string
	}{
		{"", "", siblingIdentity},
		{"br", "br", siblingBrotli},
		{"gzip", "gzip", siblingGzip},
		{"gzip;q=1, br;q=0.1", "gzip", siblingGzip},
	} {
		t.Run("accept "+tc.accept, func(t *testing.T) {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept-Encoding: " + tc.accept}
			}
			resp, body := ts.get(t, "GET", siblingPath, hdr...)
			assertStatus(t, resp, 200)
			assertHeader(t, resp, "Content-Encoding", tc.enc)
			assertHeader(t, resp, "Vary", "Accept-Encoding")
			assertHeader(t, resp, "Cache-Control", ccImmutable)
			assertHeader(t, resp, "Content-Type", "text/javascript; charset=utf-8")
			assertHeader(t, resp, "Content-Length", strconv.Itoa(len(body)))
			if got := decodeBody(t, tc.enc, body); !strings.Contains(got, tc.marker) {
				t.Errorf("sent %q, want the file with %s", got, tc.marker)
			}
			head, _ := ts.get(t, "HEAD", siblingPath, hdr...)
			assertHeader(t, head, "Content-Length", strconv.Itoa(len(body)))
		})
	}
	// A range is of the identity file, never of a sibling.
	resp, body := ts.get(t, "GET", siblingPath, "Accept-Encoding: br", "Range: bytes=0-11")
	assertStatus(t, resp, 206)
	assertHeader(t, resp, "Content-Encoding", "")
	if body != "console.log(" {
		t.Errorf("range body %q, want the identity file's first 12 bytes", body)
	}
}
