package main

// _headers and _redirects over real HTTP: the headers a path pattern adds
// (to files, pages, client routes, 304s and redirects), redirects with
// splats and placeholders (query kept, Location escaped), 200 rewrites,
// a file shadowing a rule unless it is forced ("!"), and neither file
// ever served.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	rulesHeaders = "/*\n  X-Frame-Options: DENY\n/assets/*\n  Access-Control-Allow-Origin: *\n" +
		"/dashboard/*\n  X-Robots-Tag: noindex\n  ! X-Frame-Options\n/feed\n  Content-Type: application/rss+xml\n"
	rulesRedirects = "# moved pages\n/old /about 301\n/docs/:page /help/:page 302\n/files/* /f/:splat 307\n" +
		"/blog/* https://blog.example.com/:splat 302!\n/favicon.svg /elsewhere.svg 301\n/robots.txt /rules.txt 302!\n" +
		"/promo /landing.html 200\n/shop/* /landing.html 200\n/* /index.html 200\n"
)

// rulesServer serves fixture v1 with _headers, _redirects, a landing page
// and an extension-less feed file.
func rulesServer(t *testing.T) *testServer {
	t.Helper()
	dir := buildsWith(t, fixtures, "v1")
	for name, body := range map[string]string{
		"_headers": rulesHeaders, "_redirects": rulesRedirects,
		"landing.html": "<!doctype html><html><head><title>Sale</title></head><body>sale</body></html>\n",
		"feed":         "<rss></rss>\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "v1", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return startServer(t, testConfig(t, dir))
}

func TestRulesHeaders(t *testing.T) {
	ts := rulesServer(t)
	nav := []string{"Accept: text/html", "Sec-Fetch-Mode: navigate"}
	for _, tt := range []struct {
		path    string
		headers []string
		status  int
		want    map[string]string // "" means absent
	}{
		{"/assets/about-Br9WxIf2.js", nil, 200, map[string]string{
			"X-Frame-Options": "DENY", "Access-Control-Allow-Origin": "*", "Cache-Control": cacheImmutable}},
		{"/", nav, 200, map[string]string{"X-Frame-Options": "DENY", "Access-Control-Allow-Origin": "", "Cache-Control": cacheRevalidate}},
		// A client route (the SPA fallback) gets the rules of its URL, not
		// of /index.html.
		{"/dashboard/settings", nav, 200, map[string]string{"X-Robots-Tag": "noindex", "X-Frame-Options": "", "Content-Type": "text/html; charset=utf-8"}},
		// A rule may name the type of a file whose name says none.
		{"/feed", nil, 200, map[string]string{"Content-Type": "application/rss+xml", "X-Frame-Options": "DENY"}},
		// A 304 carries them too; a 404 for a file nobody has does not.
		{"/assets/about-Br9WxIf2.js", []string{"If-None-Match: *"}, 304, map[string]string{"X-Frame-Options": "DENY", "Access-Control-Allow-Origin": "*"}},
		{"/assets/missing-AAAAAAAA.js", []string{"Accept: */*"}, 404, map[string]string{"X-Frame-Options": "", "Skewless-Asset": "unknown"}},
		// Neither rules file is ever served.
		{"/_headers", nil, 404, map[string]string{"X-Frame-Options": "", "Skewless-Asset": "unknown"}},
		{"/_redirects", nav, 404, map[string]string{"Location": ""}},
	} {
		resp, body := ts.get(t, "GET", tt.path, tt.headers...)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		for name, want := range tt.want {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s %q, want %q", tt.path, name, got, want)
			}
		}
		if strings.Contains(body, "X-Frame-Options") || strings.Contains(body, "/landing.html") {
			t.Errorf("%s: a rules file's text was served:\n%s", tt.path, body)
		}
	}
}

