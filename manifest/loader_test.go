package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest/manifesttest"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

const fixtureV1 = "../fixtures/builds/v1"

func load(t *testing.T, l *Loader, version, dir string) *Build {
	t.Helper()
	b, err := l.Load(t.Context(), version, dir)
	if err != nil {
		t.Fatalf("Load %s: %v", dir, err)
	}
	return b
}

// copyBuild copies a folder, keeping modification times (as cp -a does).
func copyBuild(t *testing.T, src, dst string) {
	t.Helper()
	if err := manifesttest.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	return readAll(t, brotli.NewReader(bytes.NewReader(b)))
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, r)
}

func TestLoadFixtureFiles(t *testing.T) {
	b := load(t, NewLoader(LoaderConfig{}), "v1", fixtureV1)
	want := []string{
		"/assets/about-Br9WxIf2.js", "/assets/index-BJZwVCD_.css", "/assets/index-BUIHxmUq.js",
		"/assets/report-BOLr84pY.js", "/assets/vendor-Bb1KB3MD.js",
		"/favicon.svg", "/index.html", "/robots.txt",
	}
	if got := slices.Sorted(maps.Keys(b.Files)); !slices.Equal(got, want) {
		t.Fatalf("Files keys:\n got %q\nwant %q", got, want)
	}
	if b.Version != "v1" || b.Dir != fixtureV1 {
		t.Errorf("Version, Dir = %q, %q", b.Version, b.Dir)
	}
	if want := want[:5]; !slices.Equal(b.Hashed, want) {
		t.Errorf("Hashed = %q, want %q", b.Hashed, want)
	}
	var total int64
	for p, f := range b.Files {
		if f.Hashed != slices.Contains(b.Hashed, p) {
			t.Errorf("%s: File.Hashed = %v, disagrees with Build.Hashed", p, f.Hashed)
		}
		total += f.Identity.Size
	}
	if b.Bytes != total || total != 18484 {
		t.Errorf("Bytes = %d, sum of sizes %d, want 18484", b.Bytes, total)
	}
	if b.Reused != 0 {
		t.Errorf("Reused = %d on a fresh loader", b.Reused)
	}
	// Summary and Inspect agree with Load.
	sum, err := NewLoader(LoaderConfig{}).Inspect("v1", fixtureV1)
	if err != nil {
		t.Fatal(err)
	}
	if s := SummaryOf(b); s.Files != sum.Files || s.Bytes != sum.Bytes || !slices.Equal(s.Hashed, sum.Hashed) {
		t.Errorf("SummaryOf(Load) = %+v, Inspect = %+v", s, sum)
	}
}

var contentTypeTests = []struct {
	path string
	want string
}{
	{"/index.html", "text/html; charset=utf-8"},
	{"/assets/index-BUIHxmUq.js", "text/javascript; charset=utf-8"},
	{"/assets/index-BJZwVCD_.css", "text/css; charset=utf-8"},
	{"/favicon.svg", "image/svg+xml; charset=utf-8"},
	{"/robots.txt", "text/plain; charset=utf-8"},
}

func TestLoadContentTypes(t *testing.T) {
	b := load(t, NewLoader(LoaderConfig{}), "v1", fixtureV1)
	for _, tt := range contentTypeTests {
		t.Run(tt.path, func(t *testing.T) {
			f := b.Files[tt.path]
			if f == nil {
				t.Fatalf("no file %s", tt.path)
			}
			if f.ContentType != tt.want {
				t.Errorf("ContentType = %q, want %q", f.ContentType, tt.want)
			}
			if !f.Compressible {
				t.Errorf("%s not compressible", tt.path)
			}
		})
	}
}

var etagShape = regexp.MustCompile(`^"[A-Za-z0-9_-]{16}"$`)

