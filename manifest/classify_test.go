package manifest

// Classify decides which files are cached for a year. The tables hold the
// default names of each bundler and framework (LIBRARIES.md §8 and §10,
// and what the fixture builds show), and names people give files, which
// must never be pinned. golden_test.go checks every file of every fixture
// build against a person's reading of it.

import (
	"bufio"
	"math/rand"
	"os"
	"strings"
	"testing"
)

var classifyTests = []struct {
	name string
	rel  string
	want bool
	rule Rule
}{
	// Vite / Rollup / Rolldown: name-[hash:8], base64url.
	{"vite chunk", "assets/index-BRh8Y3xK.js", true, RuleBase64},
	{"vite hash holding a dash", "assets/index-Bjy-W4x2.js", true, RuleBase64},
	{"vite hash starting with a dash", "assets/index--G2xPjc9.js", true, RuleBase64},
	{"vite hash of letters only", "assets/index-BJZwVCD_.css", true, RuleBase64},
	{"vite hash of letters only outside assets/", "js/index-BUIHxmUq.js", true, RuleBase64},
	{"vite dashed name", "assets/my-component-Dx3kP9aZ.js", true, RuleBase64},
	{"vite font keeps its name", "assets/Inter-SemiBold-BCw9h1aZ.woff2", true, RuleBase64},
	{"vite source map", "assets/index-BRh8Y3xK.js.map", true, RuleBase64},
	{"vite precompressed source map", "assets/index-BRh8Y3xK.js.map.gz", true, RuleBase64},
	{"older vite hex hash", "assets/index-4ed993c7.js", true, RuleHex},
	{"react router manifest", "assets/manifest-3f2a9c1b.js", true, RuleHex},
	{"react router entry", "assets/entry.client-CvTqmlHw.js", true, RuleBase64},
	// esbuild and Angular CLI: name-[HASH:8], base32.
	{"esbuild chunk", "chunk-7XQ2KJ3M.js", true, RuleBase32},
	{"esbuild hash of letters only", "chunks/about-ZIPWLCQN.js", true, RuleBase32},
	{"esbuild hash of digits at its ends", "main-HAM52357.js", true, RuleBase32},
	{"angular styles", "styles-WUZDRTJB.css", true, RuleBase32},
	{"angular main, a pronounceable hash", "main-TYAHPSAU.js", true, RuleBase32},
	{"capitals after another name", "logo-TYAHPSAU.png", false, RuleNoHash},
	// webpack, CRA, Rspack/Rsbuild, Parcel: name.[contenthash].ext, hex.
	{"cra main", "static/js/main.ec5f49ea.js", true, RuleHex},
	{"cra chunk", "static/js/908.c2bf3acc.chunk.js", true, RuleHex},
	{"cra chunk hash of decimal digits", "static/js/about.96107024.chunk.js", true, RuleHex},
	{"cra media md5", "static/media/logo.6ce24c58023cc2f8fd88fe9d219db6c6.svg", true, RuleHex},
	{"webpack 20 hex", "runtime.0123456789abcdef0123.js", true, RuleHex},
	{"webpack asset module, bare", "3f2a9c1b5d7e9f01a2b3.png", true, RuleHex},
	{"rsbuild async chunk", "static/js/async/123.abcd1234.js", true, RuleHex},
	{"rsbuild licence beside a chunk", "static/js/index.3f2a9c1b.js.LICENSE.txt", true, RuleHex},
	{"parcel", "index.975ef6c8.js", true, RuleHex},
	{"workbox runtime", "workbox-3f2a9c1b.js", true, RuleHex},
	// SvelteKit: _app/immutable/, hashes after a dot, bare chunks.
	{"sveltekit bare chunk", "_app/immutable/chunks/Pdb96Lyk.js", true, RuleFolder},
	{"sveltekit bare chunk with a dash", "_app/immutable/chunks/Bjy-W4x2.js", true, RuleFolder},
	{"sveltekit bare chunk of letters", "_app/immutable/chunks/DScwwlCP.js", true, RuleFolder},
	{"sveltekit node", "_app/immutable/nodes/3.CZrBLVbl.js", true, RuleBase64},
	{"sveltekit entry", "_app/immutable/entry/start.rvNWI7o2.js", true, RuleBase64},
	{"sveltekit asset", "_app/immutable/assets/0.C6de4N7p.css", true, RuleBase64},
	{"sveltekit asset hash like words", "_app/immutable/assets/0.CxGpAbc1.css", true, RuleFolder},
	{"sveltekit version file", "_app/version.json", false, RuleNoHash},
	// Nuxt: bare _nuxt/[hash].js, name.[hash].css; per-build files.
	{"nuxt bare chunk", "_nuxt/D5qpMb8p.js", true, RuleFolder},
	{"nuxt bare chunk in CamelCase", "_nuxt/CydqaGqh.js", true, RuleFolder},
	{"nuxt bare chunk of capitals and digits", "_nuxt/D_8PCUX6.js", true, RuleFolder},
	{"nuxt css", "_nuxt/error-404.Bb87HomL.css", true, RuleBase64},
	{"nuxt latest build", "_nuxt/builds/latest.json", false, RuleNoHash},
	{"nuxt build meta named by uuid", "_nuxt/builds/meta/0b7e6a1c-1234-4abc-9def-0123456789ab.json", false, RuleUUID},
	{"nuxt build meta named by build id", "_nuxt/builds/meta/Pdb96Lyk.json", false, RuleNoHash},
	{"uuid elsewhere", "uploads/3F2A9C1B-5D7E-4F01-A2B3-C4D5E6F70819.png", false, RuleUUID},
	// Astro.
	{"astro chunk", "_astro/Counter.BmHmUd3k.js", true, RuleBase64},
	{"astro image", "_astro/hero.BnXnGZZP_Z1Mmyim.webp", true, RuleFolder},
	{"astro hash that reads like words", "_astro/ClientRouter.astro_astro_type_script_index_0_lang.Bcn-gyid.js", true, RuleFolder},
	{"astro lower-case part", "_astro/page.settings.js", false, RuleNoHash},
	// Next.js: Turbopack and webpack under _next/static/.
	{"turbopack chunk", "_next/static/chunks/0cz1d0mv5g_q7.js", true, RuleFolder},
	{"turbopack chunk with a dash", "_next/static/chunks/08mika-44sn50.js", true, RuleFolder},
	{"turbopack runtime", "_next/static/chunks/turbopack-2u1d16houkiyo.js", true, RuleFolder},
	{"next webpack page", "_next/static/chunks/app/page-3f10fba7fea53126.js", true, RuleHex},
	{"next webpack numbered chunk", "_next/static/chunks/4bd1b696-c7408084347438ae.js", true, RuleHex},
	{"next webpack css, bare", "_next/static/css/ded6b86ab9cc0a1f.css", true, RuleHex},
	{"next font", "_next/static/media/a34f9d1faa5f3315-s.p.woff2", true, RuleHex},
	{"next build manifest under the build id", "_next/static/nt1/_buildManifest.js", false, RuleNoHash},
	{"next build manifest under a generated build id", "_next/static/AbCd-Ef_Gh12345678xyz/_ssgManifest.js", false, RuleNoHash},

	// Names people give files: never pinned for a year.
	{"font at the root", "Inter-SemiBold.woff2", false, RuleNoHash},
	{"font in fonts/", "fonts/Inter-SemiBold.woff2", false, RuleNoHash},
	{"font in assets/fonts/", "assets/fonts/Inter-SemiBold.woff2", false, RuleNoHash},
	{"variable font", "assets/Inter-Variable.woff2", false, RuleNoHash},
	{"settings", "app-settings.json", false, RuleNoHash},
	{"image size", "og-image-1200x630.png", false, RuleNoHash},
	{"favicon", "favicon.ico", false, RuleNoHash},
	{"robots", "robots.txt", false, RuleNoHash},
	{"web app manifest", "manifest.webmanifest", false, RuleNoHash},
	{"service worker", "sw.js", false, RuleNoHash},
	{"module federation entry", "remoteEntry.js", false, RuleNoHash},
	{"index", "index.html", false, RuleHTML},
	{"html is never pinned", "assets/page-BRh8Y3xK.html", false, RuleHTML},
	{"jquery", "jquery.js", false, RuleNoHash},
	{"a capitalised word, bare", "Settings.js", false, RuleNoHash},
	{"readme", "README.md", false, RuleNoHash},
	{"bare word and number", "MyLogo12.png", false, RuleNoHash},
	{"bare hash shape outside a framework folder", "Pdb96Lyk.js", false, RuleNoHash},
	{"a word in a framework folder", "_nuxt/Settings.js", false, RuleNoHash},
	{"a word with its number", "assets/slide-banner01.jpg", false, RuleNoHash},
	{"a retina image", "assets/logo-white-2x.png", false, RuleNoHash},
	{"a second version", "hero-image-v2.png", false, RuleNoHash},
	{"capitals", "icon-DOWNLOAD.svg", false, RuleNoHash},
	{"capitals and a number", "badge-ISO27001.svg", false, RuleNoHash},
	{"two words", "icon-LightBox.svg", false, RuleNoHash},
	{"a word with y", "album-Symphony.jpg", false, RuleNoHash},
	{"a lower-case word", ".eslintrc.json", false, RuleNoHash},
	{"a date after a dot", "report.20240115.pdf", false, RuleNoHash},
	{"digits after a dash", "photo-12345678.jpg", false, RuleNoHash},
	{"hex without a digit", "name.deadbeef.js", false, RuleNoHash},
	{"7 hex digits", "main.3f2a9c1.js", false, RuleNoHash},
	{"upper-case hex reads as base64url", "main.3F2A9C1B.js", true, RuleBase64},
	{"versioned library", "jquery-3.7.1.min.js", false, RuleNoHash},
	{"minified library", "react.production.min.js", false, RuleNoHash},
	{"no extension", "index-BRh8Y3xK", false, RuleNoHash},
	{"trailing dot", "index-BRh8Y3xK.", false, RuleNoHash},
	{"dotfile", ".a1b2c3d4.js", false, RuleNoHash},
	{"empty", "", false, RuleNoHash},
	{"7 characters after a dash", "a-1234567.js", false, RuleNoHash},
	{"9 characters after a dash", "a-B23456789.js", false, RuleNoHash},
	{"bad character", "index-BRh8Y3x!.js", false, RuleNoHash},
	{"extension too long", "index-BRh8Y3xK.abcdefghijklm", false, RuleNoHash},
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyTests {
		t.Run(tt.name, func(t *testing.T) {
			got, rule := Classify(tt.rel, Facts{})
			if got != tt.want || rule != tt.rule {
				t.Errorf("Classify(%q) = %v by %s, want %v by %s", tt.rel, got, rule, tt.want, tt.rule)
			}
		})
	}
}

