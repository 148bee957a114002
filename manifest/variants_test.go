package manifest

// Compressed variants: made in the background after a build goes live,
// swapped in whole, kept on disk across restarts.
//
// Behaviours covered (issue 10):
//   - a build is served as soon as it is read and hashed: Load returns
//     with a fast gzip (its own strong ETag) and no brotli while the
//     background is held back, and the best variants (brotli 11, gzip 9)
//     replace it later, each decoding to the identity bytes; a reader of
//     the variants never waits and always sees one consistent set;
//   - a restart reads the variants from the disk cache: no compression at
//     all (Stats().Compressed stays 0), and the build is final at once;
//   - a damaged cache entry, or one of other content, is never served: it
//     is compressed again and rewritten;
//   - the cache stays within its budget, never deleting what builds in use
//     need;
//   - Close stops the background and waits for it.

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// generatedBuild writes a build of n compressible assets of ~size bytes in
// all, and returns its folder.
func generatedBuild(t *testing.T, n int, size int64, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := manifesttest.GenerateBuild(dir, manifesttest.GenSpec{Files: n, Bytes: size, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// negotiatedFiles returns the files of b that get compressed variants.
func negotiatedFiles(b *Build) map[string]*File {
	out := map[string]*File{}
	for p, f := range b.Files {
		if f.Negotiated {
			out[p] = f
		}
	}
	return out
}

// checkFinal fails unless every negotiated file of b has final variants
// that decode to its identity bytes.
func checkFinal(t *testing.T, b *Build) {
	t.Helper()
	for p, f := range negotiatedFiles(b) {
		vs := f.Variants()
		if !vs.Final || vs.Brotli == nil || vs.Gzip == nil {
			t.Fatalf("%s: final %v, br %v, gzip %v; want the best variants", p, vs.Final, vs.Brotli != nil, vs.Gzip != nil)
		}
		if !bytes.Equal(unbrotli(t, vs.Brotli.Bytes()), f.Identity.Bytes()) || !bytes.Equal(gunzip(t, vs.Gzip.Bytes()), f.Identity.Bytes()) {
			t.Fatalf("%s: a variant does not decode to the identity bytes", p)
		}
		if vs.Brotli.ETag != `"`+f.Hash+`.br"` || vs.Gzip.ETag != `"`+f.Hash+`.gz"` {
			t.Fatalf("%s: ETags %s %s", p, vs.Brotli.ETag, vs.Gzip.ETag)
		}
	}
}

func TestLoadGoesLiveBeforeCompressed(t *testing.T) {
	dir := generatedBuild(t, 16, 16<<10, 1)
	l := newLoader(t, LoaderConfig{})
	l.bg.loadStarted() // hold the background back, as a long load would
	released := false
	defer func() {
		if !released {
			l.bg.loadEnded()
		}
	}()
	b := load(t, l, "v1", dir)
	files := negotiatedFiles(b)
	if len(files) != len(b.Files) || b.Deferred != len(files) {
		t.Fatalf("%d of %d files negotiated, %d deferred; want all", len(files), len(b.Files), b.Deferred)
	}
	for p, f := range files {
		vs := f.Variants()
		if vs.Final || vs.Brotli != nil || vs.Gzip == nil {
			t.Fatalf("%s at load: final %v, br %v, gzip %v; want only the fast gzip", p, vs.Final, vs.Brotli != nil, vs.Gzip != nil)
		}
		if vs.Gzip.ETag != `"`+f.Hash+`.gz1"` || !bytes.Equal(gunzip(t, vs.Gzip.Bytes()), f.Identity.Bytes()) {
			t.Fatalf("%s: fast gzip %s does not decode to the identity", p, vs.Gzip.ETag)
		}
	}
	if st := l.Stats(); st.Compressed != 0 || st.Queued != len(files) {
		t.Fatalf("stats while held back: %+v", st)
	}

	// Readers (requests) meanwhile always see one whole set, and never
	// wait: each read is one atomic load.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Value
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				runtime.Gosched()
				vs := f.Variants()
				if vs.Gzip == nil || (vs.Brotli != nil) != vs.Final || strings.HasSuffix(vs.Gzip.ETag, ".gz1\"") == vs.Final {
					bad.Store(vs)
				}
			}
		}()
		break // one reader is enough to race with every swap under -race
	}
	l.bg.loadEnded()
	released = true
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("a reader saw a mixed set: %+v", v)
	}
	checkFinal(t, b)
	if st := l.Stats(); st.Compressed != int64(len(files)) || st.Queued != 0 {
		t.Fatalf("stats after: %+v, want %d compressed", st, len(files))
	}
}

