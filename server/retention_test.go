package main

// Retention by path on every framework's real builds (issue 8, item 1;
// CONTRACT.md "Serving" 4-5): a deploy of a fixture's second build keeps
// every non-HTML file only its first build has served, with the first
// build's bytes, while it is live; once it is retired each of them answers
// 404 with Skewless-Asset: retired. The first build's HTML is never served.

import (
	"go.uber.org/zap"

	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
)

// oldOnly lists the URL paths a build serves that another build lacks:
// its non-HTML files with their bytes, and its HTML files.
func oldOnly(t *testing.T, oldDir, newDir string) (files map[string][]byte, html []string) {
	t.Helper()
	files = map[string][]byte{}
	err := filepath.WalkDir(oldDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, oldDir+string(filepath.Separator)))
		if !manifest.Servable(rel) || isSiblingOf(oldDir, rel) {
			return nil // private, or a precompressed variant of another file
		}
		if _, err := os.Stat(filepath.Join(newDir, filepath.FromSlash(rel))); err == nil {
			return nil
		}
		if manifest.IsHTML(rel) {
			html = append(html, "/"+rel)
			return nil
		}
		b, err := os.ReadFile(p)
		files["/"+rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, html
}

// isSiblingOf reports whether rel is a .br/.gz copy of a file beside it.
func isSiblingOf(dir, rel string) bool {
	for _, ext := range []string{".br", ".gz"} {
		if base, ok := strings.CutSuffix(rel, ext); ok {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(base))); err == nil {
				return true
			}
		}
	}
	return false
}

// uncompressed is a serveHooks.loader for tests of which paths are
// served, not how: files stay on disk behind open handles and are not
// compressed at load (brotli at quality 11 over a framework's chunks takes
// minutes under the race detector).
func uncompressed(cfg serveConfig) func(manifest.BuildLoader) manifest.BuildLoader {
	return func(manifest.BuildLoader) manifest.BuildLoader {
		lc := loaderConfig(cfg, zap.NewNop())
		lc.MaxMemoryFile = 1
		return manifest.NewLoader(lc)
	}
}

var retentionFixtures = []struct{ folder, old, new string }{
	{"builds", "v1", "v2"},
	{"webpack-builds", "w1", "w2"},
	{"esbuild-builds", "e1", "e2"},
	{"sveltekit-builds", "sk1", "sk2"},
	{"nuxt-builds", "nx1", "nx2"},
	{"next-turbopack-builds", "nt1", "nt2"},
	{"next-webpack-builds", "nw1", "nw2"},
	{"astro-builds", "as1", "as2"},
	{"angular-builds", "ng1", "ng2"},
	{"react-router-builds", "rr1", "rr2"},
	{"parcel-builds", "pc1", "pc2"},
	{"rsbuild-vue-builds", "rs1", "rs2"},
}

// The fixtures run in parallel with each other, not with the package's
// other parallel tests (the fault and churn tests keep their machine).
func TestRetentionOnFrameworkBuilds(t *testing.T) {
	for _, fx := range retentionFixtures {
		t.Run(fx.folder, func(t *testing.T) {
			t.Parallel() // loading is mostly one brotli stream per large chunk: use every core
			src := filepath.Join("..", "fixtures", fx.folder)
			files, html := oldOnly(t, filepath.Join(src, fx.old), filepath.Join(src, fx.new))
			if len(files) == 0 {
				t.Fatalf("%s has no non-HTML file %s lacks: nothing to retain", fx.old, fx.new)
			}
			paths := slices.Sorted(func(yield func(string) bool) {
				for p := range files {
					if !yield(p) {
						return
					}
				}
			})
			t.Logf("%d files only %s has, %d of them HTML", len(files)+len(html), fx.old, len(html))
			dir := buildsWith(t, src, fx.old)
			cfg := testConfig(t, dir)
			ts := startServerLoaded(t, cfg, serveHooks{loader: uncompressed(cfg)})
			dropBuild(t, dir, filepath.Join(src, fx.new), fx.new)
			waitVersion(t, ts, fx.new, 2*time.Minute)
			for _, p := range paths {
				if resp, body := ts.get(t, "GET", p); resp.StatusCode != 200 || body != string(files[p]) {
					t.Errorf("during grace: GET %s: %d %q, want %s's file", p, resp.StatusCode, resp.Header.Get("Skewless-Asset"), fx.old)
				}
			}
			for _, p := range html {
				if resp, body := ts.get(t, "GET", p, scriptHeaders...); strings.Contains(body, `data-version="`+fx.old+`"`) {
					t.Errorf("GET %s served %s's HTML (%d)", p, fx.old, resp.StatusCode)
				}
			}
			// Retired (here by removing its folder: one retirement like
			// another; TestRetentionByPath and TestGraceExpiryRetires see
			// grace run out), each of those paths says so.
			if err := os.RemoveAll(filepath.Join(dir, fx.old)); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, fx.old+" retired", func() bool {
				resp, _ := ts.get(t, "GET", paths[0])
				return resp.Header.Get("Skewless-Asset") == "retired"
			})
			for _, p := range paths {
				if resp, _ := ts.get(t, "GET", p); resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
					t.Errorf("retired: GET %s: %d %q, want 404 retired", p, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
				}
			}
		})
	}
}
