package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
	"github.com/skewless/skewless/manifest/manifesttest"
)

// fixture names a pair of committed builds of one app: the version a tab
// loads first and the one deployed while it is open. The folder name is
// the version; the app's own label (#version) matches it. Every app
// follows the protocol of fixtures/apps/README.md.
type fixture struct {
	name     string
	dir      string // the fixtures folder holding both builds
	old, new string
	flags    []string // serve flags the README asks for (multi-page exports: --spa=false)
	// pages: every route is a document of the current build that the
	// app's router fetches and swaps in (Astro's ClientRouter), so a
	// client-side navigation shows the current build's page.
	pages bool
	// prefetch: the router fetches the routes its links point to ahead of
	// a click (Nuxt, Next). noPrefetch stops it for a tab (see there).
	prefetch string
	// transitions: a client-side navigation animates, and a click during
	// the animation lands on its overlay (Astro), so tests wait it out.
	transitions bool
	notice      bool // the demo app: it shows a notice on skewless:stale
}

var (
	vite    = fixture{name: "vite", dir: "builds", old: "v1", new: "v2", notice: true}
	webpack = fixture{name: "webpack", dir: "webpack-builds", old: "w1", new: "w2", notice: true}
	esbuild = fixture{name: "esbuild", dir: "esbuild-builds", old: "e1", new: "e2", notice: true}

	// fixtures is every app of fixtures/ the helper must work in.
	fixtures = []fixture{
		vite, webpack, esbuild,
		{name: "sveltekit", dir: "sveltekit-builds", old: "sk1", new: "sk2"},
		{name: "nuxt", dir: "nuxt-builds", old: "nx1", new: "nx2", prefetch: "save-data"},
		{name: "next-turbopack", dir: "next-turbopack-builds", old: "nt1", new: "nt2", flags: []string{"--spa=false"}, prefetch: "rsc"},
		{name: "next-webpack", dir: "next-webpack-builds", old: "nw1", new: "nw2", flags: []string{"--spa=false"}, prefetch: "rsc"},
		{name: "angular", dir: "angular-builds", old: "ng1", new: "ng2"},
		{name: "react-router", dir: "react-router-builds", old: "rr1", new: "rr2"},
		{name: "parcel", dir: "parcel-builds", old: "pc1", new: "pc2"},
		{name: "astro", dir: "astro-builds", old: "as1", new: "as2", flags: []string{"--spa=false"}, pages: true, transitions: true},
		{name: "rsbuild-vue", dir: "rsbuild-vue-builds", old: "rs1", new: "rs2"},
	}
)

func (f fixture) path(version string) string {
	return filepath.Join("..", "..", "fixtures", f.dir, version)
}

// start runs a server on the fixture's old build with its flags.
func (f fixture) start(t *testing.T, extra ...string) *server {
	t.Helper()
	return startServer(t, f.path(f.old), f.old, append(slices.Clone(f.flags), extra...)...)
}

// server is a `skewless serve` process on a builds folder of the test's own.
type server struct {
	URL    string
	Builds string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited

	mu        sync.Mutex
	logs      []string
	activated map[string]time.Time // by version, from the "activated" log lines
}

// startServer copies the build at src into a fresh builds folder as
// version, runs the binary on it with extra flags, and waits until it is
// healthy. The process is stopped (SIGTERM) when the test ends.
func startServer(t *testing.T, src, version string, extra ...string) *server {
	t.Helper()
	s := &server{Builds: t.TempDir(), done: make(chan struct{}), activated: map[string]time.Time{}}
	if err := manifesttest.CopyTree(src, filepath.Join(s.Builds, version)); err != nil {
		t.Fatal(err)
	}
	// The package's servers share one cache of compressed variants, as one
	// server across restarts does: each fixture's files are compressed once
	// per run, not by every test's server (brotli at its best is slow).
	state := filepath.Join(s.Builds, manifest.StateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(variantsCache, filepath.Join(state, "cache")); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--builds", s.Builds, "--addr", "127.0.0.1:0",
		"--metrics-addr", "", "--settle", "50ms", "--log-format", "json"}, extra...)
	s.cmd = exec.Command(skewlessBin, args...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go s.readLogs(stderr, addr)
	t.Cleanup(func() { s.stop(t) })

	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		t.Fatalf("skewless exited before listening:\n%s", s.Logs())
	case <-time.After(startWithin):
		t.Fatalf("skewless did not listen within %v:\n%s", startWithin, s.Logs())
	}
	s.waitFor(t, "healthy", 10*time.Second, func() bool {
		status, _ := s.get("/_skewless/health")
		return status == http.StatusOK
	})
	return s
}

// startWithin bounds a server's start (it listens once its current build
// is loaded) and a deploy's activation: compressing a framework's chunks
// takes seconds on a busy machine. Tests time what follows an activation.
const startWithin = time.Minute