func TestRulesRedirects(t *testing.T) {
	ts := rulesServer(t)
	nav := []string{"Accept: text/html", "Sec-Fetch-Mode: navigate"}
	for _, tt := range []struct {
		method, path string
		headers      []string
		status       int
		location     string
	}{
		{"GET", "/old", nav, 301, "/about"},
		{"GET", "/old/?utm=x", nav, 301, "/about?utm=x"}, // a trailing slash matches; the query is kept
		{"HEAD", "/old", nav, 301, "/about"},
		{"GET", "/docs/intro", nav, 302, "/help/intro"},
		{"GET", "/files/a/b.pdf", []string{"Accept: */*"}, 307, "/f/a/b.pdf"}, // a file nobody has: the rule, not 404 unknown
		{"GET", "/files/a%20b/%0d%0aSet-Cookie:%20x=1", nav, 307, "/f/a%20b/%0D%0ASet-Cookie:%20x=1"},
		{"GET", "/blog/2026/hello", nav, 302, "https://blog.example.com/2026/hello"},
		// A file shadows a rule unless the rule is forced.
		{"GET", "/favicon.svg", nil, 200, ""},
		{"GET", "/robots.txt", nil, 302, "/rules.txt"},
		{"GET", "/assets/about-Br9WxIf2.js", nil, 200, ""},
	} {
		resp2 := getNoRedirect(t, tt.method, ts.URL+tt.path, tt.headers...)
		if resp2.StatusCode != tt.status || resp2.Header.Get("Location") != tt.location {
			t.Errorf("%s %s: %d Location %q, want %d %q", tt.method, tt.path, resp2.StatusCode, resp2.Header.Get("Location"), tt.status, tt.location)
		}
		if tt.location != "" {
			assertHeader(t, resp2, "Cache-Control", cacheNever)
			assertHeader(t, resp2, "X-Frame-Options", "DENY") // _headers by the URL asked for
			assertHeader(t, resp2, "Skewless-Version", "v1")
		}
	}
}

func TestRulesRewrites(t *testing.T) {
	ts := rulesServer(t)
	nav := []string{"Accept: text/html", "Sec-Fetch-Mode: navigate"}
	for _, path := range []string{"/promo", "/shop/shoes/42"} {
		resp, body := ts.get(t, "GET", path, nav...)
		if resp.StatusCode != 200 || !strings.Contains(body, "sale") {
			t.Errorf("%s: %d, want the landing page:\n%s", path, resp.StatusCode, body)
		}
		assertHeader(t, resp, "Cache-Control", cacheRevalidate) // never pinned: another URL's file
		assertHeader(t, resp, "Content-Type", "text/html; charset=utf-8")
		if !strings.Contains(body, `data-version="v1"`) {
			t.Errorf("%s: the rewritten page lacks the helper:\n%s", path, body)
		}
	}
	// "/* /index.html 200" is the SPA fallback: a route gets the app...
	resp, body := ts.get(t, "GET", "/some/route", nav...)
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>Skewless demo</title>") {
		t.Errorf("/some/route: %d:\n%s", resp.StatusCode, body)
	}
	// ...but a script's request for a chunk nobody has is 404 unknown,
	// never a page (the helper must see the failure), and a file of the
	// build is itself.
	resp, _ = ts.get(t, "GET", "/assets/gone-AAAAAAAA.js", "Accept: */*", "Sec-Fetch-Dest: script")
	assertStatus(t, resp, 404)
	assertHeader(t, resp, "Skewless-Asset", "unknown")
	resp, body = ts.get(t, "GET", "/favicon.svg")
	if resp.StatusCode != 200 || !strings.Contains(body, "<svg") {
		t.Errorf("/favicon.svg: %d:\n%s", resp.StatusCode, body)
	}
}

// TestInspectRules: `skewless inspect` says what the rules do and which
// lines it left out, and a bad line does not make the build unready.
func TestInspectRules(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	files := map[string]string{"_headers": rulesHeaders + "/x\n  Cache-Control: max-age=60\n", "_redirects": rulesRedirects + "/y /nothere.html 200\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, "v1", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := skewless(t, "inspect", filepath.Join(dir, "v1"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"line 3  /assets/*  (5 files)", "    Access-Control-Allow-Origin: *", "    ! X-Frame-Options (removed)",
		"line 2  /old -> /about  (301 redirect)",
		"line 5  /blog/* -> https://blog.example.com/:splat  (302 redirect, forced: even where a file is)",
		"line 10  /* -> /index.html  (200 rewrite)",
		"_headers line 11: Cache-Control cannot be set here",
		"_redirects line 11: rewrites to /nothere.html, which is not in the build",
		"; ready",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "/_headers ") || strings.Contains(out, "/_redirects ") {
		t.Errorf("the rules files are listed as served files:\n%s", out)
	}
	out, _ = skewless(t, "inspect", "--json", filepath.Join(dir, "v1"))
	if !strings.Contains(out, `"redirects": [`) || !strings.Contains(out, `"name": "Access-Control-Allow-Origin"`) {
		t.Errorf("--json lacks the rules:\n%s", out)
	}
}

// getNoRedirect sends a request without following a redirect.
func getNoRedirect(t *testing.T, method, url string, headers ...string) *http.Response {
	t.Helper()
	resp, _ := doWith(t, noRedirects, method, url, headers...)
	return resp
}