// TestLoadETags: the strong ETag is the quoted base64url SHA-256 prefix of
// the identity bytes; each coding has its own tag (RFC 9110 §8.8.3).
func TestLoadETags(t *testing.T) {
	b := load(t, NewLoader(LoaderConfig{}), "v1", fixtureV1)
	for p, f := range b.Files {
		data, err := os.ReadFile(filepath.Join(fixtureV1, p))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		hash := base64.RawURLEncoding.EncodeToString(sum[:12])
		if f.Hash != hash {
			t.Errorf("%s: Hash = %q, want %q", p, f.Hash, hash)
		}
		if !etagShape.MatchString(f.Identity.ETag) || f.Identity.ETag != `"`+hash+`"` {
			t.Errorf("%s: identity ETag %q, want %q", p, f.Identity.ETag, `"`+hash+`"`)
		}
		if f.Brotli != nil && f.Brotli.ETag != `"`+hash+`.br"` {
			t.Errorf("%s: br ETag %q", p, f.Brotli.ETag)
		}
		if f.Gzip != nil && f.Gzip.ETag != `"`+hash+`.gz"` {
			t.Errorf("%s: gzip ETag %q", p, f.Gzip.ETag)
		}
		info, err := os.Stat(filepath.Join(fixtureV1, p))
		if err != nil {
			t.Fatal(err)
		}
		if !f.ModTime.Equal(info.ModTime()) {
			t.Errorf("%s: ModTime %v, want %v", p, f.ModTime, info.ModTime())
		}
	}
}

// TestLoadVariants: JS, CSS and HTML get brotli and gzip variants at load,
// smaller than the identity and decoding to exactly its bytes.
func TestLoadVariants(t *testing.T) {
	b := load(t, NewLoader(LoaderConfig{}), "v1", fixtureV1)
	for p, f := range b.Files {
		t.Run(p, func(t *testing.T) {
			id := f.Identity.Bytes()
			if id == nil {
				t.Fatal("identity not in memory")
			}
			ext := filepath.Ext(p)
			if ext == ".js" || ext == ".css" || ext == ".html" {
				if f.Brotli == nil || f.Gzip == nil {
					t.Fatalf("br %v, gzip %v: want both variants", f.Brotli != nil, f.Gzip != nil)
				}
			}
			if len(id) < 128 && (f.Brotli != nil || f.Gzip != nil) {
				t.Errorf("a %d-byte file has compressed variants", len(id))
			}
			for _, v := range []struct {
				rep    *Representation
				enc    Encoding
				decode func(*testing.T, []byte) []byte
			}{{f.Brotli, Brotli, unbrotli}, {f.Gzip, Gzip, gunzip}} {
				if v.rep == nil {
					continue
				}
				if v.rep.Encoding != v.enc || f.Variant(v.enc) != v.rep {
					t.Errorf("%s variant: Encoding %v, Variant() mismatch", v.enc.Token(), v.rep.Encoding)
				}
				if v.rep.Size != int64(len(v.rep.Bytes())) || v.rep.Size >= f.Identity.Size {
					t.Errorf("%s: size %d (%d bytes), identity %d", v.enc.Token(), v.rep.Size, len(v.rep.Bytes()), f.Identity.Size)
				}
				if got := v.decode(t, v.rep.Bytes()); !bytes.Equal(got, id) {
					t.Errorf("%s variant decodes to %d bytes that differ from the identity", v.enc.Token(), len(got))
				}
			}
			if f.Variant(Identity) != f.Identity {
				t.Error("Variant(Identity) is not Identity")
			}
		})
	}
}

func TestLoadSkipsPrivateFiles(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, fixtureV1, dir)
	if err := manifesttest.WriteFiles(dir, map[string]string{
		".env":                      "SECRET=1",
		".git/config":               "[core]",
		"assets/.DS_Store":          "x",
		".well-known/security.txt":  "Contact: mailto:security@example.com",
		".well-known/.secret":       "x",
		"assets/deep/dir/file.json": "{}",
	}); err != nil {
		t.Fatal(err)
	}
	b := load(t, NewLoader(LoaderConfig{}), "v1", dir)
	for _, p := range []string{"/.vite/manifest.json", "/.env", "/.git/config", "/assets/.DS_Store", "/.well-known/.secret"} {
		if b.Files[p] != nil {
			t.Errorf("%s is served", p)
		}
	}
	for _, p := range []string{"/.well-known/security.txt", "/assets/deep/dir/file.json"} {
		if b.Files[p] == nil {
			t.Errorf("%s is not served", p)
		}
	}
}

func TestLoadSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("outside the build"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyBuild(t, fixtureV1, dir)
	up, err := filepath.Rel(filepath.Join(dir, "assets"), outside)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"leak.txt":             outside,                     // absolute, outside
		"assets/up.txt":        up,                          // relative, outside
		"alias.js":             "assets/vendor-Bb1KB3MD.js", // inside, relative
		"assets/alias-abs.css": filepath.Join(dir, "assets", "index-BJZwVCD_.css"),
		"dirlink":              "assets", // a folder: not a file of the build
		"dangling.js":          "nowhere.js",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The links must really resolve outside, or the cases prove nothing.
	for _, link := range []string{"leak.txt", "assets/up.txt"} {
		if b, err := os.ReadFile(filepath.Join(dir, link)); err != nil || string(b) != "outside the build" {
			t.Fatalf("%s reads %q, %v", link, b, err)
		}
	}
	b := load(t, NewLoader(LoaderConfig{}), "v1", dir)
	for _, p := range []string{"/leak.txt", "/assets/up.txt", "/dirlink", "/dirlink/vendor-Bb1KB3MD.js", "/dangling.js"} {
		if f := b.Files[p]; f != nil {
			t.Errorf("%s is part of the build", p)
		}
	}
	for link, real := range map[string]string{"/alias.js": "/assets/vendor-Bb1KB3MD.js", "/assets/alias-abs.css": "/assets/index-BJZwVCD_.css"} {
		f := b.Files[link]
		if f == nil {
			t.Errorf("%s (a symlink inside the build) is not followed", link)
			continue
		}
		if !bytes.Equal(f.Identity.Bytes(), b.Files[real].Identity.Bytes()) {
			t.Errorf("%s does not hold %s's bytes", link, real)
		}
	}
}

