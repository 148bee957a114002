package main

// decodePath refuses what cannot name a build file (400): no leading
// slash, bad escapes, NUL, backslashes, "." and ".." segments, encoded or
// not. resolve applies the contract's serving order (CONTRACT.md, Serving
// 1-7) to a snapshot of builds loaded from the committed fixtures.

import (
	"path/filepath"
	"testing"

	"github.com/skewless/skewless/manifest"
	"github.com/skewless/skewless/manifest/manifesttest"
)

var decodePathTests = []struct {
	name string
	raw  string
	want string // "" with ok false
	ok   bool
}{
	{"root", "/", "/", true},
	{"file", "/a/b.js", "/a/b.js", true},
	{"trailing slash", "/a/", "/a/", true},
	{"encoded letters", "/%61%73sets/x.js", "/assets/x.js", true},
	{"encoded space", "/a%20b.js", "/a b.js", true},
	{"plus stays plus", "/a+b.js", "/a+b.js", true},
	{"encoded slash separates", "/a%2fb", "/a/b", true},
	{"encoded question mark is a name", "/a%3fb", "/a?b", true},
	{"double encoding stays literal", "/%252e%252e/x", "/%2e%2e/x", true},
	{"dot-dot-semicolon is a name", "/..;/x", "/..;/x", true},
	{"three dots is a name", "/a/.../b", "/a/.../b", true},
	{"dot-prefixed name", "/.well-known/x", "/.well-known/x", true},
	{"double slashes", "//double//slashes", "/double/slashes", true},
	{"double slash keeps trailing slash", "/a//b//", "/a/b/", true},
	{"dot-dot", "/..", "", false},
	{"dot-dot prefix", "/../x", "", false},
	{"dot-dot inside", "/a/../b", "", false},
	{"dot-dot last", "/a/..", "", false},
	{"dot-dot trailing slash", "/a/../", "", false},
	{"dot", "/a/./b", "", false},
	{"dot alone", "/.", "", false},
	{"dot last with slash", "/a/./", "", false},
	{"encoded dot-dot", "/%2e%2e", "", false},
	{"encoded dot-dot upper-case", "/%2E%2E/x", "", false},
	{"half-encoded dot-dot", "/.%2e/x", "", false},
	{"encoded dot-dot with encoded slash", "/a%2f..%2fb", "", false},
	{"encoded dot", "/a/%2e/b", "", false},
	// CONTRACT.md, Serving 1: ".." segments get 400 or 404, also where a
	// double slash sits in front of them.
	{"dot-dot after a double slash", "/a//../b", "", false},
	{"dot-dot after leading double slash", "//../index.html", "", false},
	{"dot after a double slash", "/a//./b", "", false},
	{"encoded slash", "/a%2f%2fb", "/a/b", true},
	{"encoded backslash", "/a%5cb", "", false},
	{"backslash", `/a\b`, "", false},
	{"backslash dot-dot", `/..\x`, "", false},
	{"encoded NUL", "/a%00.js", "", false},
	{"raw NUL", "/a\x00.js", "", false},
	{"bad escape", "/%zz", "", false},
	{"truncated escape", "/a%2", "", false},
	{"lone percent", "/%", "", false},
	{"no leading slash", "a/b", "", false},
	{"empty", "", "", false},
	{"absolute URL form", "http://example.com/", "", false},
	{"asterisk form", "*", "", false},
}

