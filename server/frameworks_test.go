package main

// What each framework's static hosting guide has its host do, over real
// HTTP on the fixture builds (fixtures/<tool>-builds/):
//   - Nuxt (`nuxi generate`): 200.html is the SPA fallback, route/index.html
//     answers /route and /route/.
//   - Next.js static export: route.html answers /route and /route/; with
//     --spa=false (a multi-page export) a document navigation to a missing
//     page gets 404.html with status 404, no-store, no validators.
//   - SvelteKit: its content-hashed files are immutable, its version.json
//     no-cache (manifest/golden_test.go checks every file of every fixture).
//   - A document navigation to a route with a dot gets the fallback; a
//     script asking for it gets 404 unknown; a trailing slash after a file
//     name is neither the file nor the fallback; a retired chunk stays
//     retired for a navigation too.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Header sets as browsers send them.
var (
	navHeaders    = []string{"Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	scriptHeaders = []string{"Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: script", "Accept: */*"}
)

// frameworkBuilds starts a server on a copy of fixtures/<folder>/<version>.
func frameworkBuilds(t *testing.T, folder, version string, spa bool) *testServer {
	t.Helper()
	src := filepath.Join("..", "fixtures", folder)
	if _, err := os.Stat(filepath.Join(src, version)); err != nil {
		t.Fatalf("fixture build %s/%s is missing: %v", folder, version, err)
	}
	cfg := testConfig(t, buildsWith(t, src, version))
	cfg.SPA = spa
	return startLoadedServer(t, cfg, 2*time.Minute)
}

// startLoadedServer is startServer with a deadline for larger builds: the
// port opens at once, and loading a framework's build (brotli at quality 11
// over its 200 KB chunks) takes seconds under the race detector on a busy
// machine.
func startLoadedServer(t *testing.T, cfg serveConfig, within time.Duration) *testServer {
	t.Helper()
	started := make(chan struct{})
	ts := startServerHooks(t, cfg, serveHooks{started: func() { close(started) }})
	select {
	case <-started:
	case err := <-ts.done:
		ts.done <- err // for Stop
		t.Fatalf("server stopped while loading: %v", err)
	case <-time.After(within):
		t.Fatalf("the build did not load within %s", within)
	}
	return ts
}

// fixtureHTML is an HTML file of a fixture build, for comparing bodies.
func fixtureHTML(t *testing.T, folder, version, rel string) string {
	t.Helper()
	return string(fixtureFileBytes(t, filepath.Join("..", "fixtures", folder), version, rel))
}

// bodyIs reports whether a served HTML body is the build's file (the
// injected helper tag aside).
func bodyIs(body, file, version string) bool {
	return strings.Replace(body, contractHelperTag(version), "", 1) == file
}

func TestServeNuxtGenerate(t *testing.T) {
	ts := frameworkBuilds(t, "nuxt-builds", "nx1", true)
	spa := fixtureHTML(t, "nuxt-builds", "nx1", "/200.html")
	about := fixtureHTML(t, "nuxt-builds", "nx1", "/about/index.html")
	for _, tc := range []struct {
		path    string
		headers []string
		want    string
	}{
		{"/about", navHeaders, about},
		{"/about/", navHeaders, about},
		{"/no/such/route", navHeaders, spa},
		{"/user/john.doe", navHeaders, spa},
		{"/no/such/route", nil, spa},
	} {
		resp, body := ts.get(t, "GET", tc.path, tc.headers...)
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Cache-Control", ccRevalidate)
		if !bodyIs(body, tc.want, "nx1") {
			t.Errorf("%s: not the expected page:\n%.300s", tc.path, body)
		}
	}
	resp, _ := ts.get(t, "GET", "/user/john.doe", scriptHeaders...)
	assertStatus(t, resp, 404)
	assertHeader(t, resp, "Skewless-Asset", "unknown")
	for _, p := range []string{"/_nuxt/builds/latest.json", "/_nuxt/builds/meta/nx1.json"} {
		resp, _ := ts.get(t, "GET", p)
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Cache-Control", ccRevalidate)
	}
	resp, _ = ts.get(t, "GET", "/_nuxt/CydqaGqh.js")
	assertStatus(t, resp, 200)
	assertHeader(t, resp, "Cache-Control", ccImmutable)
}

func TestServeNextExport(t *testing.T) {
	// Turbopack's build; the webpack one is laid out the same way.
	for _, folder := range []string{"next-turbopack-builds"} {
		version := "nt1"
		t.Run(folder, func(t *testing.T) {
			ts := frameworkBuilds(t, folder, version, false)
			about := fixtureHTML(t, folder, version, "/about.html")
			notFound := fixtureHTML(t, folder, version, "/404.html")
			for _, p := range []string{"/about", "/about/"} {
				resp, body := ts.get(t, "GET", p, navHeaders...)
				assertStatus(t, resp, 200)
				if !bodyIs(body, about, version) {
					t.Errorf("%s is not about.html:\n%.300s", p, body)
				}
			}
			for _, p := range []string{"/no/such/page", "/no/such/page/", "/user/john.doe"} {
				resp, body := ts.get(t, "GET", p, navHeaders...)
				assertStatus(t, resp, 404)
				assertHeader(t, resp, "Cache-Control", ccNoStore)
				assertHeader(t, resp, "Content-Type", "text/html; charset=utf-8")
				assertHeader(t, resp, "ETag", "")
				assertHeader(t, resp, "Skewless-Version", version)
				if !bodyIs(body, notFound, version) {
					t.Errorf("%s: body is not the build's 404.html:\n%.300s", p, body)
				}
			}
			resp, body := ts.get(t, "HEAD", "/no/such/page", navHeaders...)
			assertStatus(t, resp, 404)
			if body != "" {
				t.Errorf("HEAD sent a body")
			}
			resp, body = ts.get(t, "GET", "/no/such/page", "Accept: application/json")
			assertStatus(t, resp, 404)
			assertNotIndex(t, resp, body)
			if bodyIs(body, notFound, version) {
				t.Errorf("a fetch got the 404 page")
			}
			resp, _ = ts.get(t, "GET", "/_next/static/"+version+"/_buildManifest.js")
			assertStatus(t, resp, 200)
			assertHeader(t, resp, "Cache-Control", ccRevalidate)
		})
	}
}

// TestServeFrameworkCaching: a framework build's files are served with the
// caching their classification gives (golden_test.go checks every file of
// every fixture): the hashed ones immutable; a trailing slash after one is
// not that file.
func TestServeFrameworkCaching(t *testing.T) {
	ts := frameworkBuilds(t, "sveltekit-builds", "sk1", true)
	for p, cache := range map[string]string{
		"/_app/immutable/chunks/Bjy-W4x2.js":      ccImmutable,
		"/_app/immutable/entry/start.rvNWI7o2.js": ccImmutable,
		"/_app/version.json":                      ccRevalidate,
		"/robots.txt":                             ccRevalidate,
	} {
		resp, _ := ts.get(t, "GET", p)
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Cache-Control", cache)
		resp, body := ts.get(t, "GET", p+"/", navHeaders...)
		assertStatus(t, resp, 404)
		assertHeader(t, resp, "Skewless-Asset", "unknown")
		assertNotIndex(t, resp, body)
	}
}

// TestServeRetiredForNavigations: a retired chunk is retired for a
// navigation too, never the SPA fallback; with a slash after it, unknown.
func TestServeRetiredForNavigations(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.Grace = 0
	ts := startServer(t, cfg)
	renameIntoBuilds(t, ts, fixtures, "v2")
	eventually(t, 10*time.Second, "v1 retired", func() bool {
		resp, _ := ts.get(t, "GET", viteV1About)
		return resp.StatusCode == http.StatusNotFound
	})
	resp, body := ts.get(t, "GET", viteV1About, navHeaders...)
	assertStatus(t, resp, 404)
	assertHeader(t, resp, "Skewless-Asset", "retired")
	assertNotIndex(t, resp, body)
	resp, _ = ts.get(t, "GET", viteV1About+"/", navHeaders...)
	assertStatus(t, resp, 404)
	assertHeader(t, resp, "Skewless-Asset", "unknown")
}

// TestInspectCommand runs `skewless inspect` on fixture builds: every file
// with its verdict and rule, the summary line, JSON, and exit 1 with the
// problems of a folder that is no build.
func TestInspectCommand(t *testing.T) {
	out, code := skewless(t, "inspect", "../fixtures/sveltekit-builds/sk1")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"/_app/immutable/chunks/Bjy-W4x2.js", "immutable  framework-folder",
		"/_app/version.json", "no-cache   no-hash",
		"17 files: 14 hashed, 14 immutable, 3 revalidated (no-cache); ready",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, code = skewless(t, "inspect", "--json", "--immutable", "/robots.txt", "../fixtures/sveltekit-builds/sk1")
	if code != 0 || !strings.Contains(out, `"rule": "immutable-flag"`) || !strings.Contains(out, `"ready": true`) {
		t.Errorf("--json --immutable: exit %d:\n%s", code, out)
	}
	out, code = skewless(t, "inspect", "../fixtures/app/src")
	if code != 1 || !strings.Contains(out, "index.html is missing") || !strings.Contains(out, "NOT READY") {
		t.Errorf("a folder that is no build: exit %d:\n%s", code, out)
	}
	out, code = skewless(t, "inspect", "--immutable", "/a/**.js", "../fixtures/sveltekit-builds/sk1")
	if code == 0 || !strings.Contains(out, "whole segment") {
		t.Errorf("a bad glob: exit %d:\n%s", code, out)
	}
}