// TestLoadPrecompressedSiblings: a build's own x.br/x.gz are x's variants,
// byte for byte, and not URLs of their own.
func TestLoadPrecompressedSiblings(t *testing.T) {
	js := strings.Repeat("export const answer = 42;\n", 40)
	br := []byte("pretend brotli: the loader must not recompress or check it")
	gz := []byte("pretend gzip")
	dir := writeBuild(t, map[string]string{
		"index.html":                     page(`<script type="module" src="/assets/app-BRh8Y3xK.js"></script>`),
		"assets/app-BRh8Y3xK.js":         js,
		"assets/app-BRh8Y3xK.js.br":      string(br),
		"assets/app-BRh8Y3xK.js.gz":      string(gz),
		"assets/only-gz-4ed993c7.css":    strings.Repeat("a{color:red}\n", 40),
		"assets/only-gz-4ed993c7.css.gz": "gz sibling",
		"orphan.txt.gz":                  "no orphan.txt beside it",
	})
	b := load(t, NewLoader(LoaderConfig{}), "v1", dir)
	f := b.Files["/assets/app-BRh8Y3xK.js"]
	if f == nil {
		t.Fatal("no /assets/app-BRh8Y3xK.js")
	}
	if f.Brotli == nil || !bytes.Equal(f.Brotli.Bytes(), br) || f.Brotli.Size != int64(len(br)) {
		t.Errorf("brotli variant is not the sibling's bytes: %v", f.Brotli)
	}
	if f.Gzip == nil || !bytes.Equal(f.Gzip.Bytes(), gz) {
		t.Errorf("gzip variant is not the sibling's bytes: %v", f.Gzip)
	}
	if f.Brotli != nil && f.Brotli.ETag != `"`+f.Hash+`.br"` {
		t.Errorf("sibling ETag %q", f.Brotli.ETag)
	}
	if string(f.Identity.Bytes()) != js {
		t.Error("identity is not the file's bytes")
	}
	css := b.Files["/assets/only-gz-4ed993c7.css"]
	if css == nil || css.Gzip == nil || string(css.Gzip.Bytes()) != "gz sibling" || css.Brotli != nil {
		t.Errorf("a lone .gz sibling: gzip %v, brotli %v; want the sibling and no brotli", css.Gzip, css.Brotli)
	}
	for _, p := range []string{"/assets/app-BRh8Y3xK.js.br", "/assets/app-BRh8Y3xK.js.gz", "/assets/only-gz-4ed993c7.css.gz"} {
		if b.Files[p] != nil {
			t.Errorf("sibling %s is served as its own URL", p)
		}
	}
	if b.Files["/orphan.txt.gz"] == nil {
		t.Error("a .gz without its base file is a file of the build")
	}
	sum, err := NewLoader(LoaderConfig{}).Inspect("v1", dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != len(b.Files) {
		t.Errorf("Inspect counts %d files, Load serves %d", sum.Files, len(b.Files))
	}
}

func TestLoadTransformHTML(t *testing.T) {
	const marker = "<!-- transformed -->"
	var (
		mu    sync.Mutex
		calls []string
	)
	l := NewLoader(LoaderConfig{TransformHTML: func(version string, doc []byte) []byte {
		mu.Lock() // Load prepares files from many goroutines
		calls = append(calls, version)
		mu.Unlock()
		return append([]byte(marker+version), doc...)
	}})
	dir := t.TempDir()
	copyBuild(t, fixtureV1, dir)
	if err := os.WriteFile(filepath.Join(dir, "about.htm"), []byte(strings.Repeat("<p>about</p>", 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := load(t, l, "v7", dir)
	for p, f := range b.Files {
		orig, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		want := orig
		if IsHTML(p) {
			want = append([]byte(marker+"v7"), orig...)
		}
		if !bytes.Equal(f.Identity.Bytes(), want) {
			t.Errorf("%s: identity %.60q..., want %.60q...", p, f.Identity.Bytes(), want)
		}
		if f.Identity.Size != int64(len(want)) {
			t.Errorf("%s: Size %d, want %d", p, f.Identity.Size, len(want))
		}
		if f.Brotli != nil && !bytes.Equal(unbrotli(t, f.Brotli.Bytes()), want) {
			t.Errorf("%s: brotli variant is not of the transformed bytes", p)
		}
		if f.Gzip != nil && !bytes.Equal(gunzip(t, f.Gzip.Bytes()), want) {
			t.Errorf("%s: gzip variant is not of the transformed bytes", p)
		}
	}
	if len(calls) != 2 {
		t.Errorf("TransformHTML ran %d times (%q), want 2 (index.html, about.htm)", len(calls), calls)
	}
}

// TestLoadReusesContent: a second build sharing unchanged files with the
// first (copied with their times) shares their prepared content.
func TestLoadReusesContent(t *testing.T) {
	root := t.TempDir()
	dirA, dirB := filepath.Join(root, "a"), filepath.Join(root, "b")
	copyBuild(t, fixtureV1, dirA)
	copyBuild(t, fixtureV1, dirB)
	changed := filepath.Join(dirB, "robots.txt")
	if err := os.WriteFile(changed, []byte("User-agent: *\nDisallow: /private\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(LoaderConfig{})
	a := load(t, l, "a", dirA)
	b := load(t, l, "b", dirB)
	if b.Reused != len(b.Files)-1 {
		t.Errorf("Reused = %d, want %d (every file but robots.txt)", b.Reused, len(b.Files)-1)
	}
	for p, fb := range b.Files {
		fa := a.Files[p]
		if same := fa.Content == fb.Content; same == (p == "/robots.txt") {
			t.Errorf("%s: shares content = %v", p, same)
		}
	}
	if got := string(b.Files["/robots.txt"].Identity.Bytes()); !strings.Contains(got, "/private") {
		t.Errorf("b's robots.txt = %q, the old content", got)
	}

	// Same bytes under another time: read again, but the same prepared
	// content, Last-Modified included, so caches holding a's copy stay
	// valid. The same bytes as another type are a content of their own.
	dirC := filepath.Join(root, "c")
	copyBuild(t, fixtureV1, dirC)
	js := filepath.Join(dirC, "assets", "report-BOLr84pY.js")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(js, later, later); err != nil {
		t.Fatal(err)
	}
	jsBytes, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirC, "report.txt"), jsBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, l, "c", dirC)
	fa, fc := a.Files["/assets/report-BOLr84pY.js"], c.Files["/assets/report-BOLr84pY.js"]
	if fa.Content != fc.Content {
		t.Error("the same bytes under a new time were prepared again")
	}
	txt := c.Files["/report.txt"]
	if txt.Content == fa.Content || txt.ContentType != "text/plain; charset=utf-8" || txt.Hash != fa.Hash {
		t.Errorf("the same bytes as text: shared %v, type %q", txt.Content == fa.Content, txt.ContentType)
	}
	if c.Reused != len(c.Files)-1 {
		t.Errorf("c: Reused = %d, want %d (all but report.txt)", c.Reused, len(c.Files)-1)
	}

	// Retain forgets what no kept build uses: a's robots.txt (c reused
	// it, b has its own) is prepared anew when a is loaded again; what b
	// shares with a is still reused.
	l.Retain([]*Build{b})
	a2 := load(t, l, "a", dirA)
	if a2.Files["/robots.txt"].Content == a.Files["/robots.txt"].Content {
		t.Error("Retain kept content only forgotten builds used")
	}
	if a2.Files["/index.html"].Content != b.Files["/index.html"].Content {
		t.Error("Retain dropped content a kept build uses")
	}
	if a2.Reused != len(a2.Files)-1 {
		t.Errorf("a2: Reused = %d, want %d", a2.Reused, len(a2.Files)-1)
	}
}

func statTime(t *testing.T, p string) time.Time {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

// TestLoadLargeFile: a file over MaxMemoryFile stays on disk, is not
// compressed, and reads back right at any offset.
func TestLoadLargeFile(t *testing.T) {
	big := make([]byte, 4096)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	dir := writeBuild(t, map[string]string{
		"index.html":               page(`<script src="/assets/big-BRh8Y3xK.js"></script>`),
		"assets/big-BRh8Y3xK.js":   string(big),
		"assets/small-BRh8Y3xK.js": "small",
	})
	b := load(t, NewLoader(LoaderConfig{MaxMemoryFile: 1024}), "v1", dir)
	f := b.Files["/assets/big-BRh8Y3xK.js"]
	if f == nil {
		t.Fatal("no big file")
	}
	if f.Identity.Bytes() != nil {
		t.Error("a file over MaxMemoryFile is in memory")
	}
	if f.Brotli != nil || f.Gzip != nil {
		t.Error("a file-backed file was compressed at load")
	}
	if f.Identity.Size != int64(len(big)) {
		t.Errorf("Size = %d, want %d", f.Identity.Size, len(big))
	}
	sum := sha256.Sum256(big)
	if want := base64.RawURLEncoding.EncodeToString(sum[:12]); f.Hash != want {
		t.Errorf("Hash = %q, want %q (hash of the streamed bytes)", f.Hash, want)
	}
	for _, r := range []struct{ off, n int64 }{{0, 4096}, {0, 1}, {10, 20}, {1000, 2000}, {4095, 1}, {4096, 0}} {
		got := readAll(t, f.Identity.Reader(r.off, r.n))
		if want := big[r.off : r.off+r.n]; !bytes.Equal(got, want) {
			t.Errorf("Reader(%d, %d) = %.20q, want %.20q", r.off, r.n, got, want)
		}
	}
	if small := b.Files["/assets/small-BRh8Y3xK.js"]; small == nil || string(small.Identity.Bytes()) != "small" {
		t.Error("a small file is not in memory")
	}
	// An in-memory representation reads the same way.
	idx := b.Files["/index.html"].Identity
	if got := readAll(t, idx.Reader(2, 7)); !bytes.Equal(got, idx.Bytes()[2:9]) {
		t.Errorf("in-memory Reader(2, 7) = %q", got)
	}
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b, err := NewLoader(LoaderConfig{}).Load(ctx, "v1", fixtureV1)
	if err == nil || b != nil {
		t.Fatalf("Load with a canceled context = %v, %v; want an error", b, err)
	}
}
