package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// writeBuild creates a build folder holding files (relative path → content).
func writeBuild(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := manifesttest.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page is an index.html whose head holds the given elements.
func page(head string) string {
	return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" + head + "\n</head>\n<body><div id=\"app\"></div></body>\n</html>\n"
}

// validateTests are builds and the exact problems Inspect must report for
// them, all at once and in a stable order: ready file, then index.html's
// references in document order, then each build manifest's outputs sorted.
var validateTests = []struct {
	name      string
	files     map[string]string
	readyFile string
	base      string   // --base; "" is "/"
	problems  []string // nil: the build is valid
}{
	{
		name:  "minimal valid build",
		files: map[string]string{"index.html": page("")},
	},
	{
		name: "a build for base /app/, served under it",
		files: map[string]string{
			"index.html":               page(`<script type="module" src="/app/assets/index-BRh8Y3xK.js"></script><link rel="icon" href="favicon.svg">`),
			"assets/index-BRh8Y3xK.js": "x", "favicon.svg": "<svg/>",
		},
		base: "/app/",
	},
	{
		name: "a build for base /app/, served at the root: the hint names the base",
		files: map[string]string{
			"index.html":               page(`<script type="module" src="/app/assets/index-BRh8Y3xK.js"></script>`),
			"assets/index-BRh8Y3xK.js": "x",
		},
		problems: []string{"index.html loads /app/assets/index-BRh8Y3xK.js, which is not in the build (it has assets/index-BRh8Y3xK.js: a build made for base /app/? serve it with --base /app/)"},
	},
	{
		name: "a build for the root, served under /app/",
		files: map[string]string{
			"index.html":               page(`<script type="module" src="/assets/index-BRh8Y3xK.js"></script>`),
			"assets/index-BRh8Y3xK.js": "x",
		},
		base:     "/app/",
		problems: []string{"index.html loads /assets/index-BRh8Y3xK.js, which is outside the base /app/ (a build made for another base? rebuild it for /app/, or serve it with --base)"},
	},
	{
		name: "under /app/, relative references resolve against the base",
		files: map[string]string{
			"index.html":           page(`<script src="./assets/a-BRh8Y3xK.js"></script><script src="assets/missing.js"></script>`),
			"assets/a-BRh8Y3xK.js": "x",
		},
		base:     "/app/",
		problems: []string{"index.html loads /app/assets/missing.js, which is not in the build"},
	},
	{
		name:     "index.html missing",
		files:    map[string]string{"assets/index-BRh8Y3xK.js": "x", "robots.txt": "x"},
		problems: []string{"index.html is missing"},
	},
	{
		name:     "empty build",
		files:    map[string]string{},
		problems: []string{"index.html is missing"},
	},
	// Issue 10: a blank site must not go live.
	{
		name:     "empty index.html",
		files:    map[string]string{"index.html": ""},
		problems: []string{"index.html is empty: every route would show a blank page"},
	},
	{
		name:     "index.html of white space and a byte-order mark",
		files:    map[string]string{"index.html": "\ufeff \n\t\r\n"},
		problems: []string{"index.html is empty: every route would show a blank page"},
	},
	{
		name:     "index.html is a text file",
		files:    map[string]string{"index.html": "Build output goes here.\nSee README.\n"},
		problems: []string{"index.html is not an HTML document: it holds no tags (plain text?)"},
	},
	{
		name:     "index.html is JSON",
		files:    map[string]string{"index.html": `{"error": "build failed", "code": 1 < 2}`},
		problems: []string{"index.html is not an HTML document: it holds no tags (plain text?)"},
	},
	{
		name: "index.html with an empty body and no script",
		files: map[string]string{
			"index.html": "<!doctype html>\n<html><head><title>App</title><link rel=\"stylesheet\" href=\"/app.css\"></head>\n" +
				"<body>\n  <!-- the app mounts here -->\n</body></html>\n",
			"app.css": "body{}",
		},
		problems: []string{"index.html would show a blank page: its <body> is empty and it loads no <script>"},
	},
	{
		name:     "index.html of a head only",
		files:    map[string]string{"index.html": "<html><head><title>App</title></head></html>"},
		problems: []string{"index.html would show a blank page: its <body> is empty and it loads no <script>"},
	},
	{
		name: "blank index.html and a missing reference: both reported",
		files: map[string]string{
			"index.html": `<html><head><link rel="stylesheet" href="/gone.css"></head><body></body></html>`,
		},
		problems: []string{
			"index.html would show a blank page: its <body> is empty and it loads no <script>",
			"index.html loads /gone.css, which is not in the build",
		},
	},
	{
		name:  "a script and an empty body is a document",
		files: map[string]string{"index.html": `<html><head><script type="module" src="/app.js"></script></head><body></body></html>`, "app.js": "x"},
	},
	{
		name:  "an inline script alone is a document",
		files: map[string]string{"index.html": `<script>document.body.textContent = "hi"</script>`},
	},
	{
		name:  "a body with text only is a document",
		files: map[string]string{"index.html": "<!doctype html><title>Down</title><p>Back soon.</p>"},
	},
	{
		name:     "index.html in a sub-folder only",
		files:    map[string]string{"dist/index.html": page("")},
		problems: []string{"index.html is missing"},
	},
	{
		name:     "missing module script",
		files:    map[string]string{"index.html": page(`<script type="module" crossorigin src="/assets/index-BRh8Y3xK.js"></script>`)},
		problems: []string{"index.html loads /assets/index-BRh8Y3xK.js, which is not in the build"},
	},
	{
		name:     "missing stylesheet",
		files:    map[string]string{"index.html": page(`<link rel="stylesheet" crossorigin href="/assets/index-BJZwVCD_.css">`)},
		problems: []string{"index.html loads /assets/index-BJZwVCD_.css, which is not in the build"},
	},
	{
		name:     "missing modulepreload",
		files:    map[string]string{"index.html": page(`<link rel="modulepreload" crossorigin href="/assets/vendor-Bb1KB3MD.js">`)},
		problems: []string{"index.html loads /assets/vendor-Bb1KB3MD.js, which is not in the build"},
	},
	{
		name:     "missing preload",
		files:    map[string]string{"index.html": page(`<link rel="preload" as="font" href="/fonts/inter-4ed993c7.woff2" crossorigin>`)},
		problems: []string{"index.html loads /fonts/inter-4ed993c7.woff2, which is not in the build"},
	},
	{
		name:     "missing icon",
		files:    map[string]string{"index.html": page(`<link rel="icon" type="image/svg+xml" href="/favicon.svg" />`)},
		problems: []string{"index.html loads /favicon.svg, which is not in the build"},
	},
	{
		name:     "missing shortcut icon, rel in upper case",
		files:    map[string]string{"index.html": page(`<LINK REL="Shortcut Icon" HREF="/favicon.ico">`)},
		problems: []string{"index.html loads /favicon.ico, which is not in the build"},
	},
	{
		name: "present references",
		files: map[string]string{
			"index.html": page(`<link rel="icon" href="/favicon.svg"><script type="module" src="/assets/index-BRh8Y3xK.js"></script>` +
				`<link rel="stylesheet" href="/assets/index-BJZwVCD_.css"><link rel="modulepreload" href="/assets/vendor-Bb1KB3MD.js">`),
			"favicon.svg":                "<svg/>",
			"assets/index-BRh8Y3xK.js":   "x",
			"assets/index-BJZwVCD_.css":  "x",
			"assets/vendor-Bb1KB3MD.js":  "x",
			"assets/unreferenced-Cx1.js": "x",
		},
	},
	{
		name: "relative, query and fragment references resolve to the file",
		files: map[string]string{
			"index.html": page(`<script src="./assets/a-BRh8Y3xK.js?v=1"></script><link rel="stylesheet" href="assets/b-BJZwVCD_.css#x">` +
				`<link rel="icon" href="favicon.svg?v=2">`),
			"assets/a-BRh8Y3xK.js":  "x",
			"assets/b-BJZwVCD_.css": "x",
			"favicon.svg":           "x",
		},
	},
	{
		name: "relative missing reference is reported absolute and without query",
		files: map[string]string{
			"index.html": page(`<script src="./assets/x.js?v=1"></script>`),
		},
		problems: []string{"index.html loads /assets/x.js, which is not in the build"},
	},
	{
		name: "external references are ignored",
		files: map[string]string{
			"index.html": page(`<script src="https://cdn.example.com/react.js"></script>` +
				`<script src="//cdn.example.com/vue.js"></script>` +
				`<link rel="stylesheet" href="http://cdn.example.com/x.css">` +
				`<link rel="icon" href="data:image/svg+xml,%3Csvg/%3E">` +
				`<link rel="preload" href="#fragment-only">` +
				`<script>console.log("inline")</script>` +
				`<script src=""></script>`),
		},
	},
	{
		name: "links that load nothing are ignored",
		files: map[string]string{
			"index.html": page(`<link rel="manifest" href="/manifest.webmanifest"><link rel="canonical" href="/home">` +
				`<link rel="apple-touch-icon" href="/apple-touch-icon.png"><a href="/about">About</a><img src="/logo.png">`),
		},
	},
	{
		name: "references inside a comment are ignored",
		files: map[string]string{
			"index.html": page(`<!-- <script src="/assets/old-BRh8Y3xK.js"></script> -->`),
		},
	},
	{
		name: "a reference named twice is reported once",
		files: map[string]string{
			"index.html": page(`<script src="/a.js"></script><link rel="modulepreload" href="/a.js"><script src="./a.js?v=2"></script>`),
		},
		problems: []string{"index.html loads /a.js, which is not in the build"},
	},
	{
		name: "every missing reference, in document order",
		files: map[string]string{
			"index.html": page(`<link rel="icon" href="/favicon.svg"><script type="module" src="/assets/index-BRh8Y3xK.js"></script>` +
				`<link rel="modulepreload" href="/assets/vendor-Bb1KB3MD.js"><link rel="stylesheet" href="/assets/index-BJZwVCD_.css">`),
			"assets/vendor-Bb1KB3MD.js": "x",
		},
		problems: []string{
			"index.html loads /favicon.svg, which is not in the build",
			"index.html loads /assets/index-BRh8Y3xK.js, which is not in the build",
			"index.html loads /assets/index-BJZwVCD_.css, which is not in the build",
		},
	},
	{
		name: "vite manifest lists a missing file",
		files: map[string]string{
			"index.html":               page(`<script type="module" src="/assets/index-BRh8Y3xK.js"></script>`),
			"assets/index-BRh8Y3xK.js": "x",
			".vite/manifest.json": `{
				"index.html": {"file": "assets/index-BRh8Y3xK.js", "isEntry": true, "css": ["assets/index-BJZwVCD_.css"]},
				"src/routes/about.js": {"file": "assets/about-Br9WxIf2.js", "isDynamicEntry": true, "assets": ["assets/logo-CbN3qA1z.svg"]}
			}`,
			"assets/index-BJZwVCD_.css": "x",
		},
		problems: []string{
			".vite/manifest.json lists assets/about-Br9WxIf2.js, which is not in the build",
			".vite/manifest.json lists assets/logo-CbN3qA1z.svg, which is not in the build",
		},
	},
	{
		name: "vite manifest cannot be parsed",
		files: map[string]string{
			"index.html":          page(""),
			".vite/manifest.json": `{"index.html": {"file": `,
		},
		problems: []string{".vite/manifest.json cannot be used: not a Vite manifest: unexpected end of JSON input"},
	},
	{
		name: "a root manifest.json is a web app manifest, not Vite's",
		files: map[string]string{
			"index.html":    page(""),
			"manifest.json": `{"name": "App", "icons": [{"src": "/icon-512.png"}]}`,
		},
	},
	{
		name: "cra asset manifest lists a missing chunk; html and a missing map are fine",
		files: map[string]string{
			"index.html":                   page(`<script defer src="/static/js/main.3f2a9c1b.js"></script>`),
			"static/js/main.3f2a9c1b.js":   "x",
			"static/css/main.073c9b0a.css": "x",
			"asset-manifest.json": `{
				"files": {
					"main.css": "/static/css/main.073c9b0a.css",
					"main.js": "/static/js/main.3f2a9c1b.js",
					"static/js/787.a1b2c3d4.chunk.js": "/static/js/787.a1b2c3d4.chunk.js",
					"main.js.map": "/static/js/main.3f2a9c1b.js.map",
					"index.html": "/index.html"
				},
				"entrypoints": ["static/css/main.073c9b0a.css", "static/js/main.3f2a9c1b.js"]
			}`,
		},
		problems: []string{"asset-manifest.json lists static/js/787.a1b2c3d4.chunk.js, which is not in the build"},
	},
	{
		name: "cra asset manifest cannot be parsed",
		files: map[string]string{
			"index.html":          page(""),
			"asset-manifest.json": `not json`,
		},
		problems: []string{"asset-manifest.json cannot be used: not an asset manifest: invalid character 'o' in literal null (expecting 'u')"},
	},
	{
		name: "manifests ignore external outputs",
		files: map[string]string{
			"index.html":          page(""),
			".vite/manifest.json": `{"x": {"file": "https://cdn.example.com/x.js"}}`,
			"asset-manifest.json": `{"files": {"x.js": "//cdn.example.com/x.js"}}`,
		},
	},
	{
		name:      "ready file missing",
		files:     map[string]string{"index.html": page("")},
		readyFile: "DEPLOYED",
		problems:  []string{`ready file "DEPLOYED" is not there yet`},
	},
	{
		name:      "ready file present",
		files:     map[string]string{"index.html": page(""), "DEPLOYED": ""},
		readyFile: "DEPLOYED",
	},
	{
		name: "every problem at once",
		files: map[string]string{
			"index.html":          page(`<script type="module" src="/assets/index-BRh8Y3xK.js"></script><link rel="stylesheet" href="/assets/index-BJZwVCD_.css">`),
			".vite/manifest.json": `{"index.html": {"file": "assets/index-BRh8Y3xK.js", "css": ["assets/index-BJZwVCD_.css"]}}`,
			"asset-manifest.json": `[`,
		},
		readyFile: ".ready",
		problems: []string{
			`ready file ".ready" is not there yet`,
			"index.html loads /assets/index-BRh8Y3xK.js, which is not in the build",
			"index.html loads /assets/index-BJZwVCD_.css, which is not in the build",
			".vite/manifest.json lists assets/index-BJZwVCD_.css, which is not in the build",
			".vite/manifest.json lists assets/index-BRh8Y3xK.js, which is not in the build",
			"asset-manifest.json cannot be used: not an asset manifest: unexpected end of JSON input",
		},
	},
}

func TestInspectProblems(t *testing.T) {
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeBuild(t, tt.files)
			_, err := NewLoader(LoaderConfig{ReadyFile: tt.readyFile, Base: tt.base}).Inspect("v9", dir)
			if tt.problems == nil {
				if err != nil {
					t.Fatalf("Inspect: %v, want a valid build", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Inspect error = %v, want an *InvalidError", err)
			}
			if inv.Version != "v9" {
				t.Errorf("InvalidError.Version = %q, want v9", inv.Version)
			}
			if !slices.Equal(inv.Problems, tt.problems) {
				t.Errorf("problems:\n got %q\nwant %q", inv.Problems, tt.problems)
			}
		})
	}
}

