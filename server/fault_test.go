package main

// Faults while serving: the server keeps answering from the builds it holds
// in memory, says what went wrong in its log, and recovers.
//
// Behaviours covered:
//   - the builds folder becomes unreadable (chmod 000; as root, where
//     permission bits do not bind, renamed away and replaced by a file):
//     pages and assets keep being served, the failed rescan is logged, the
//     server keeps running, and once the folder is back a dropped build is
//     noticed as promptly as before (CONTRACT.md "Deploying": fsnotify, with
//     the periodic rescan only as a safety net);
//   - the state file turns to garbage while the server runs: logged, serving
//     goes on, and the next deploy writes a valid state file that still
//     knows every build, so the superseded current build stays live
//     ("live: a superseded build inside its grace window");
//   - a build folder deleted while its files are downloading: no 5xx, no
//     truncated body; then its hashed paths answer 404 with
//     Skewless-Asset: retired (a live build) or the server falls back to the
//     previous build (the current one).

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/skewless/skewless/manifest"
)

// faultRescan is the registry's periodic rescan (RegistryConfig.Rescan's
// default): a folder that stays unreadable is noticed within it.
const faultRescan = 5 * time.Second

// Paths of the committed fixture builds used below.
const (
	v2Entry   = "/assets/index-RI6W6SFG.js"
	v3About   = "/assets/about-uI4s7U0r.js"
	vendorAll = "/assets/vendor-Bb1KB3MD.js" // the same in v1, v2, v3
)

// serverRunning fails the test when serve has returned.
func serverRunning(t *testing.T, ts *testServer) {
	t.Helper()
	select {
	case err := <-ts.done:
		ts.done <- err // for Stop
		t.Fatalf("the server stopped: %v", err)
	default:
	}
}

// assertServes checks that the server answers from the builds in memory:
// current's pages, a hashed asset of current and one of a live build.
func assertServes(t *testing.T, ts *testServer, current string, assets map[string]string) {
	t.Helper()
	serverRunning(t, ts)
	for _, p := range []string{"/", "/some/route"} {
		resp, body := ts.get(t, "GET", p)
		if resp.StatusCode != 200 || resp.Header.Get("Skewless-Version") != current || !strings.Contains(body, `data-version="`+current+`"`) {
			t.Fatalf("GET %s: %d, version %q, want %s's page", p, resp.StatusCode, resp.Header.Get("Skewless-Version"), current)
		}
	}
	for p, v := range assets {
		resp, body := ts.get(t, "GET", p)
		if resp.StatusCode != 200 || body != string(fixtureFileBytes(t, fixtures, v, p)) {
			t.Fatalf("GET %s (of %s): %d %q", p, v, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
		}
	}
	if resp, _ := ts.get(t, "GET", "/_skewless/health"); resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
}

func logsSince(ts *testServer, msg string, since time.Time) int {
	return ts.Logs.FilterMessage(msg).Filter(func(e observer.LoggedEntry) bool { return !e.Time.Before(since) }).Len()
}

// unreadable makes the builds folder unreadable and returns what restores
// it. Root reads a folder whatever its mode (CAP_DAC_OVERRIDE), so chmod 000
// changes nothing for root: as root the folder is renamed away and a file
// takes its place, which fails the server's reads of it the same way (the
// error is ENOTDIR instead of EACCES).
func unreadable(t *testing.T, dir string) (how string, restore func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		chmod(t, dir, 0)
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) }) // so TempDir can remove it
		return "chmod 000", func() { chmod(t, dir, 0o755) }
	}
	renameInto(t, dir, dir+".away")
	if err := os.WriteFile(dir, []byte("not a folder\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return "replaced by a file (running as root: chmod 000 would not bind)", func() {
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		renameInto(t, dir+".away", dir)
	}
}

