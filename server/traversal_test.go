package main

// Path traversal and malformed request targets, sent over raw TCP so that
// no client library cleans, re-encodes or refuses the target first.
//
// Behaviours covered:
//   - CONTRACT "Serving" rule 1: a path that is malformed or tries to leave
//     the build (".." segments, encoded or not, backslashes, NUL, a symlink
//     pointing outside the build) gets 400 or 404, never a file from outside
//     the build; double encoding is decoded once only.
//   - RFC 3986 §3.3 / §5.2.4: dot-segments ("..", ".", "%2e%2e") are not
//     resolved against the file system.
//   - RFC 9112 §3.2: origin-form, absolute-form and a target without the
//     leading slash.
//   - Symlinks inside a build that point outside it (a file, a folder) are
//     not part of the build; files beside the builds folder, in its parent
//     and beside a build folder are never reachable.
//   - The server answers every such request (no hang) and never with a 5xx.
//   - CONTRACT "Headers": Skewless-Version on every response, also the ones
//     for requests the HTTP layer refuses itself.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Markers of files that must never be served; each is unique to its file.
const (
	markerSymlinkFile   = "SYMLINKED-SECRET-7f3a91"
	markerSymlinkDir    = "SYMLINKED-DIR-SECRET-c04e22"
	markerBesideBuild   = "BESIDE-BUILD-SECRET-5d8b10"
	markerBesideBuilds  = "BESIDE-BUILDS-SECRET-e9a6f4"
	markerAboveBuilds   = "ABOVE-BUILDS-SECRET-1b7c35"
	markerOutsideTarget = "OUTSIDE-TARGET-SECRET-aa0d5e"
)

var traversalMarkers = []string{markerSymlinkFile, markerSymlinkDir, markerBesideBuild,
	markerBesideBuilds, markerAboveBuilds, markerOutsideTarget, "root:x:0:0", "root:"}

// traversalCases are request lines; each must get 400 or 404, or the SPA's
// index.html with 200, and nothing else.
var traversalCases = []struct {
	name        string
	requestLine string
}{
	{"dot-dot", "GET /../../../etc/passwd HTTP/1.1"},
	{"encoded dot-dot", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"},
	{"upper-case encoded dot-dot", "GET /%2E%2E/%2E%2E/etc/passwd HTTP/1.1"},
	{"encoded slash", "GET /..%2f..%2fetc/passwd HTTP/1.1"},
	{"all encoded", "GET /%2e%2e%2f%2e%2e%2fetc%2fpasswd HTTP/1.1"},
	{"encoded backslash", "GET /assets/..%5c..%5cetc/passwd HTTP/1.1"},
	{"raw backslash", `GET /..\..\etc\passwd HTTP/1.1`},
	{"double encoding", "GET /%252e%252e/%252e%252e/etc/passwd HTTP/1.1"},
	{"half encoded dot-dot", "GET /.%2e/.%2e/etc/passwd HTTP/1.1"},
	{"dot-dot after an asset folder", "GET /assets/../../etc/passwd HTTP/1.1"},
	{"dot-dot inside the build", "GET /assets/../index.html HTTP/1.1"},
	{"single dot", "GET /./index.html HTTP/1.1"},
	{"dot-dot into an endpoint", "GET /assets/../_skewless/version HTTP/1.1"},
	{"endpoint then dot-dot", "GET /_skewless/../../etc/passwd HTTP/1.1"},
	{"nul", "GET /%00 HTTP/1.1"},
	{"nul before an extension", "GET /index.html%00.js HTTP/1.1"},
	{"nul in a segment", "GET /..%00/etc/passwd HTTP/1.1"},
	{"tomcat path parameter", "GET /..;/etc/passwd HTTP/1.1"},
	{"path parameter in a folder", "GET /assets/..;/index.html HTTP/1.1"},
	{"empty segment", "GET //etc/passwd HTTP/1.1"},
	{"empty segments", "GET ///../../etc/passwd HTTP/1.1"},
	{"overlong utf-8 dot", "GET /%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd HTTP/1.1"},
	{"bad escape", "GET /%zz/etc/passwd HTTP/1.1"},
	{"absolute-form", "GET http://localhost/../../etc/passwd HTTP/1.1"},
	{"absolute-form encoded", "GET http://localhost/%2e%2e/%2e%2e/etc/passwd HTTP/1.1"},
	{"no leading slash", "GET ../../etc/passwd HTTP/1.1"},
	{"head dot-dot", "HEAD /../../../etc/passwd HTTP/1.1"},
	{"symlinked file", "GET /secret.txt HTTP/1.1"},
	{"symlinked folder", "GET /linked/secret.txt HTTP/1.1"},
	{"symlinked folder index", "GET /linked/ HTTP/1.1"},
	{"symlinked folder clean url", "GET /linked HTTP/1.1"},
	{"beside the build", "GET /../beside-build.txt HTTP/1.1"},
	{"beside the build encoded", "GET /%2e%2e/beside-build.txt HTTP/1.1"},
	{"beside the builds folder", "GET /../../beside-builds.txt HTTP/1.1"},
	{"beside the builds folder encoded", "GET /..%2f..%2fbeside-builds.txt HTTP/1.1"},
	{"above the builds folder", "GET /../../../above-builds.txt HTTP/1.1"},
	{"above the builds folder encoded", "GET /%2e%2e/%2e%2e/%2e%2e/above-builds.txt HTTP/1.1"},
	{"server state", "GET /../.skewless/state.json HTTP/1.1"},
	{"server state encoded", "GET /%2e%2e%2f.skewless%2fstate.json HTTP/1.1"},
	{"other build", "GET /../v0/index.html HTTP/1.1"},
}

// traversalLayout makes root/above-builds.txt, root/outer/beside-builds.txt,
// root/outer/builds/beside-build.txt and the build root/outer/builds/v1, with
// secret.txt linked to a file outside the build and linked/ to a folder
// outside it. It returns the builds folder.
func traversalLayout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	builds := filepath.Join(root, "outer", "builds")
	copyTree(t, filepath.Join(fixtures, "v1"), filepath.Join(builds, "v1"))
	outside := filepath.Join(root, "outside")
	writeInBuild(t, root, "above-builds.txt", markerAboveBuilds)
	writeInBuild(t, root, "outer/beside-builds.txt", markerBesideBuilds)
	writeInBuild(t, builds, "beside-build.txt", markerBesideBuild)
	writeInBuild(t, outside, "secret.txt", markerSymlinkFile)
	writeInBuild(t, outside, "dir/secret.txt", markerSymlinkDir)
	writeInBuild(t, outside, "dir/index.html", "<html><head></head><body>"+markerOutsideTarget+"</body></html>")
	for link, target := range map[string]string{
		"secret.txt": filepath.Join(outside, "secret.txt"),
		"linked":     filepath.Join(outside, "dir"),
	} {
		if err := os.Symlink(target, filepath.Join(builds, "v1", link)); err != nil {
			t.Fatal(err)
		}
	}
	return builds
}