// TestLoadRefusesInvalid: Load returns the same InvalidError as Inspect and
// no build.
func TestLoadRefusesInvalid(t *testing.T) {
	dir := writeBuild(t, map[string]string{"index.html": page(`<script src="/gone.js"></script>`)})
	b, err := NewLoader(LoaderConfig{}).Load(t.Context(), "v9", dir)
	var inv *InvalidError
	if !errors.As(err, &inv) || b != nil {
		t.Fatalf("Load = %v, %v; want nil and an *InvalidError", b, err)
	}
	want := `build "v9" is invalid: index.html loads /gone.js, which is not in the build`
	if err.Error() != want {
		t.Errorf("error text %q, want %q", err.Error(), want)
	}
}

func TestInvalidErrorJoinsProblems(t *testing.T) {
	err := &InvalidError{Version: "v2", Problems: []string{"a is missing", "b is missing"}}
	if got, want := err.Error(), `build "v2" is invalid: a is missing; b is missing`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestInspectMissingFolder(t *testing.T) {
	_, err := NewLoader(LoaderConfig{}).Inspect("v9", filepath.Join(t.TempDir(), "nope"))
	var inv *InvalidError
	if err == nil || errors.As(err, &inv) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Inspect of a missing folder = %v, want a not-exist error that is not an InvalidError", err)
	}
}