// loadLogged loads dir with a fresh loader on cacheDir and returns it with
// the build and its log.
func loadLogged(t *testing.T, cacheDir, dir string) (*Loader, *Build, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	l := newLoader(t, LoaderConfig{CacheDir: cacheDir, Log: zap.New(core)})
	return l, load(t, l, "v1", dir), logs
}

func TestLoadRestartUsesDiskCache(t *testing.T) {
	dir := generatedBuild(t, 12, 12<<10, 2)
	cache := filepath.Join(t.TempDir(), "cache")
	first, b1, _ := loadLogged(t, cache, dir)
	if err := first.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := len(negotiatedFiles(b1))
	if st := first.Stats(); st.Compressed != int64(n) || st.CacheWrites != int64(n) {
		t.Fatalf("first process: %+v, want %d compressed and cached", st, n)
	}
	first.Close()

	// The next process: final variants as Load returns, and no
	// compression at all.
	second, b2, logs := loadLogged(t, cache, dir)
	if b2.Cached != n || b2.Deferred != 0 {
		t.Errorf("cached %d, deferred %d; want %d, 0", b2.Cached, b2.Deferred, n)
	}
	checkFinal(t, b2)
	for p, f := range negotiatedFiles(b2) {
		if !bytes.Equal(f.Variant(Brotli).Bytes(), b1.Files[p].Variant(Brotli).Bytes()) {
			t.Errorf("%s: cached brotli differs from the one made", p)
		}
	}
	if err := second.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := second.Stats(); st.Compressed != 0 || st.CacheHits != int64(n) {
		t.Errorf("second process: %+v, want 0 compressed, %d cache hits", st, n)
	}
	line := logs.FilterMessage("build loaded").All()
	if len(line) != 1 || line[0].ContextMap()["cached"] != int64(n) || line[0].ContextMap()["deferred"] != int64(0) {
		t.Errorf("build loaded lines: %v", line)
	}
	ready := logs.FilterMessage("variants ready").FilterField(zap.String("version", "v1")).All()
	if len(ready) != 1 || ready[0].ContextMap()["compressed"] != int64(0) {
		t.Errorf("variants ready lines: %v", ready)
	}
}