// rawResponse is an answer read off the wire.
type rawResponse struct {
	status int
	header http.Header
	body   string
	raw    string // status line, header fields and body as sent
}

// rawRequest writes requestLine and headers to the server as they are and
// reads the whole answer, failing the test if none comes within 5 seconds.
func rawRequest(t *testing.T, ts *testServer, requestLine string, headers ...string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req := requestLine + "\r\nHost: localhost\r\nConnection: close\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// A server that refuses a request before reading all of it closes the
	// connection with unread data, which resets it: what arrived before
	// the reset is the answer.
	raw, err := io.ReadAll(conn)
	if err != nil && len(raw) == 0 {
		t.Fatalf("%s: no answer: %v", requestLine, err)
	}
	method, _, _ := strings.Cut(requestLine, " ")
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: unreadable answer %q: %v", requestLine, raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: body of %q: %v", requestLine, raw, err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), raw: string(raw)}
}

func TestTraversal(t *testing.T) {
	ts := startServer(t, testConfig(t, traversalLayout(t)))
	_, index := ts.get(t, "GET", "/")
	if !strings.Contains(index, "Skewless demo") {
		t.Fatalf("/ is not the fixture's index.html:\n%s", index)
	}
	for _, tc := range traversalCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, ts, tc.requestLine)
			for _, m := range traversalMarkers {
				if strings.Contains(r.raw, m) {
					t.Fatalf("%s: the answer holds %q:\n%s", tc.requestLine, m, r.raw)
				}
			}
			switch {
			case r.status >= 500:
				t.Errorf("%s: status %d", tc.requestLine, r.status)
			case r.status == 400 || r.status == 404:
				if strings.Contains(r.body, "<html") {
					t.Errorf("%s: %d with an HTML document:\n%s", tc.requestLine, r.status, r.body)
				}
			case r.status == 200:
				if !strings.HasPrefix(tc.requestLine, "HEAD") && r.body != index {
					t.Errorf("%s: 200 that is not the SPA fallback:\n%s", tc.requestLine, r.raw)
				}
				if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("%s: 200 with Content-Type %q, not the SPA fallback", tc.requestLine, ct)
				}
			default:
				t.Errorf("%s: status %d, want 400, 404 or the SPA fallback\n%s", tc.requestLine, r.status, r.raw)
			}
		})
	}
}

// TestTraversalSymlinkInsideBuild: a symlink that stays inside the build is
// part of it, so the 404s above come from leaving the build, not from
// symlinks as such.
func TestTraversalSymlinkInsideBuild(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	if err := os.Symlink("robots.txt", filepath.Join(dir, "v1", "robots-link.txt")); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, testConfig(t, dir))
	resp, body := ts.get(t, "GET", "/robots-link.txt")
	assertStatus(t, resp, 200)
	if want := string(fixtureFileBytes(t, fixtures, "v1", "/robots.txt")); body != want {
		t.Errorf("body %q, want robots.txt's %q", body, want)
	}
}

// traversalMalformedCases are requests the HTTP layer itself refuses.
var traversalMalformedCases = []struct {
	name    string
	line    string
	headers []string
}{
	{"relative target", "GET ../../etc/passwd HTTP/1.1", nil},
	{"asterisk target", "GET * HTTP/1.1", nil},
	{"no version", "GET /", nil},
	{"header too large", "GET / HTTP/1.1", []string{"X-Big: " + strings.Repeat("a", 64<<10)}},
}

// TestTraversalMalformedRequestHasVersion: every response carries
// Skewless-Version, also those for requests refused before routing, and none
// is a 5xx.
func TestTraversalMalformedRequestHasVersion(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	for _, tc := range traversalMalformedCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, ts, tc.line, tc.headers...)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s: status %d, want a 4xx", tc.line, r.status)
			}
			if got := r.header.Get("Skewless-Version"); got != "v1" {
				t.Errorf("%s: %d with Skewless-Version %q, want \"v1\"\n%s", tc.line, r.status, got, r.raw)
			}
			if got := r.header.Get("Cache-Control"); got != ccNoStore {
				t.Errorf("%s: Cache-Control %q, want %q", tc.line, got, ccNoStore)
			}
		})
	}
}
