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

// newLoader returns a loader closed when the test ends.
func newLoader(t testing.TB, cfg LoaderConfig) *Loader {
	t.Helper()
	l := NewLoader(cfg)
	t.Cleanup(l.Close)
	return l
}

// loadCompressed loads a build and waits for its best variants.
func loadCompressed(t *testing.T, l *Loader, version, dir string) *Build {
	t.Helper()
	b := load(t, l, version, dir)
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
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
	b := load(t, newLoader(t, LoaderConfig{}), "v1", fixtureV1)
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
	if b.Bytes != total || total != 19494 {
		t.Errorf("Bytes = %d, sum of sizes %d, want 19494", b.Bytes, total)
	}
	if b.Reused != 0 {
		t.Errorf("Reused = %d on a fresh loader", b.Reused)
	}
	// Summary and Inspect agree with Load.
	sum, err := newLoader(t, LoaderConfig{}).Inspect("v1", fixtureV1)
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
	b := load(t, newLoader(t, LoaderConfig{}), "v1", fixtureV1)
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
	l := newLoader(t, LoaderConfig{})
	b := load(t, l, "v1", fixtureV1)
	fast := map[string]string{}
	for p, f := range b.Files {
		if gz := f.Variant(Gzip); gz != nil {
			fast[p] = gz.ETag
		}
	}
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
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
		if br := f.Variant(Brotli); br != nil && br.ETag != `"`+hash+`.br"` {
			t.Errorf("%s: br ETag %q", p, br.ETag)
		}
		if gz := f.Variant(Gzip); gz != nil && gz.ETag != `"`+hash+`.gz"` {
			t.Errorf("%s: gzip ETag %q", p, gz.ETag)
		}
		// The fast gzip a build goes live with is other bytes than the
		// final one: another strong tag, that still revalidates.
		if tag, ok := fast[p]; ok && (tag != `"`+hash+`.gz1"` || !f.MatchesETag(tag)) {
			t.Errorf("%s: fast gzip ETag %q", p, tag)
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
	b := loadCompressed(t, newLoader(t, LoaderConfig{}), "v1", fixtureV1)
	for p, f := range b.Files {
		t.Run(p, func(t *testing.T) {
			vs := f.Variants()
			if !vs.Final || vs.Identity != f.Identity {
				t.Fatalf("variants: final %v, identity %p (want %p)", vs.Final, vs.Identity, f.Identity)
			}
			id := f.Identity.Bytes()
			if id == nil {
				t.Fatal("identity not in memory")
			}
			ext := filepath.Ext(p)
			if ext == ".js" || ext == ".css" || ext == ".html" {
				if vs.Brotli == nil || vs.Gzip == nil {
					t.Fatalf("br %v, gzip %v: want both variants", vs.Brotli != nil, vs.Gzip != nil)
				}
			}
			if len(id) < 128 && vs.Compressed() {
				t.Errorf("a %d-byte file has compressed variants", len(id))
			}
			for _, v := range []struct {
				rep    *Representation
				enc    Encoding
				decode func(*testing.T, []byte) []byte
			}{{vs.Brotli, Brotli, unbrotli}, {vs.Gzip, Gzip, gunzip}} {
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
	b := load(t, newLoader(t, LoaderConfig{}), "v1", dir)
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
	b := load(t, newLoader(t, LoaderConfig{}), "v1", dir)
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
	// Siblings are there as Load returns: nothing waits for them.
	b := load(t, newLoader(t, LoaderConfig{}), "v1", dir)
	f := b.Files["/assets/app-BRh8Y3xK.js"]
	if f == nil {
		t.Fatal("no /assets/app-BRh8Y3xK.js")
	}
	vs := f.Variants()
	if !vs.Final || !f.Negotiated {
		t.Errorf("siblings: final %v, negotiated %v; want both", vs.Final, f.Negotiated)
	}
	if vs.Brotli == nil || !bytes.Equal(vs.Brotli.Bytes(), br) || vs.Brotli.Size != int64(len(br)) {
		t.Errorf("brotli variant is not the sibling's bytes: %v", vs.Brotli)
	}
	if vs.Gzip == nil || !bytes.Equal(vs.Gzip.Bytes(), gz) {
		t.Errorf("gzip variant is not the sibling's bytes: %v", vs.Gzip)
	}
	if vs.Brotli != nil && vs.Brotli.ETag != `"`+f.Hash+`.br"` {
		t.Errorf("sibling ETag %q", vs.Brotli.ETag)
	}
	if string(f.Identity.Bytes()) != js {
		t.Error("identity is not the file's bytes")
	}
	css := b.Files["/assets/only-gz-4ed993c7.css"]
	if css == nil {
		t.Fatal("no /assets/only-gz-4ed993c7.css")
	}
	if cv := css.Variants(); cv.Gzip == nil || string(cv.Gzip.Bytes()) != "gz sibling" || cv.Brotli != nil {
		t.Errorf("a lone .gz sibling: gzip %v, brotli %v; want the sibling and no brotli", cv.Gzip, cv.Brotli)
	}
	for _, p := range []string{"/assets/app-BRh8Y3xK.js.br", "/assets/app-BRh8Y3xK.js.gz", "/assets/only-gz-4ed993c7.css.gz"} {
		if b.Files[p] != nil {
			t.Errorf("sibling %s is served as its own URL", p)
		}
	}
	if b.Files["/orphan.txt.gz"] == nil {
		t.Error("a .gz without its base file is a file of the build")
	}
	sum, err := newLoader(t, LoaderConfig{}).Inspect("v1", dir)
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
	l := newLoader(t, LoaderConfig{TransformHTML: func(version string, doc []byte) []byte {
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
	b := loadCompressed(t, l, "v7", dir)
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
		if br := f.Variant(Brotli); br != nil && !bytes.Equal(unbrotli(t, br.Bytes()), want) {
			t.Errorf("%s: brotli variant is not of the transformed bytes", p)
		}
		if gz := f.Variant(Gzip); gz != nil && !bytes.Equal(gunzip(t, gz.Bytes()), want) {
			t.Errorf("%s: gzip variant is not of the transformed bytes", p)
		}
	}
	if len(calls) != 2 {
		t.Errorf("TransformHTML ran %d times (%q), want 2 (index.html, about.htm)", len(calls), calls)
	}
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
	b := load(t, newLoader(t, LoaderConfig{MaxMemoryFile: 1024}), "v1", dir)
	f := b.Files["/assets/big-BRh8Y3xK.js"]
	if f == nil {
		t.Fatal("no big file")
	}
	if f.Identity.Bytes() != nil {
		t.Error("a file over MaxMemoryFile is in memory")
	}
	if f.Variants().Compressed() || f.Negotiated {
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
	b, err := newLoader(t, LoaderConfig{}).Load(ctx, "v1", fixtureV1)
	if err == nil || b != nil {
		t.Fatalf("Load with a canceled context = %v, %v; want an error", b, err)
	}
}
