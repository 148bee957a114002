package manifest

// Load benchmarks (issue 10). Run them one at a time, with -benchtime 1x or
// a few x: each generates its builds first (GenerateBuild, as
// scripts/gen-build does).
//
//	go test ./manifest -run '^$' -bench Load20000 -benchtime 3x
//	go test ./manifest -run '^$' -bench LoadNuxtChunk -benchtime 5x
//	go test ./manifest -run '^$' -bench Restart64MiB -benchtime 1x
//	go test ./manifest -run '^$' -bench LoadThreeChanged
//
// Metrics: "s-live" is the time until a build can be served (Load
// returned: read, hashed, with its quick variants); "s-best" until its
// best variants are made in the background.

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest/manifesttest"
)

func generate(b *testing.B, dir string, spec manifesttest.GenSpec) {
	b.Helper()
	if _, err := manifesttest.GenerateBuild(dir, spec); err != nil {
		b.Fatal(err)
	}
}

// timedLoad loads dir and reports s-live.
func timedLoad(b *testing.B, l *Loader, version, dir string) *Build {
	b.Helper()
	start := time.Now()
	built, err := l.Load(context.Background(), version, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "s-live")
	return built
}

// BenchmarkLoad20000 loads a 20,000-file, 42 MB build of small chunks
// (263 s when every file was compressed before the build went live) and
// reports the time until it is served and the heap it holds then.
func BenchmarkLoad20000(b *testing.B) {
	dir := b.TempDir()
	generate(b, dir, manifesttest.GenSpec{Files: 20000, Bytes: 42e6, Seed: 1})
	b.ResetTimer()
	for range b.N {
		l := NewLoader(LoaderConfig{})
		built := timedLoad(b, l, "v1", dir)
		b.StopTimer()
		l.Close()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(rss(b))/(1<<20), "MiB-rss")
		runtime.KeepAlive(built)
		b.StartTimer()
	}
}

// rss is the process's resident set size (Linux).
func rss(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

// BenchmarkLoadNuxtChunk loads a Nuxt-like build whose entry is one 178 KB
// chunk (1.5 s of brotli 11 that used to delay going live), and reports
// when it is served and when its best variants follow.
func BenchmarkLoadNuxtChunk(b *testing.B) {
	dir := b.TempDir()
	generate(b, dir, manifesttest.GenSpec{Files: 1, Bytes: 178e3, Seed: 3})
	b.ResetTimer()
	for range b.N {
		l := NewLoader(LoaderConfig{})
		start := time.Now()
		timedLoad(b, l, "v1", dir)
		if err := l.WaitCompressed(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-best")
		l.Close()
	}
}

// BenchmarkRestart64MiB restarts on two 64 MiB builds whose variants the
// process before made and kept on disk (84 s to the port opening when a
// restart compressed everything again): it reports when the current build
// is served (s-live), when both are (s-both), and fails if anything is
// compressed again. Its setup compresses both builds once, on every core:
// minutes.
func BenchmarkRestart64MiB(b *testing.B) {
	root := b.TempDir()
	cache := filepath.Join(root, "cache")
	dirs := []string{filepath.Join(root, "v1"), filepath.Join(root, "v2")}
	for i, d := range dirs {
		generate(b, d, manifesttest.GenSpec{Files: 2500, Bytes: 64 << 20, Seed: uint64(10 + i)})
	}
	first := NewLoader(LoaderConfig{CacheDir: cache, Compressors: runtime.GOMAXPROCS(0)})
	for i, d := range dirs {
		if _, err := first.Load(context.Background(), "v"+string(rune('1'+i)), d); err != nil {
			b.Fatal(err)
		}
	}
	if err := first.WaitCompressed(context.Background()); err != nil {
		b.Fatal(err)
	}
	first.Close()
	b.ResetTimer()
	for range b.N {
		l := NewLoader(LoaderConfig{CacheDir: cache})
		start := time.Now()
		cur := timedLoad(b, l, "v2", dirs[1])
		if _, err := l.Load(context.Background(), "v1", dirs[0]); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-both")
		if st := l.Stats(); st.Compressed != 0 || st.Queued != 0 || cur.Deferred != 0 {
			b.Fatalf("a restart compressed again: %+v, %d deferred", st, cur.Deferred)
		}
		l.Close()
	}
}

// BenchmarkLoadThreeChanged loads a 5,000-file build that differs from the
// one already loaded in three files: every file is read and hashed (a
// file's name, size and time prove nothing), only the three are new.
func BenchmarkLoadThreeChanged(b *testing.B) {
	root := b.TempDir()
	a, next := filepath.Join(root, "a"), filepath.Join(root, "b")
	generate(b, a, manifesttest.GenSpec{Files: 5000, Bytes: 10e6, Seed: 4})
	paths, err := manifesttest.GenerateBuild(next, manifesttest.GenSpec{Files: 5000, Bytes: 10e6, Seed: 4})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range paths[1:4] {
		if err := os.WriteFile(filepath.Join(next, p), []byte("export const changed = "+p+";"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	l := NewLoader(LoaderConfig{})
	defer l.Close()
	first, err := l.Load(context.Background(), "a", a)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		got := timedLoad(b, l, "b", next)
		if want := len(got.Files) - 3; got.Reused != want {
			b.Fatalf("reused %d files, want %d", got.Reused, want)
		}
		b.StopTimer()
		l.Retain([]*Build{first}) // forget b's three new files again
		b.StartTimer()
	}
}