func TestDiskCacheDamagedEntries(t *testing.T) {
	dir := generatedBuild(t, 8, 8<<10, 3)
	cache := filepath.Join(t.TempDir(), "cache")
	first, b1, _ := loadLogged(t, cache, dir)
	if err := first.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	first.Close()
	var victims []*File
	for _, f := range negotiatedFiles(b1) {
		victims = append(victims, f)
	}
	entry := func(f *File) string { return newDiskCache(cache, 0, zap.NewNop()).path(f.sum) }
	read := func(f *File) []byte {
		b, err := os.ReadFile(entry(f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	flipped := read(victims[0])
	flipped[len(flipped)-10] ^= 0xff
	other := read(victims[3])
	for _, w := range []struct {
		f    *File
		data []byte
	}{{victims[0], flipped}, {victims[1], read(victims[1])[:cacheHeader+5]}, {victims[2], other}} {
		if err := os.WriteFile(entry(w.f), w.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	second, b2, logs := loadLogged(t, cache, dir)
	if err := second.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := second.Stats(); st.Compressed != 3 || b2.Cached != len(victims)-3 {
		t.Errorf("stats %+v, cached %d: want the 3 damaged entries compressed again", st, b2.Cached)
	}
	checkFinal(t, b2)
	if n := logs.FilterMessage("cached variants are damaged; compressing again").Len(); n != 3 {
		t.Errorf("%d damage warnings, want 3", n)
	}
	second.Close()
	third, _, _ := loadLogged(t, cache, dir)
	if err := third.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := third.Stats(); st.Compressed != 0 {
		t.Errorf("rewritten entries: %+v, want nothing compressed", st)
	}
}

func TestDiskCacheStaysInBudget(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	a, b := generatedBuild(t, 6, 6<<10, 4), generatedBuild(t, 6, 6<<10, 5)
	// A budget nothing fits in: only what builds in use need stays.
	l := newLoader(t, LoaderConfig{CacheDir: cache, CacheMaxBytes: 1})
	ba := loadCompressed(t, l, "a", a)
	if err := os.WriteFile(filepath.Join(cache, strings.Repeat("ab", 32)+".older-policy"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, tempPrefix+"left-by-a-crash")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	l.Retain([]*Build{ba})
	entriesOf := func(b *Build) map[string]bool {
		m := map[string]bool{}
		for _, f := range negotiatedFiles(b) {
			m[filepath.Base(l.cache.path(f.sum))] = true
		}
		return m
	}
	waitFor(t, 5*time.Second, "a's entries alone", func() bool { return sameNames(t, cache, entriesOf(ba)) })
	bb := loadCompressed(t, l, "b", b)
	l.Retain([]*Build{bb})
	waitFor(t, 5*time.Second, "b's entries alone", func() bool { return sameNames(t, cache, entriesOf(bb)) })
}

// sameNames reports whether dir holds exactly the files named.
func sameNames(t *testing.T, dir string, want map[string]bool) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		return false
	}
	for _, e := range entries {
		if !want[e.Name()] {
			return false
		}
	}
	return true
}

func TestLoaderCloseStopsCompression(t *testing.T) {
	dir := generatedBuild(t, 60, 240<<10, 6)
	l := NewLoader(LoaderConfig{})
	b := load(t, l, "v1", dir)
	l.Close()
	l.bg.mu.Lock()
	workers := l.bg.workers
	l.bg.mu.Unlock()
	if workers != 0 {
		t.Fatalf("%d compressing goroutines after Close", workers)
	}
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	// What was made is whole; the rest keeps its fast variant.
	for p, f := range negotiatedFiles(b) {
		if vs := f.Variants(); vs.Gzip == nil || vs.Final != (vs.Brotli != nil) {
			t.Fatalf("%s after Close: final %v, br %v, gzip %v", p, vs.Final, vs.Brotli != nil, vs.Gzip != nil)
		}
	}
}

func TestLoadLogsProgress(t *testing.T) {
	dir := generatedBuild(t, 600, 300<<10, 7)
	core, logs := observer.New(zap.DebugLevel)
	l := newLoader(t, LoaderConfig{Log: zap.New(core), ProgressEvery: time.Millisecond})
	b := load(t, l, "v1", dir)
	lines := logs.FilterMessage("loading build").All()
	if len(lines) == 0 {
		t.Fatal("no progress line during the load")
	}
	for _, e := range lines {
		m := e.ContextMap()
		if m["version"] != "v1" || m["files_total"] != int64(len(b.Files)) || m["files"].(int64) > int64(len(b.Files)) ||
			m["bytes_total"] != b.Bytes || m["elapsed"] == nil {
			t.Errorf("progress line %v", m)
		}
	}
	done := logs.FilterMessage("build loaded").All()
	if len(done) != 1 {
		t.Fatalf("%d build loaded lines", len(done))
	}
	m := done[0].ContextMap()
	for _, k := range []string{"files", "bytes", "reused", "cached", "deferred", "scan", "read_hash", "took"} {
		if _, ok := m[k]; !ok {
			t.Errorf("build loaded has no %q: %v", k, m)
		}
	}
}

// TestLoadFutureModTime: a file dated in the future is not announced as
// modified later than its load.
func TestLoadFutureModTime(t *testing.T) {
	dir := writeBuild(t, map[string]string{"index.html": page(""), "assets/app-BRh8Y3xK.js": "x"})
	future := time.Now().Add(48 * time.Hour)
	for _, rel := range []string{"index.html", "assets/app-BRh8Y3xK.js"} {
		if err := os.Chtimes(filepath.Join(dir, rel), future, future); err != nil {
			t.Fatal(err)
		}
	}
	b := load(t, newLoader(t, LoaderConfig{}), "v1", dir)
	for p, f := range b.Files {
		if f.ModTime.After(time.Now()) {
			t.Errorf("%s: ModTime %v is in the future", p, f.ModTime)
		}
	}
}

func TestNewContentIsFinal(t *testing.T) {
	data := []byte(strings.Repeat("window.skewless = {};\n", 50))
	c, err := NewContent("client.js", data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	vs := c.Variants()
	if !c.Negotiated || !vs.Final || vs.Brotli == nil || vs.Gzip == nil || !bytes.Equal(unbrotli(t, vs.Brotli.Bytes()), data) {
		t.Fatalf("NewContent: negotiated %v, final %v, br %v, gzip %v", c.Negotiated, vs.Final, vs.Brotli != nil, vs.Gzip != nil)
	}
}
