package manifest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const fixtureBuilds = "../fixtures/builds"

func startRegistry(t *testing.T, dir string, rescan time.Duration) (*Registry, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	l := NewLoader(LoaderConfig{Log: zap.New(core)})
	t.Cleanup(l.Close)
	r, err := NewRegistry(RegistryConfig{Dir: dir, Loader: l, Grace: time.Hour, Keep: 10,
		Settle: 20 * time.Millisecond, Rescan: rescan, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	waitStartup(t, r)
	// As moments after the builds went live: their background compression
	// would otherwise compete with the tests' copies, which must not pause
	// for the 20ms settle time.
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r, logs
}

// waitStartup waits until the builds found at start are loaded.
func waitStartup(t *testing.T, r *Registry) {
	t.Helper()
	select {
	case <-r.StartupDone():
	case <-time.After(20 * time.Second):
		t.Fatal("the builds found at start did not load within 20s")
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// blindWatcher stops the registry's watcher from seeing the builds folder,
// as on a filesystem without inotify or after events were dropped. Removing
// a watch is asynchronous in the kernel, so it is proven by a probe folder
// that must go unnoticed.
func blindWatcher(t *testing.T, r *Registry, dir string) {
	t.Helper()
	if err := r.w.fsw.Remove(dir); err != nil {
		t.Fatal(err)
	}
}

// An inotify queue overflow (IN_Q_OVERFLOW → fsnotify.ErrEventOverflow)
// means events were lost: the registry rescans at once and finds the build
// no event announced.
func TestOverflowTriggersRescan(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	r, logs := startRegistry(t, dir, time.Hour) // no periodic rescan in this test
	if v := r.Snapshot().Version(); v != "v1" {
		t.Fatalf("start: %q", v)
	}
	blindWatcher(t, r, dir)
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "v2"))
	r.w.fsw.Errors <- fsnotify.ErrEventOverflow
	waitFor(t, 5*time.Second, "v2 current after the overflow rescan", func() bool { return r.Snapshot().Version() == "v2" })
	if logs.FilterMessage("watcher error; rescanning").FilterField(zap.String("reason", "overflow")).Len() != 1 {
		t.Fatal("overflow not logged with its reason")
	}
}

// On a filesystem that delivers no events (NFS, some container mounts) the
// periodic rescan alone deploys, only slower; it also sees removals.
func TestPeriodicRescanWithoutEvents(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	r, _ := startRegistry(t, dir, 50*time.Millisecond)
	blindWatcher(t, r, dir)
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "v2"))
	waitFor(t, 5*time.Second, "v2 current by rescan", func() bool { return r.Snapshot().Version() == "v2" })
	if f := r.Snapshot().LiveFile("/assets/about-Br9WxIf2.js"); f == nil {
		t.Fatal("v1 not live after the rescan deploy")
	}
	if err := os.RemoveAll(filepath.Join(dir, "v1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "v1 retired by rescan", func() bool {
		return r.Snapshot().RetiredBy("/assets/about-Br9WxIf2.js") == "v1"
	})
}

// Loading a build that shares files with the current one reuses their
// prepared content: same *Content, not read or compressed again.
func TestRegistryReusesSharedContent(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	r, logs := startRegistry(t, dir, time.Hour)
	before := r.Snapshot().File("/assets/index-BJZwVCD_.css")
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "_v2"))
	if err := os.Rename(filepath.Join(dir, "_v2"), filepath.Join(dir, "v2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "v2 current", func() bool { return r.Snapshot().Version() == "v2" })
	after := r.Snapshot().File("/assets/index-BJZwVCD_.css")
	if before.Content != after.Content {
		t.Fatal("shared CSS was prepared again")
	}
	e := logs.FilterMessage("build loaded").FilterField(zap.String("version", "v2")).All()
	if len(e) != 1 {
		t.Fatalf("load log lines: %d", len(e))
	}
	// v1 and v2 share the CSS, the vendor chunk, favicon and robots.txt.
	if reused := e[0].ContextMap()["reused"]; reused != int64(4) {
		t.Fatalf("reused = %v, want 4", reused)
	}
}

// v2OverV1 returns a builds folder whose state has v2 current and v1 live,
// as a registry that saw v2 deployed over v1 left it (and stopped).
func v2OverV1(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	r, _ := startRegistry(t, dir, time.Hour)
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "v2"))
	waitFor(t, 5*time.Second, "v2 current", func() bool { return r.Snapshot().Version() == "v2" })
	r.Close()
	return dir
}