// fixtureSummaries are the committed builds with what Inspect must say of
// them: all valid, every bundler output hashed, public/ files, HTML and
// manifests not.
var fixtureSummaries = []struct {
	dir    string
	files  int
	hashed []string
}{
	{"../fixtures/builds/v1", 8, []string{"/assets/about-Br9WxIf2.js", "/assets/index-BJZwVCD_.css", "/assets/index-BUIHxmUq.js", "/assets/report-BOLr84pY.js", "/assets/vendor-Bb1KB3MD.js"}},
	{"../fixtures/builds/v2", 8, []string{"/assets/about-DPfrhiVb.js", "/assets/index-BJZwVCD_.css", "/assets/index-RI6W6SFG.js", "/assets/report-e1RT6m6b.js", "/assets/vendor-Bb1KB3MD.js"}},
	{"../fixtures/builds/v3", 8, []string{"/assets/about-uI4s7U0r.js", "/assets/index-BJZwVCD_.css", "/assets/index-CYaBoTTt.js", "/assets/report-BZ8Qbn1F.js", "/assets/vendor-Bb1KB3MD.js"}},
	{"../fixtures/webpack-builds/w1", 8, []string{"/static/css/main.69a882dd.css", "/static/js/908.c2bf3acc.chunk.js", "/static/js/about.96107024.chunk.js", "/static/js/main.ec5f49ea.js"}},
	{"../fixtures/webpack-builds/w2", 8, []string{"/static/css/main.69a882dd.css", "/static/js/908.3959fcde.chunk.js", "/static/js/about.d1875844.chunk.js", "/static/js/main.70259edf.js"}},
	{"../fixtures/esbuild-builds/e1", 8, []string{"/chunks/about-ZIPWLCQN.js", "/chunks/chunk-E3P2ARQA.js", "/chunks/report-WIWMDTHJ.js", "/main-HAM52357.js", "/main-WUZDRTJB.css"}},
	{"../fixtures/esbuild-builds/e2", 8, []string{"/chunks/about-UDPDHZAU.js", "/chunks/chunk-E3P2ARQA.js", "/chunks/report-MMDO4MV6.js", "/main-TGHY74WK.js", "/main-WUZDRTJB.css"}},
}