// readLogs keeps the JSON log lines and sends the listening address once.
func (s *server) readLogs(r io.Reader, addr chan<- string) {
	defer close(s.done)
	defer func() { _ = s.cmd.Wait() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var entry struct{ Msg, Addr, Version, TS string }
		_ = json.Unmarshal([]byte(line), &entry)
		s.mu.Lock()
		s.logs = append(s.logs, line)
		if entry.Msg == "activated" && entry.Version != "" {
			// zapcore.ISO8601TimeEncoder
			if ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", entry.TS); err == nil {
				s.activated[entry.Version] = ts
			}
		}
		s.mu.Unlock()
		if entry.Msg == "listening" && entry.Addr != "" {
			select {
			case addr <- entry.Addr:
			default:
			}
		}
	}
}

func (s *server) base() string { return s.URL }

// Logs returns the server's log so far.
func (s *server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

func (s *server) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("skewless did not stop within 10s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.Logs())
	}
}

func (s *server) get(path string) (int, []byte) {
	res, err := http.Get(s.URL + path)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// Current returns the version the server serves now.
func (s *server) Current() string {
	status, body := s.get("/_skewless/version")
	var v struct{ Version string }
	if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Version
}

// waitFor checks cond every 10ms until it holds or the deadline passes.
func (s *server) waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("server not %s within %v:\n%s", what, within, s.Logs())
		}
		time.Sleep(10 * time.Millisecond) // retry interval, not a wait for behaviour
	}
}

// Activated waits until the server logged the activation of version and
// returns its time (millisecond precision): when it began to serve it.
func (s *server) Activated(t *testing.T, version string) time.Time {
	t.Helper()
	var at time.Time
	s.waitFor(t, "activating "+version, startWithin, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		at = s.activated[version]
		return !at.IsZero()
	})
	return at
}

// WaitServing waits until the server's current build is version.
func (s *server) WaitServing(t *testing.T, version string) {
	t.Helper()
	s.waitFor(t, "serving "+version, startWithin, func() bool { return s.Current() == version })
}

// WaitRetired waits until the server answers path as a retired asset. A
// superseded build retires shortly after the activation that superseded
// it, even with --grace 0.
func (s *server) WaitRetired(t *testing.T, path string) {
	t.Helper()
	s.waitFor(t, "retiring "+path, 10*time.Second, func() bool {
		res, err := http.Get(s.URL + path)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusNotFound && res.Header.Get("Skewless-Asset") == "retired"
	})
}

// Deploy drops the build at src into the builds folder as version the way
// a deploy script does: copy to a staging folder the server ignores (its
// name starts with "_"), then rename it into place, atomically. It returns
// the time of the rename.
func (s *server) Deploy(t *testing.T, src, version string) time.Time {
	t.Helper()
	stage := filepath.Join(s.Builds, "_stage-"+version)
	if err := manifesttest.CopyTree(src, stage); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := os.Rename(stage, filepath.Join(s.Builds, version)); err != nil {
		t.Fatal(err)
	}
	return at
}

// freeAddr returns a free local address for a listener of the server.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// metric returns the value of an unlabelled metric on the Prometheus
// listener at addr, or -1.
func metric(addr, name string) float64 {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// CLI runs a sub-command of the binary on the server's builds folder and
// returns its output.
func (s *server) CLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(skewlessBin, append(args, "--builds", s.Builds)...).CombinedOutput()
	if err != nil {
		t.Fatalf("skewless %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// OpenTabs returns the OPEN TABS column of `skewless status` for version.
func (s *server) OpenTabs(t *testing.T, version string) string {
	t.Helper()
	for _, line := range strings.Split(s.CLI(t, "status"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == version {
			return f[len(f)-1]
		}
	}
	return ""
}

// ctxDone reports whether ctx has ended, for loops that retry.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// retiredPath returns the URL path of a file of f's old build that its
// new build lacks: one the server retires when the old build does.
func retiredPath(t *testing.T, f fixture) string {
	t.Helper()
	oldDir, newDir := f.path(f.old), f.path(f.new)
	var found string
	_ = filepath.WalkDir(oldDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || d.IsDir() || strings.HasSuffix(p, ".html") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, _ := filepath.Rel(oldDir, p)
		if _, err := os.Stat(filepath.Join(newDir, rel)); os.IsNotExist(err) && !strings.Contains(rel, "/.") {
			found = "/" + filepath.ToSlash(rel)
		}
		return nil
	})
	if found == "" {
		t.Fatalf("%s: every file of %s is also in %s", f.name, f.old, f.new)
	}
	return found
}

// lazyChunk returns the URL path of the About chunk of the build at dir.
func lazyChunk(t *testing.T, dir string) string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "about") && strings.HasSuffix(d.Name(), ".js") {
			rel, _ := filepath.Rel(dir, p)
			found = append(found, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("About chunks in %s: %v, want one", dir, found)
	}
	return found[0]
}

// brokenBuild copies the Vite build at src without its About chunk. It
// stays valid: index.html does not load lazy chunks, and the chunk's entry
// leaves .vite/manifest.json with it (the server refuses a build whose
// manifest names a missing file).
func brokenBuild(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "broken")
	if err := manifesttest.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	chunk := lazyChunk(t, dst)
	if err := os.Remove(filepath.Join(dst, filepath.FromSlash(chunk))); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dst, ".vite", "manifest.json")
	b, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	const entry = "src/routes/about.js"
	if _, ok := m[entry]; !ok {
		t.Fatalf("%s has no %s", mf, entry)
	}
	delete(m, entry)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}