// A current build whose folder was deleted while the server was down hands
// over to the live one on start, as when it goes while running.
func TestStartWithCurrentFolderGone(t *testing.T) {
	dir := v2OverV1(t)
	if err := os.RemoveAll(filepath.Join(dir, "v2")); err != nil {
		t.Fatal(err)
	}
	r2, _ := startRegistry(t, dir, time.Hour)
	if v := r2.Snapshot().Version(); v != "v1" {
		t.Fatalf("current after a restart without v2's folder: %q, want v1", v)
	}
	if h, err := ReadHistory(dir); err != nil || h.StateOf("v2") != Retired {
		t.Fatalf("v2 in the state file: %v (%v), want retired", h.StateOf("v2"), err)
	}
}

// An invalid folder found on a first start is validated once, not again
// after the settle time with nothing changed.
func TestFirstStartValidatesAnInvalidFolderOnce(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "broken"))
	if err := os.Remove(filepath.Join(dir, "broken", "index.html")); err != nil {
		t.Fatal(err)
	}
	r, logs := startRegistry(t, dir, time.Hour)
	// Well past the 20ms settle time: a second validation would be logged.
	probe := filepath.Join(dir, "probe")
	copyBuild(t, filepath.Join(fixtureBuilds, "v3"), probe)
	waitFor(t, 5*time.Second, "the probe build validated", func() bool { return r.Snapshot().Version() == "probe" })
	if n := logs.FilterMessage("build invalid").Len(); n != 1 {
		t.Fatalf("the invalid folder was validated %d times", n)
	}
}

// When the state file cannot be written, a live build that fails to load
// is left out of what is served; the registry does not retry without end.
func TestUnwritableStateWithABrokenLiveBuild(t *testing.T) {
	dir := v2OverV1(t)
	if err := os.Remove(filepath.Join(dir, "v1", "index.html")); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, StateDir, "lock")
	if err := os.RemoveAll(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(lock, 0o755); err != nil { // the state file can be read, not updated
		t.Fatal(err)
	}
	started := make(chan *Registry, 1)
	go func() {
		r2, err := NewRegistry(RegistryConfig{Dir: dir, Loader: NewLoader(LoaderConfig{}), Grace: time.Hour, Keep: 10,
			Settle: 20 * time.Millisecond, Rescan: time.Hour, Log: zap.NewNop()})
		if err == nil && r2.Start(context.Background()) == nil {
			<-r2.StartupDone()
			started <- r2
		}
		close(started)
	}()
	select {
	case r2, ok := <-started:
		if !ok {
			t.Fatal("the registry did not start")
		}
		defer r2.Close()
		if s := r2.Snapshot(); s.Version() != "v2" || len(s.Live) != 0 {
			t.Fatalf("current %q with %d live builds; want v2 and none", s.Version(), len(s.Live))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return within 10s")
	}
}

// gatedLoader holds the loads of one version until released, as a large
// build's load would take long.
type gatedLoader struct {
	*Loader
	version string
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedLoader) Load(ctx context.Context, version, dir string) (*Build, error) {
	if version == g.version {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Loader.Load(ctx, version, dir)
}

// Two drops loading at once: the later one wins, the earlier one ends
// ready; after a restart it is still ready, not taken for a new deploy.
func TestLaterDropWinsEarlierEndsReady(t *testing.T) {
	dir := t.TempDir()
	copyBuild(t, filepath.Join(fixtureBuilds, "v1"), filepath.Join(dir, "v1"))
	g := &gatedLoader{Loader: NewLoader(LoaderConfig{}), version: "v2", entered: make(chan struct{}), release: make(chan struct{})}
	r, err := NewRegistry(RegistryConfig{Dir: dir, Loader: g, Grace: time.Hour, Keep: 10, Settle: 20 * time.Millisecond, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitStartup(t, r)
	copyBuild(t, filepath.Join(fixtureBuilds, "v2"), filepath.Join(dir, "v2"))
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("v2's load did not start")
	}
	copyBuild(t, filepath.Join(fixtureBuilds, "v3"), filepath.Join(dir, "v3"))
	waitFor(t, 10*time.Second, "v3 current while v2 still loads", func() bool { return r.Snapshot().Version() == "v3" })
	close(g.release)
	state := func(v string) State {
		for _, b := range r.Snapshot().Builds {
			if b.Version == v {
				return b.State
			}
		}
		return Unknown
	}
	waitFor(t, 10*time.Second, "v2 ready", func() bool { return state("v2") == Ready })
	if v := r.Snapshot().Version(); v != "v3" {
		t.Fatalf("the earlier drop took over: %q", v)
	}
	r.Close()

	r2, _ := startRegistry(t, dir, time.Hour)
	waitFor(t, 5*time.Second, "v2 ready after a restart", func() bool {
		for _, b := range r2.Snapshot().Builds {
			if b.Version == "v2" {
				return b.State == Ready
			}
		}
		return false
	})
	if v := r2.Snapshot().Version(); v != "v3" {
		t.Fatalf("after a restart: %q, want v3", v)
	}
}
