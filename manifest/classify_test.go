package manifest

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hashedNameTests are last path segments and whether IsHashedName must
// call them content-hashed. Shapes come from what Vite/Rollup, webpack/CRA
// and esbuild emit by default, and from the committed fixture builds.
var hashedNameTests = []struct {
	name string
	in   string
	want bool
}{
	// Vite / Rollup: name-[hash:8] in base64url.
	{"vite js", "index-BRh8Y3xK.js", true},
	{"vite hash of letters only, outside assets/", "index-BJZwVCD_.css", false},
	{"vite hash with dash inside", "index-B-h8Y3xK.js", true},
	{"vite old hex hash", "index-4ed993c7.js", true},
	{"vite source map", "index-BRh8Y3xK.js.map", true},
	{"vite dashed name", "my-component-Dx3kP9aZ.js", true},
	{"vite asset", "logo-CbN3qA1z.svg", true},
	{"vite hash upper-case only", "index-ABCDEFGH.js", true},
	{"digits only: a date or a number, not a hash", "index-12345678.js", false},
	// webpack / CRA: name.[contenthash].ext, 8..32 hex digits.
	{"cra main js", "main.3f2a9c1b.js", true},
	{"cra numbered chunk", "787.a1b2c3d4.chunk.js", true},
	{"cra chunk css", "main.073c9b0a.chunk.css", true},
	{"cra chunk source map", "787.a1b2c3d4.chunk.js.map", true},
	{"cra media md5", "logo.6ce24c58023cc2f8fd88fe9d219db6c6.svg", true},
	{"cra hash 20 hex", "runtime.0123456789abcdef0123.js", true},
	{"webpack precompressed", "main.3f2a9c1b.js.gz", true},
	// esbuild: name-[HASH:8] in base32.
	{"esbuild chunk", "chunk-7XQ2KJ3M.js", true},
	{"esbuild letters only", "about-ZIPWLCQN.js", true},
	{"esbuild css", "main-WUZDRTJB.css", true},

	// Ordinary names.
	{"index.html", "index.html", false},
	{"favicon", "favicon.svg", false},
	{"robots", "robots.txt", false},
	{"hash-length lower-case word", "app-settings.json", false},
	{"service worker", "service-worker.js", false},
	{"apple touch icon", "apple-touch-icon.png", false},
	{"jquery min", "jquery.min.js", false},
	{"react production min", "react.production.min.js", false},
	{"jquery versioned", "jquery-3.7.1.min.js", false},
	{"web app manifest", "manifest.webmanifest", false},
	{"dotfile", ".hidden", false},
	{"dotfile with hash shape", ".a1b2c3d4.js", false},
	{"no extension", "noext", false},
	{"no extension with hash shape", "index-BRh8Y3xK", false},
	{"empty", "", false},
	{"only a dot", ".", false},
	{"trailing dot", "index-BRh8Y3xK.", false},
	{"7 char dash hash", "a-1234567.js", false},
	{"9 char dash hash", "a-123456789.js", false},
	{"dash hash with nothing before", "-BRh8Y3xK.js", false},
	{"dash hash with bad char", "index-BRh8Y3x!.js", false},
	// Documented choice: a hash must carry a digit (hex) or a digit or
	// upper-case letter (base64url/base32), so words are never hashes.
	{"hex without digit", "name.deadbeef.js", false},
	{"7 hex digits", "main.3f2a9c1.js", false},
	{"33 hex digits", "logo.6ce24c58023cc2f8fd88fe9d219db6c6a.svg", false},
	{"upper-case hex is not webpack", "main.3F2A9C1B.js", false},
	{"three extensions deep", "index-BRh8Y3xK.js.map.gz", false},
	{"extension too long", "index-BRh8Y3xK.abcdefghijklm", false},
	{"extension with dash", "index-BRh8Y3xK.j-s", false},
}

var hashedPathTests = []struct {
	name string
	in   string
	want bool
}{
	{"vite letters-only hash under assets/", "assets/index-BJZwVCD_.css", true},
	{"vite letters-only hash under nested assets/", "app/assets/index-BUIHxmUq.js", true},
	{"vite hash with digit anywhere", "js/index-BRh8Y3xK.js", true},
	{"camel-case font name in fonts/", "fonts/Inter-SemiBold.woff2", false},
	{"camel-case font name at the root", "OpenSans-Semibold.ttf", false},
	{"all lower case under assets/", "assets/app-settings.json", false},
	{"image size under assets/", "assets/og-image-1200x630.png", false},
	{"esbuild base32 without digit", "chunks/about-ZIPWLCQN.js", true},
	{"folder merely containing assets", "myassets/index-BJZwVCD_.css", false},
}

func TestHashedPath(t *testing.T) {
	for _, tt := range hashedPathTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HashedPath(tt.in); got != tt.want {
				t.Errorf("HashedPath(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsHashedName(t *testing.T) {
	for _, tt := range hashedNameTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHashedName(tt.in); got != tt.want {
				t.Errorf("IsHashedName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// fixtureFiles lists every file of a committed fixture build, relative and
// slash-separated.
func fixtureFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestHashedPathFixtures classifies every file the real bundlers wrote
// into the fixtures: the ones under the bundlers' output folders are hashed,
// the ones copied from public/ (and the HTML and manifests) are not.
func TestHashedPathFixtures(t *testing.T) {
	for _, tt := range []struct {
		dir         string
		hashedUnder string // prefix of the files that must be hashed; others must not
	}{
		{"../fixtures/builds/v1", "assets/"},
		{"../fixtures/builds/v2", "assets/"},
		{"../fixtures/builds/v3", "assets/"},
		{"../fixtures/webpack-builds/w1", "static/"},
		{"../fixtures/webpack-builds/w2", "static/"},
		{"../fixtures/esbuild-builds/e1", ""},
		{"../fixtures/esbuild-builds/e2", ""},
	} {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			files := fixtureFiles(t, tt.dir)
			if len(files) < 5 {
				t.Fatalf("fixture %s has only %d files: %v", tt.dir, len(files), files)
			}
			for _, rel := range files {
				name := rel[strings.LastIndexByte(rel, '/')+1:]
				want := strings.HasPrefix(rel, tt.hashedUnder)
				if tt.hashedUnder == "" { // esbuild: only its own outputs are .js/.css
					want = strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css")
				}
				if got := HashedPath(rel); got != want {
					t.Errorf("HashedPath(%q) = %v, want %v", rel, got, want)
				}
			}
		})
	}
}

var validVersionTests = []struct {
	name string
	in   string
	want bool
}{
	{"simple", "v1", true},
	{"digit first", "1", true},
	{"git sha", "21bfd2c", true},
	{"timestamp", "20260213T210345Z", true},
	{"semver with pre-release", "v1.2.3-rc_1", true},
	{"upper-case", "RELEASE", true},
	{"dots inside", "a..b", true},
	{"128 chars", strings.Repeat("a", 128), true},
	{"129 chars", strings.Repeat("a", 129), false},
	{"empty", "", false},
	{"leading dot", ".skewless", false},
	{"dot", ".", false},
	{"dot dot", "..", false},
	{"leading underscore", "_scratch", false},
	{"leading dash", "-v1", false},
	{"space", "v 1", false},
	{"slash", "v/1", false},
	{"backslash", `v\1`, false},
	{"NUL", "v1\x00", false},
	{"colon", "v:1", false},
	{"non-ASCII", "vé", false},
	{"percent", "v%31", false},
}

func TestValidVersion(t *testing.T) {
	for _, tt := range validVersionTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidVersion(tt.in); got != tt.want {
				t.Errorf("ValidVersion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