func TestInspectFixtures(t *testing.T) {
	for _, tt := range fixtureSummaries {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			sum, err := NewLoader(LoaderConfig{}).Inspect(filepath.Base(tt.dir), tt.dir)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if sum.Files != tt.files {
				t.Errorf("Files = %d, want %d", sum.Files, tt.files)
			}
			if !slices.Equal(sum.Hashed, tt.hashed) {
				t.Errorf("Hashed:\n got %q\nwant %q", sum.Hashed, tt.hashed)
			}
			for _, p := range []string{"/index.html", "/favicon.svg", "/robots.txt", "/asset-manifest.json"} {
				if slices.Contains(sum.Hashed, p) {
					t.Errorf("%s is classified hashed", p)
				}
			}
			if sum.Bytes <= 0 {
				t.Errorf("Bytes = %d", sum.Bytes)
			}
		})
	}
}

// TestManifestOutputsAreHashed: a file a build manifest lists is hashed
// when its name is hash-shaped, even where the name alone would not do
// (CydqaGqh reads like two words); an unhashed entry (Vite's
// entryFileNames: '[name].js') is not; HTML never is.
func TestManifestOutputsAreHashed(t *testing.T) {
	dir := writeBuild(t, map[string]string{
		"index.html":               page(""),
		"assets/entry-CydqaGqh.js": "x",
		"static/js/plain.js":       "x",
		"other.js":                 "x",
		".vite/manifest.json":      `{"index.html": {"file": "assets/entry-CydqaGqh.js"}}`,
		"asset-manifest.json":      `{"files": {"plain.js": "/static/js/plain.js", "index.html": "/index.html"}, "entrypoints": ["static/js/plain.js"]}`,
	})
	sum, err := NewLoader(LoaderConfig{}).Inspect("v9", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/assets/entry-CydqaGqh.js"}; !slices.Equal(sum.Hashed, want) {
		t.Errorf("Hashed = %q, want %q", sum.Hashed, want)
	}
	// index.html, three JS files and asset-manifest.json; .vite/ is private.
	if sum.Files != 5 {
		t.Errorf("Files = %d, want 5", sum.Files)
	}
}
