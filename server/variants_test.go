package main

// Compressed variants over real HTTP while the background makes them.
//
// Behaviours covered (issue 10, "live before compressed"):
//   - a build is served as soon as it is loaded: the first answers for a
//     file whose best variants are not made yet carry the fast gzip made
//     at load (its own strong ETag, `"<hash>.gz1"`), never a wait;
//   - the best variants (brotli here) are swapped in later, and every
//     answer on the way is one representation: its Content-Encoding, ETag
//     and body agree, the body decodes to the file, and Vary is the same
//     before and after (RFC 9110 §12.5.5: a cache keys on it);
//   - after the swap, only the tag of the representation a request
//     selects revalidates (§8.8.3, §13.1.2): a cache holding the fast gzip
//     or the identity bytes gets the brotli bytes it asks for, not a 304.

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// waitCompressed waits until every build loaded so far has its best
// variants: the loader logs "variants ready" once per load, in order.
func (ts *testServer) waitCompressed(t testing.TB) {
	t.Helper()
	eventually(t, 60*time.Second, "best variants made", func() bool {
		return ts.Logs.FilterMessage("variants ready").Len() >= ts.Logs.FilterMessage("build loaded").Len()
	})
}

// lastQueued returns the URL path of the asset of a generated build that
// is compressed last (the background takes what index.html loads first,
// then the rest by path), among those big enough to be worth it.
func lastQueued(t *testing.T, dir string, assets []string) string {
	t.Helper()
	rest := append([]string(nil), assets[1:]...) // assets[0] is index.html's script
	sort.Strings(rest)
	for i := len(rest) - 1; i >= 0; i-- {
		if info, err := os.Stat(filepath.Join(dir, rest[i])); err == nil && info.Size() >= 2048 {
			return "/" + rest[i]
		}
	}
	t.Fatal("no asset of 2 KB")
	return ""
}

func TestVariantsSwapInWhileServing(t *testing.T) {
	dir := t.TempDir()
	build := filepath.Join(dir, "v1")
	assets, err := manifesttest.GenerateBuild(build, manifesttest.GenSpec{Files: 16, Bytes: 256 << 10, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	p := lastQueued(t, build, assets)
	want, err := os.ReadFile(filepath.Join(build, p))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServing(t, testConfig(t, dir))
	tags := map[string]bool{}
	for i := 0; ; i++ {
		ready := ts.Logs.FilterMessage("variants ready").Len() > 0
		resp, body := ts.get(t, "GET", p, "Accept-Encoding: br, gzip")
		assertStatus(t, resp, 200)
		assertHeader(t, resp, "Vary", "Accept-Encoding")
		enc, tag := resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag")
		tags[tag] = true
		switch {
		case i == 0 && (enc != "gzip" || !strings.HasSuffix(tag, `.gz1"`)):
			t.Fatalf("first answer: %s %s; want the fast gzip made at load (nothing waits for brotli)", enc, tag)
		case enc == "gzip" && !strings.HasSuffix(tag, `.gz1"`), enc == "br" && !strings.HasSuffix(tag, `.br"`), enc != "gzip" && enc != "br":
			t.Fatalf("answer %d: Content-Encoding %q with ETag %s", i, enc, tag)
		}
		if decodeBody(t, enc, body) != string(want) {
			t.Fatalf("answer %d (%s): body does not decode to the file", i, enc)
		}
		if ready {
			if enc != "br" {
				t.Fatalf("after variants ready: %s, want br", enc)
			}
			break
		}
		if i > 0 && i%50 == 0 {
			eventually(t, 60*time.Second, "variants ready", func() bool { return ts.Logs.FilterMessage("variants ready").Len() > 0 })
		}
	}
	// Without Accept-Encoding: identity, with the same Vary.
	resp, body := ts.get(t, "GET", p)
	assertHeader(t, resp, "Content-Encoding", "")
	assertHeader(t, resp, "Vary", "Accept-Encoding")
	if body != string(want) {
		t.Fatal("identity body is not the file")
	}
	tags[resp.Header.Get("ETag")] = true
	for tag := range tags {
		resp, _ := ts.get(t, "GET", p, "Accept-Encoding: br", "If-None-Match: "+tag)
		want := 200
		if strings.HasSuffix(tag, `.br"`) {
			want = 304
		}
		assertStatus(t, resp, want)
	}
}

// TestRestartServesCachedVariants: a restart reads the variants the
// process before made from <builds>/.skewless/cache/: nothing is
// compressed again, and brotli is served at once.
func TestRestartServesCachedVariants(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	first := ts.Logs.FilterMessage("variants ready").All()
	if len(first) != 1 || first[0].ContextMap()["compressed"].(int64) == 0 {
		t.Fatalf("first start: %v, want v1's files compressed", first)
	}
	ts.Stop()
	entries, err := os.ReadDir(filepath.Join(dir, ".skewless", "cache"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no variant cache after a start: %v", err)
	}

	ts = startServing(t, testConfig(t, dir))
	resp, body := ts.get(t, "GET", viteV1Report, "Accept-Encoding: br")
	assertHeader(t, resp, "Content-Encoding", "br")
	if decodeBody(t, "br", body) != string(fixtureFileBytes(t, fixtures, "v1", viteV1Report)) {
		t.Error("cached brotli does not decode to the file")
	}
	loaded := ts.Logs.FilterMessage("build loaded").All()
	if len(loaded) != 1 || loaded[0].ContextMap()["cached"].(int64) == 0 || loaded[0].ContextMap()["deferred"] != int64(0) {
		t.Fatalf("restart: %v, want every variant from the cache", loaded)
	}
	ts.waitCompressed(t)
	if ready := ts.Logs.FilterMessage("variants ready").All(); ready[0].ContextMap()["compressed"] != int64(0) {
		t.Errorf("restart compressed again: %v", ready[0].ContextMap())
	}
}
