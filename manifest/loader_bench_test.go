package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// syntheticBuild writes a build of n files shaped like an SPA's: a few KB
// of JavaScript and CSS each, content-hashed names, an index.html.
func syntheticBuild(b *testing.B, dir string, n int, salt string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		b.Fatal(err)
	}
	mod := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ext := ".js"
		if i%4 == 0 {
			ext = ".css"
		}
		body := strings.Repeat(fmt.Sprintf("export const value%d = %q; // module %d\n", i, salt+"-"+fmt.Sprint(i), i), 40)
		p := filepath.Join(dir, "assets", chunkName(i)+ext)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			b.Fatal(err)
		}
	}
	index := `<!doctype html><html><head><script type="module" src="/assets/` + chunkName(1) + `.js"></script></head><body></body></html>`
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(index), 0o644); err != nil {
		b.Fatal(err)
	}
}

func chunkName(i int) string { return fmt.Sprintf("chunk%d-%08X", i, i*2654435761%(1<<31)) }

// BenchmarkLoadBuild5000 loads a 5,000-file build from scratch: every file
// read, hashed and compressed (brotli and gzip) once.
func BenchmarkLoadBuild5000(b *testing.B) {
	dir := b.TempDir()
	syntheticBuild(b, dir, 5000, "a")
	b.ResetTimer()
	for range b.N {
		l := NewLoader(LoaderConfig{})
		if _, err := l.Load(context.Background(), "a", dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadBuildThreeChanged loads a 5,000-file build that differs from
// the one already loaded in three files: only those three are read and
// compressed (the rest are found by path, size and time).
func BenchmarkLoadBuildThreeChanged(b *testing.B) {
	root := b.TempDir()
	a, next := filepath.Join(root, "a"), filepath.Join(root, "b")
	syntheticBuild(b, a, 5000, "a")
	syntheticBuild(b, next, 5000, "a")
	for i, name := range []string{"chunk7-", "chunk8-", "chunk9-"} {
		matches, _ := filepath.Glob(filepath.Join(next, "assets", name+"*"))
		if err := os.WriteFile(matches[0], []byte(strings.Repeat(fmt.Sprintf("changed %d\n", i), 200)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	l := NewLoader(LoaderConfig{})
	first, err := l.Load(context.Background(), "a", a)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		got, err := l.Load(context.Background(), "b", next)
		if err != nil {
			b.Fatal(err)
		}
		if want := len(got.Files) - 3; got.Reused != want {
			b.Fatalf("reused %d files, want %d", got.Reused, want)
		}
		b.StopTimer()
		l.Retain([]*Build{first}) // forget b's three new files again
		b.StartTimer()
	}
}