func chmod(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFaultBuildsDirUnreadable(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1", "v2")
	ts := startServer(t, testConfig(t, dir))
	assets := map[string]string{v2Entry: "v2", v1About: "v1"}
	assertServes(t, ts, "v2", assets)

	broken := time.Now()
	how, restore := unreadable(t, dir)
	t.Logf("builds folder made unreadable: %s", how)
	eventually(t, 2*faultRescan, "the failed rescan logged", func() bool { return logsSince(ts, "rescan failed", broken) > 0 })
	assertServes(t, ts, "v2", assets)

	restored := time.Now()
	restore()
	eventually(t, 2*faultRescan, "a rescan once the folder is back", func() bool { return logsSince(ts, "rescan", restored) > 0 })
	assertServes(t, ts, "v2", assets)

	// Right after a rescan the next one is faultRescan away: only a watcher
	// that watches the folder again notices v3 sooner.
	dropped := time.Now()
	dropBuild(t, dir, filepath.Join(fixtures, "v3"), "v3")
	eventually(t, faultRescan/2, "v3 current, noticed by the watcher (the periodic rescan is 5s away; "+
		"a watcher that lost the builds folder fails this)", func() bool { return ts.versionOf(t) == "v3" })
	t.Logf("v3 current %s after its drop", time.Since(dropped).Round(time.Millisecond))
	assertServes(t, ts, "v3", map[string]string{v3About: "v3", v2About: "v2", v1About: "v1"})
}

func TestFaultCorruptStateWhileServing(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1", "v2")
	ts := startServer(t, testConfig(t, dir))
	assertServes(t, ts, "v2", map[string]string{v2Entry: "v2", v1About: "v1"})
	before, err := manifest.ReadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}

	state := filepath.Join(dir, manifest.StateDir, "state.json")
	if err := os.WriteFile(state, []byte("\x00garbage{\"format\": 1, \"builds\": {"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "an error about the corrupt state file logged", func() bool {
		return ts.Logs.FilterLevelExact(zapcore.ErrorLevel).Filter(func(e observer.LoggedEntry) bool {
			return strings.Contains(e.Message, "state file")
		}).Len() > 0
	})
	assertServes(t, ts, "v2", map[string]string{v2Entry: "v2", v1About: "v1"})

	// The next deploy rewrites the state file: valid, and v2, current
	// until now, is a live build in it (its open tabs keep their chunks).
	dropBuild(t, dir, filepath.Join(fixtures, "v3"), "v3")
	waitVersion(t, ts, "v3", 5*time.Second)
	h, err := manifest.ReadHistory(dir)
	if err != nil {
		t.Fatalf("state file after the deploy: %v", err)
	}
	if h.Current != "v3" || h.Seq <= before.Seq {
		t.Errorf("state file: current %q (seq %d), want v3 with a sequence number above %d (event ids only grow)", h.Current, h.Seq, before.Seq)
	}
	for _, v := range []string{"v1", "v2"} {
		if st := h.StateOf(v); st != manifest.Live {
			t.Errorf("state file after the deploy: %s is %s, want live (it was served until now; --grace 24h)", v, st)
		}
	}
	for p, v := range map[string]string{v2About: "v2", v1About: "v1", v3About: "v3"} {
		if resp, _ := ts.get(t, "GET", p); resp.StatusCode != 200 {
			t.Errorf("GET %s (%s's lazy chunk) after the deploy: %d %q, want 200 (live)", p, v, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
		}
	}
	serverRunning(t, ts)

	// "The current build and the history survive a restart": v3 stays
	// current, and v1 and v2 are not taken for new deploys (the first scan,
	// inside startServer, marks the folders it takes for new ones pending).
	ts.Stop()
	ts = startServer(t, testConfig(t, dir))
	if n := ts.Logs.FilterMessage("build pending").Len(); n > 0 {
		t.Errorf("after a restart, %d served builds are pending again: they will be activated as new deploys", n)
	}
	if v := ts.versionOf(t); v != "v3" {
		t.Errorf("after a restart: version %q, want v3", v)
	}
}

// deleteLoad downloads every file of one build over and over, checking
// each answer, until stopped.
type deleteLoad struct {
	files    map[string][]byte // URL path → the build's bytes
	blob     []byte            // faultBlob's bytes
	shared   map[string]bool   // paths the other build has too: always 200
	requests atomic.Int64
	bad      atomic.Int64
	blobs    atomic.Int64 // whole blob downloads
	// The blob's body is streaming; a whole download whose body was
	// streaming when the folder's removal started counts in spanning.
	streaming atomic.Bool
	removedAt atomic.Int64 // UnixNano
	spanning  atomic.Int64
	mu        sync.Mutex
	problems  []string
}

func (l *deleteLoad) problem(format string, args ...any) {
	l.bad.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 20 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// check accepts 200 with the whole file (HTML: the page of the version it
// names), or 404 retired for a hashed path only the deleted build had.
func (l *deleteLoad) check(c *http.Client, base, p string, want []byte) {
	l.requests.Add(1)
	resp, body, err := churnGet(c, base+p)
	switch {
	case err != nil:
		l.problem("GET %s: %v", p, err)
	case resp.StatusCode == 200 && strings.HasSuffix(p, ".html"):
		if v := resp.Header.Get("Skewless-Version"); !bytes.Contains(body, []byte(`data-version="`+v+`"`)) {
			l.problem("GET %s: version %q, a page of another build", p, v)
		}
	case resp.StatusCode == 200:
		if !bytes.Equal(body, want) {
			l.problem("GET %s: %d bytes that are not the file's %d", p, len(body), len(want))
		}
	case resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "retired" && !l.shared[p]:
	default:
		l.problem("GET %s: %d %q", p, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
	}
}

// downloadBlob fetches faultBlob, flagging the time its body streams.
func (l *deleteLoad) downloadBlob(c *http.Client, base string) {
	l.requests.Add(1)
	resp, err := c.Get(base + faultBlob)
	if err != nil {
		l.problem("GET %s: %v", faultBlob, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		if resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
			l.problem("GET %s: %d %q", faultBlob, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	began := time.Now().UnixNano()
	l.streaming.Store(true)
	body, err := io.ReadAll(resp.Body)
	l.streaming.Store(false)
	switch {
	case err != nil:
		l.problem("GET %s: %d of %d bytes: %v", faultBlob, len(body), resp.ContentLength, err)
	case int64(len(body)) != resp.ContentLength || !bytes.Equal(body, l.blob):
		l.problem("GET %s: %d bytes (Content-Length %d) that are not the file's %d", faultBlob, len(body), resp.ContentLength, len(l.blob))
	default:
		l.blobs.Add(1)
		if r := l.removedAt.Load(); r != 0 && began < r {
			l.spanning.Add(1)
		}
	}
}

// faultBlob is a hashed file over the loader's in-memory limit (8 MiB): it
// is served from an open handle, so deleting it mid-download is a real
// test of the body's completeness.
const faultBlob = "/assets/blob-B1gF1LE5.bin"

func TestFaultBuildDeletedUnderLoad(t *testing.T) {
	t.Parallel()
	blob := bytes.Repeat([]byte("skewless-blob\n"), (8<<20+64<<10)/14) // just over 8 MiB
	for _, tc := range []struct {
		name, victim, after string // deleted build, current build afterwards
	}{
		{"live build", "v1", "v2"},
		{"current build", "v2", "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := buildsWith(t, fixtures, "v1", "v2")
			load := &deleteLoad{files: buildAssets(t, filepath.Join(dir, tc.victim)), blob: blob, shared: map[string]bool{}}
			for p := range buildAssets(t, filepath.Join(dir, tc.after)) {
				load.shared[p] = load.files[p] != nil || p == "/index.html"
			}
			if err := os.WriteFile(filepath.Join(dir, tc.victim, filepath.FromSlash(faultBlob)), blob, 0o644); err != nil {
				t.Fatal(err)
			}
			ts := startServer(t, testConfig(t, dir))
			if v := ts.versionOf(t); v != "v2" {
				t.Fatalf("start: version %q, want v2", v)
			}
			stop := runDeleteLoad(t, ts.URL, load)

			eventually(t, 5*time.Second, "load running", func() bool { return load.requests.Load() >= 100 && load.streaming.Load() })
			removed := time.Now()
			load.removedAt.Store(removed.UnixNano())
			if err := os.RemoveAll(filepath.Join(dir, tc.victim)); err != nil {
				t.Fatal(err)
			}
			t.Logf("removed %s in %s, %d requests so far", tc.victim, time.Since(removed).Round(time.Millisecond), load.requests.Load())
			waitVersion(t, ts, tc.after, 5*time.Second)
			// Its hashed paths no build still has answer retired.
			for _, p := range []string{faultBlob, map[string]string{"v1": v1About, "v2": v2About}[tc.victim]} {
				eventually(t, 5*time.Second, p+" retired", func() bool {
					resp, _ := ts.get(t, "GET", p)
					return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "retired"
				})
			}
			n := load.requests.Load()
			eventually(t, 5*time.Second, "load after the removal", func() bool { return load.requests.Load() >= n+50 })
			stop()
			t.Logf("%d requests (%d whole downloads of the %d-byte blob, %d across the removal), %d bad answers",
				load.requests.Load(), load.blobs.Load(), len(blob), load.spanning.Load(), load.bad.Load())
			if load.spanning.Load() == 0 {
				t.Error("no blob download was under way across the removal and completed whole")
			}
			for _, p := range load.problems {
				t.Error(p)
			}
			// Paths the other build shares stay served.
			assertServes(t, ts, tc.after, map[string]string{vendorAll: tc.after, sharedCSS: tc.after})
			if errs := ts.Logs.FilterLevelExact(zapcore.ErrorLevel); errs.Len() > 0 {
				t.Errorf("removing a %s logged an error: %s", tc.name, errs.All()[0].Entry.Message)
			}
		})
	}
}

// buildAssets returns the files of a build's assets/ folder (all hashed)
// by URL path, and its page.
func buildAssets(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"/index.html": nil}
	entries, err := os.ReadDir(filepath.Join(root, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(root, "assets", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out["/assets/"+e.Name()] = b
	}
	return out
}

// runDeleteLoad starts three workers over the build's page and assets, and
// one downloading the blob (most of a second a download under -race).
func runDeleteLoad(t *testing.T, base string, l *deleteLoad) (stop func()) {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	paths := make([]string, 0, len(l.files))
	for p := range l.files {
		paths = append(paths, p)
	}
	var quit atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := w; !quit.Load(); i++ {
				l.check(c, base, paths[i%len(paths)], l.files[paths[i%len(paths)]])
			}
		})
	}
	wg.Go(func() {
		for !quit.Load() {
			l.downloadBlob(c, base)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { quit.Store(true); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}