func TestDecodePath(t *testing.T) {
	for _, tt := range decodePathTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodePath(tt.raw)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("decodePath(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// resolveBuild loads a build folder the way the server does.
func resolveBuild(t testing.TB, version, dir string) *manifest.Build {
	t.Helper()
	b, err := manifest.NewLoader(manifest.LoaderConfig{}).Load(t.Context(), version, dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return b
}

// resolveTempBuild writes a build (relative path → content) and loads it.
func resolveTempBuild(t testing.TB, version string, files map[string]string) *manifest.Build {
	t.Helper()
	dir := t.TempDir()
	if err := manifesttest.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return resolveBuild(t, version, dir)
}

// fakeHeader is a request's headers for resolve, by canonical name.
type fakeHeader map[string]string

func (h fakeHeader) PeekCanonical(key []byte) []byte {
	if v, ok := h[string(key)]; ok {
		return []byte(v)
	}
	return nil
}

// Requests as browsers send them: a navigation (with and without Fetch
// metadata), a script, a fetch().
var (
	navigate    = fakeHeader{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	oldNavigate = fakeHeader{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	iframe      = fakeHeader{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}
	script      = fakeHeader{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "script", "Accept": "*/*"}
	fetchJSON   = fakeHeader{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Accept": "application/json, text/html;q=0.5"}
)

// resolveTests name the build whose file must be served ("" for none).
var resolveTests = []struct {
	name    string
	path    string
	spa     bool
	header  fakeHeader
	outcome outcome
	status  int
	from    string // build the file comes from
	file    string // its path there
}{
	{"exact file", "/assets/index-RI6W6SFG.js", true, script, outServed, 200, "cur", "/assets/index-RI6W6SFG.js"},
	{"shared hashed file from the current build", "/assets/vendor-Bb1KB3MD.js", true, nil, outServed, 200, "cur", "/assets/vendor-Bb1KB3MD.js"},
	{"unhashed file", "/robots.txt", true, nil, outServed, 200, "cur", "/robots.txt"},
	{"index.html", "/index.html", true, nil, outServed, 200, "cur", "/index.html"},
	{"root is the index", "/", true, navigate, outServed, 200, "cur", "/index.html"},
	{"root is the index without spa", "/", false, nil, outServed, 200, "cur", "/index.html"},
	{"clean URL folder with slash", "/docs/", true, nil, outServed, 200, "cur", "/docs/index.html"},
	{"clean URL folder without slash", "/docs", true, nil, outServed, 200, "cur", "/docs/index.html"},
	{"clean URL page", "/page", true, nil, outServed, 200, "cur", "/page.html"},
	{"clean URL page without spa", "/page", false, nil, outServed, 200, "cur", "/page.html"},
	{"clean URL page with a slash", "/page/", true, navigate, outServed, 200, "cur", "/page.html"},
	{"folder index beats page", "/both", true, nil, outServed, 200, "cur", "/both/index.html"},
	{"folder index beats page with a slash", "/both/", true, nil, outServed, 200, "cur", "/both/index.html"},
	{"clean URL in a sub-folder", "/docs/guide", true, nil, outServed, 200, "cur", "/docs/guide.html"},
	{"clean URL in a sub-folder with a slash", "/docs/guide/", true, nil, outServed, 200, "cur", "/docs/guide.html"},
	{"clean URL of a page with a dot", "/user/jane.doe", true, navigate, outServed, 200, "cur", "/user/jane.doe.html"},
	{"hashed file only the live build has", "/assets/index-BUIHxmUq.js", true, script, outServed, 200, "old", "/assets/index-BUIHxmUq.js"},
	{"hashed lazy chunk only the live build has", "/assets/about-Br9WxIf2.js", true, nil, outServed, 200, "old", "/assets/about-Br9WxIf2.js"},
	{"newest live build first", "/assets/legacy-BRh8Y3xK.js", true, nil, outServed, 200, "older", "/assets/legacy-BRh8Y3xK.js"},
	{"unhashed file only a live build has (retention by path)", "/legacy.txt", true, nil, outServed, 200, "older", "/legacy.txt"},
	{"live build's index.html is not served", "/old-only.html", true, nil, outUnknown, 404, "", ""},
	{"missing hashed file", "/assets/missing-BRh8Y3xK.js", true, script, outUnknown, 404, "", ""},
	{"missing file with extension", "/nope.png", true, nil, outUnknown, 404, "", ""},
	{"missing file with extension without spa", "/nope.png", false, nil, outUnknown, 404, "", ""},
	{"route", "/about", true, nil, outFallback, 200, "cur", "/index.html"},
	{"nested route", "/users/42/edit", true, navigate, outFallback, 200, "cur", "/index.html"},
	{"route with a trailing slash", "/about/", true, nil, outFallback, 200, "cur", "/index.html"},
	{"route without spa", "/about", false, nil, outNotFound, 404, "", ""},
	{"route without spa, fetched", "/about", false, fetchJSON, outNotFound, 404, "", ""},
	{"navigation without spa gets the 404 page", "/about", false, navigate, outNotFound, 404, "cur", "/404.html"},
	{"dotted navigation without spa gets the 404 page", "/user/john.doe", false, navigate, outNotFound, 404, "cur", "/404.html"},
	{"dot in a folder, not the last segment", "/v1.2/route", true, nil, outFallback, 200, "cur", "/index.html"},

	// A route with a dot: a page for a person, a missing file for a script.
	{"dotted route, navigation", "/user/john.doe", true, navigate, outFallback, 200, "cur", "/index.html"},
	{"dotted route, navigation without Fetch metadata", "/user/john.doe", true, oldNavigate, outFallback, 200, "cur", "/index.html"},
	{"dotted route, document by Sec-Fetch-Dest alone", "/user/john.doe", true, fakeHeader{"Sec-Fetch-Dest": "document"}, outFallback, 200, "cur", "/index.html"},
	{"dotted route with a trailing slash, navigation", "/user/john.doe/", true, navigate, outFallback, 200, "cur", "/index.html"},
	{"dotted route, iframe navigation", "/user/john.doe", true, iframe, outFallback, 200, "cur", "/index.html"},
	{"dotted route, script", "/user/john.doe", true, script, outUnknown, 404, "", ""},
	{"dotted route, fetch preferring JSON", "/user/john.doe", true, fetchJSON, outUnknown, 404, "", ""},
	{"dotted route, no headers", "/user/john.doe", true, nil, outUnknown, 404, "", ""},
	{"missing chunk, navigation", "/assets/missing-BRh8Y3xK.js", true, navigate, outFallback, 200, "cur", "/index.html"},

	// A trailing slash after a file name is not that file, nor a route.
	{"slash after a current file", "/assets/index-RI6W6SFG.js/", true, navigate, outUnknown, 404, "", ""},
	{"slash after a current file, script", "/assets/index-RI6W6SFG.js/", true, script, outUnknown, 404, "", ""},
	{"slash after a live file", "/assets/index-BUIHxmUq.js/", true, navigate, outUnknown, 404, "", ""},
	{"slash after an unhashed file", "/robots.txt/", true, navigate, outUnknown, 404, "", ""},
	{"slash after the index", "/index.html/", true, navigate, outUnknown, 404, "", ""},
	{"slash after a missing file, script", "/nope.js/", true, script, outUnknown, 404, "", ""},

	{"vite manifest", "/.vite/manifest.json", true, nil, outUnknown, 404, "", ""},
	{"dotfile", "/.env", true, navigate, outUnknown, 404, "", ""},
	{"dotfile in a folder", "/assets/.DS_Store", true, nil, outUnknown, 404, "", ""},
	{"dot-folder without extension", "/.git/HEAD", true, nil, outUnknown, 404, "", ""},
	{"dotfile route", "/.hidden", true, nil, outUnknown, 404, "", ""},
	{"well-known file", "/.well-known/security.txt", true, nil, outServed, 200, "cur", "/.well-known/security.txt"},
	{"missing well-known file", "/.well-known/nope.txt", true, nil, outUnknown, 404, "", ""},
	{"dotfile under well-known", "/.well-known/.secret", true, nil, outUnknown, 404, "", ""},
	{"well-known path is not a prefix match", "/.well-knownx/security.txt", true, nil, outUnknown, 404, "", ""},
}

// resolveSnapshot is the committed Vite build v2 as current, plus a few
// files for clean URLs, /.well-known/ and a 404 page, with v1 and an
// older build live. (Retired paths: frameworks_test.go, over HTTP.)
func resolveSnapshot(t testing.TB) (*manifest.Snapshot, map[string]*manifest.Build) {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, filepath.Join(fixtures, "v2"), dir)
	if err := manifesttest.WriteFiles(dir, map[string]string{
		"docs/index.html":          "<p>docs",
		"docs/guide.html":          "<p>guide",
		"page.html":                "<p>page",
		"both.html":                "<p>both page",
		"both/index.html":          "<p>both folder",
		"user/jane.doe.html":       "<p>jane",
		"404.html":                 "<p>not found",
		".well-known/security.txt": "Contact: mailto:security@example.com",
		".well-known/.secret":      "x",
		".env":                     "SECRET=1",
		"assets/.DS_Store":         "x",
	}); err != nil {
		t.Fatal(err)
	}
	builds := map[string]*manifest.Build{
		"cur": resolveBuild(t, "v2", dir),
		"old": resolveBuild(t, "v1", filepath.Join(fixtures, "v1")),
		"older": resolveTempBuild(t, "v0", map[string]string{
			"index.html":                "<title>v0</title><p>v0",
			"old-only.html":             "<p>old",
			"legacy.txt":                "legacy",
			"assets/legacy-BRh8Y3xK.js": "legacy()",
			"assets/index-BUIHxmUq.js":  "an older build's copy of the same name",
		}),
	}
	return &manifest.Snapshot{Current: builds["cur"], Live: []*manifest.Build{builds["old"], builds["older"]}}, builds
}

func TestResolve(t *testing.T) {
	snap, builds := resolveSnapshot(t)
	for _, tt := range resolveTests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := decodePath(tt.path)
			if !ok {
				t.Fatalf("decodePath(%q) refused it", tt.path)
			}
			got := resolve(snap, p, request{spa: tt.spa, header: headerOrNil(tt.header)})
			if got.outcome != tt.outcome || got.status != tt.status {
				t.Errorf("resolve(%q, spa=%v) = %s %d, want %s %d", tt.path, tt.spa, got.outcome, got.status, tt.outcome, tt.status)
			}
			var want *manifest.File
			if tt.from != "" {
				want = builds[tt.from].Files[tt.file]
				if want == nil {
					t.Fatalf("test build %s has no %s", tt.from, tt.file)
				}
			}
			if got.file != want {
				t.Errorf("resolve(%q) served the wrong file (want %s%s)", tt.path, tt.from, tt.file)
			}
		})
	}
}

// headerOrNil keeps a nil fakeHeader a nil interface: no headers at all.
func headerOrNil(h fakeHeader) headerReader {
	if h == nil {
		return nil
	}
	return h
}

// TestResolveFallbackPages: a build's 200.html (Nuxt, adapter-static) is
// the SPA fallback, then React Router's __spa-fallback.html, then
// index.html, which still answers "/".
func TestResolveFallbackPages(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []string
		want  string
	}{
		{"index only", []string{"index.html"}, "/index.html"},
		{"nuxt", []string{"index.html", "200.html", "404.html"}, "/200.html"},
		{"react router with / pre-rendered", []string{"index.html", "__spa-fallback.html"}, "/__spa-fallback.html"},
		{"both", []string{"index.html", "__spa-fallback.html", "200.html"}, "/200.html"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tt.files {
				files[f] = "<title>" + f + "</title><body><p>" + f + "</p></body>"
			}
			b := resolveTempBuild(t, "v1", files)
			snap := &manifest.Snapshot{Current: b}
			for _, p := range []string{"/about", "/user/john.doe"} {
				got := resolve(snap, p, request{spa: true, header: navigate})
				if got.outcome != outFallback || got.file != b.Files[tt.want] {
					t.Errorf("resolve(%q) = %s, want the fallback %s", p, got.outcome, tt.want)
				}
			}
			if got := resolve(snap, "/", request{spa: true, header: navigate}); got.file != b.Files["/index.html"] {
				t.Errorf("resolve(/) is not index.html")
			}
		})
	}
}

// TestResolveNoLiveBuilds: without live builds an old hashed path is an
// unknown file, never the index.
func TestResolveNoLiveBuilds(t *testing.T) {
	cur := resolveBuild(t, "v2", filepath.Join(fixtures, "v2"))
	snap := &manifest.Snapshot{Current: cur}
	for _, p := range []string{"/assets/index-BUIHxmUq.js", "/assets/about-Br9WxIf2.js"} {
		if got := resolve(snap, p, request{spa: true}); got.outcome != outUnknown || got.status != 404 || got.file != nil {
			t.Errorf("resolve(%q) = %s %d", p, got.outcome, got.status)
		}
	}
	if got := resolve(snap, "/assets/index-RI6W6SFG.js", request{spa: true}); got.file != cur.Files["/assets/index-RI6W6SFG.js"] {
		t.Errorf("current file not served: %s", got.outcome)
	}
}
