package main

// Serving under a base path (--base /app/), over HTTP, with a real Vite
// build made with base: '/app/' (fixtures/base-builds):
//   - requests under the base map to the build's files, HTML gets the
//     helper's tag under the base, client routes get the SPA fallback;
//   - the endpoints are under <base>_skewless/;
//   - "/app" is redirected to "/app/"; anything else outside the base is
//     404 (a server whose only location is the base);
//   - a build made for the root is refused under a base, saying why.

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const baseFixtures = "../fixtures/base-builds"

// Paths of the committed base builds (b1, b2), below the base.
const (
	b1Entry = "/assets/index-5L5Vpbwd.js"
	b1About = "/assets/about-CNFyb-ih.js"
	b2About = "/assets/about-DvaVJOYY.js"
)

func TestNormalizeBase(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "", want: "/"},
		{in: "/", want: "/"},
		{in: "/app/", want: "/app/"},
		{in: "/app", want: "/app/"},
		{in: "app", want: "/app/"},
		{in: "/a/b.c/", want: "/a/b.c/"},
		{in: "https://cdn.example/app/", err: `--base "https://cdn.example/app/": give the URL path the builds are served under (/app/), not a URL`},
		{in: "/a//b/", err: `--base "/a//b/": not a plain URL path such as /app/ (letters, digits and -._~ in each segment)`},
		{in: "/a/../b/", err: `--base "/a/../b/": not a plain URL path such as /app/ (letters, digits and -._~ in each segment)`},
		{in: "/a b/", err: `--base "/a b/": not a plain URL path such as /app/ (letters, digits and -._~ in each segment)`},
		{in: "/a%2Fb/", err: `--base "/a%2Fb/": not a plain URL path such as /app/ (letters, digits and -._~ in each segment)`},
		{in: "/app/?x=1", err: `--base "/app/?x=1": not a plain URL path such as /app/ (letters, digits and -._~ in each segment)`},
	} {
		got, err := normalizeBase(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("normalizeBase(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("normalizeBase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestServerURL(t *testing.T) {
	for _, tt := range []struct {
		addr string
		tls  bool
		base string
		want string
	}{
		{"[::]:8080", false, "/", "http://127.0.0.1:8080/"},
		{"0.0.0.0:80", false, "/app/", "http://127.0.0.1:80/app/"},
		{"127.0.0.1:8443", true, "/", "https://127.0.0.1:8443/"},
		{"[::1]:8080", false, "/", "http://[::1]:8080/"},
		{"10.1.2.3:8080", true, "/a/b/", "https://10.1.2.3:8080/a/b/"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := serverURL(addr, tt.tls, tt.base); got != tt.want {
			t.Errorf("serverURL(%s, %v, %s) = %s, want %s", tt.addr, tt.tls, tt.base, got, tt.want)
		}
	}
}

// noRedirects is a client that reports redirects instead of following them.
var noRedirects = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func baseServer(t *testing.T, versions ...string) *testServer {
	t.Helper()
	cfg := testConfig(t, buildsWith(t, baseFixtures, versions...))
	cfg.Base = "/app/"
	return startServer(t, cfg)
}

func TestBaseServesUnderIt(t *testing.T) {
	ts := baseServer(t, "b1")
	resp, body := ts.get(t, "GET", "/app/")
	if resp.StatusCode != 200 || resp.Header.Get("Skewless-Version") != "b1" {
		t.Fatalf("/app/: %d, version %q", resp.StatusCode, resp.Header.Get("Skewless-Version"))
	}
	if !strings.Contains(body, `<script src="/app/_skewless/client.js" data-version="b1"></script>`) {
		t.Fatalf("/app/ lacks the helper under the base:\n%s", body)
	}
	if first := firstInHead(t, body); first != "/app/_skewless/client.js" {
		t.Errorf("first element of <head> loads %q", first)
	}
	for _, tt := range []struct {
		path, status, cache, asset, typ string
	}{
		{"/app" + b1Entry, "200", cacheImmutable, "", "text/javascript; charset=utf-8"},
		{"/app/favicon.svg", "200", cacheRevalidate, "", "image/svg+xml; charset=utf-8"},
		{"/app/about", "200", cacheRevalidate, "", "text/html; charset=utf-8"}, // client route: the SPA fallback
		{"/app/assets/missing-AAAAAAAA.js", "404", cacheNever, "unknown", ""},
		{"/app/_skewless/client.js", "200", cacheRevalidate, "", "text/javascript; charset=utf-8"},
		{"/app/_skewless/version", "200", cacheNever, "", "application/json; charset=utf-8"},
		{"/app/_skewless/health", "200", cacheNever, "", "application/json; charset=utf-8"},
		// Outside the base: not the builds' (nginx with only location /app/).
		{"/", "404", cacheNever, "", ""},
		{b1Entry, "404", cacheNever, "", ""},
		{"/_skewless/version", "404", cacheNever, "", ""},
		{"/application", "404", cacheNever, "", ""},
		{"/app.js", "404", cacheNever, "", ""},
	} {
		resp, _ := ts.get(t, "GET", tt.path, "Accept: */*")
		if got := resp.Status[:3]; got != tt.status {
			t.Errorf("%s: %s, want %s", tt.path, resp.Status, tt.status)
		}
		if got := resp.Header.Get("Cache-Control"); got != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.cache)
		}
		if got := resp.Header.Get("Skewless-Asset"); got != tt.asset {
			t.Errorf("%s: Skewless-Asset %q, want %q", tt.path, got, tt.asset)
		}
		if got := resp.Header.Get("Content-Type"); tt.typ != "" && got != tt.typ {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, got, tt.typ)
		}
	}
	// The base without its slash: a redirect to it, the query kept.
	resp, err := noRedirects.Get(ts.URL + "/app?utm=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/app/?utm=x" {
		t.Errorf("/app?utm=x: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The event stream is under the base.
	s := openStream(t, ts.URL+"/app")
	if ev := s.nextEvent(t, 2*time.Second); !strings.Contains(strings.Join(ev, "\n"), `"version": "b1"`) {
		t.Errorf("first event under the base: %q", ev)
	}
}

// TestBaseDeploy: a new build under the base becomes current, and the
// superseded one's chunks stay served under the base.
func TestBaseDeploy(t *testing.T) {
	ts := baseServer(t, "b1")
	dropBuild(t, ts.Dir, filepath.Join(baseFixtures, "b2"), "b2")
	waitVersion(t, ts, "b2", 5*time.Second)
	for _, p := range []string{b1About, b2About} {
		if resp, _ := ts.get(t, "GET", "/app"+p); resp.StatusCode != 200 {
			t.Errorf("%s: %d after the deploy", p, resp.StatusCode)
		}
	}
	if _, body := ts.get(t, "GET", "/app/"); !strings.Contains(body, `src="/app/_skewless/client.js" data-version="b2"`) {
		t.Errorf("/app/ is not b2's page:\n%s", body)
	}
}

// TestBaseRefusesRootBuild: a build made for the root loads /assets/...,
// outside /app/: under --base /app/ it is invalid, and the log says why.
func TestBaseRefusesRootBuild(t *testing.T) {
	ts := baseServer(t, "b1")
	dropBuild(t, ts.Dir, filepath.Join(fixtures, "v2"), "v2")
	eventually(t, 5*time.Second, "v2 reported invalid", func() bool {
		return ts.Logs.FilterMessage("build invalid").FilterField(stringField("version", "v2")).Len() > 0
	})
	entry := ts.Logs.FilterMessage("build invalid").All()[0]
	problems, _ := entry.ContextMap()["problems"].([]any)
	want := "index.html loads /favicon.svg, which is outside the base /app/ (a build made for another base? rebuild it for /app/, or serve it with --base)"
	if len(problems) == 0 || problems[0] != want {
		t.Errorf("problems: %q\nwant first %q", problems, want)
	}
	if v := ts.versionOf(t); v != "b1" {
		t.Errorf("the current build changed: %q", v)
	}
}