// TestClassifyFacts: a build manifest vouches only for hash-shaped names;
// --immutable adds any file but HTML.
func TestClassifyFacts(t *testing.T) {
	globs, err := ParseGlobs([]string{"/fonts/**", "vendor/*.js", "/**/*.wasm", "/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{"assets/main.js": true, "remoteEntry.js": true, "assets/index-CydqaGqh.js": true}
	for _, tt := range []struct {
		rel  string
		want bool
		rule Rule
	}{
		{"assets/main.js", false, RuleNoHash},            // Vite entryFileNames: '[name].js'
		{"remoteEntry.js", false, RuleNoHash},            // Module Federation
		{"assets/index-CydqaGqh.js", true, RuleManifest}, // a hash that reads like words
		{"assets/other-CydqaGqh.js", false, RuleNoHash},  // the same shape, not listed
		{"fonts/Inter-SemiBold.woff2", true, RuleFlag},
		{"fonts/sub/Inter.woff2", true, RuleFlag},
		{"vendor/chart.js", true, RuleFlag},
		{"vendor/sub/chart.js", false, RuleNoHash},
		{"a/b/c/sqlite3.wasm", true, RuleFlag},
		{"sqlite3.wasm", true, RuleFlag},
		{"index.html", false, RuleHTML},
		{"_nuxt/builds/meta/0b7e6a1c-1234-4abc-9def-0123456789ab.json", false, RuleUUID},
		{"assets/index-BRh8Y3xK.js", true, RuleBase64},
	} {
		got, rule := Classify(tt.rel, Facts{Listed: listed, Immutable: globs})
		if got != tt.want || rule != tt.rule {
			t.Errorf("Classify(%q) = %v by %s, want %v by %s", tt.rel, got, rule, tt.want, tt.rule)
		}
	}
}

func TestParseGlobs(t *testing.T) {
	for _, tt := range []struct {
		patterns []string
		bad      string // part of the error, "" for none
	}{
		{[]string{"/static/**", "**/*.woff2", "/a/[a-z]?.js"}, ""},
		{[]string{""}, "empty"},
		{[]string{"/static/**.js"}, "whole segment"},
		{[]string{"/a/[z-a.js"}, "bad pattern"},
	} {
		_, err := ParseGlobs(tt.patterns)
		if (err == nil) != (tt.bad == "") || (err != nil && !strings.Contains(err.Error(), tt.bad)) {
			t.Errorf("ParseGlobs(%q) = %v, want an error with %q", tt.patterns, err, tt.bad)
		}
	}
}

// TestClassifyPlainNames places names people give the files of their
// public/ folder (testdata/plain-names.txt) where bundlers write theirs:
// none is ever pinned.
func TestClassifyPlainNames(t *testing.T) {
	f, err := os.Open("testdata/plain-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		n++
		for _, dir := range []string{"", "assets/", "static/media/", "fonts/", "assets/img/", "js/"} {
			if got, rule := Classify(dir+name, Facts{}); got {
				t.Errorf("Classify(%q) = immutable by %s", dir+name, rule)
			}
		}
	}
	if n < 100 {
		t.Fatalf("testdata/plain-names.txt has %d names", n)
	}
}

// TestClassifyRandomHashes: Rollup's hashes are random; the rules that keep
// words out must still let nearly all of them in (a hash taken for a word
// is only revalidated, but every one costs a round trip per page load).
func TestClassifyRandomHashes(t *testing.T) {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	rng := rand.New(rand.NewSource(8))
	for _, tt := range []struct {
		alphabet, format string
		min              float64
	}{
		{b64, "assets/index-%s.js", 0.90},
		{b64, "_app/immutable/nodes/3.%s.js", 0.90},
		{b64, "_app/immutable/chunks/%s.js", 0.93},
		{b64, "_nuxt/%s.js", 0.93},
		{b32, "chunk-%s.js", 0.90},
	} {
		const n = 4000
		ok := 0
		for range n {
			b := make([]byte, 8)
			for i := range b {
				b[i] = tt.alphabet[rng.Intn(len(tt.alphabet))]
			}
			if h, _ := Classify(strings.Replace(tt.format, "%s", string(b), 1), Facts{}); h {
				ok++
			}
		}
		if rate := float64(ok) / n; rate < tt.min {
			t.Errorf("%s: %.3f of random hashes recognised, want at least %.2f", tt.format, rate, tt.min)
		}
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
