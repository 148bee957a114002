package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// BuildLoader turns build folders into Builds (a *Loader). Load runs on a
// goroutine of its own, beside the registry's decisions, and must stop
// soon after ctx ends.
type BuildLoader interface {
	Load(ctx context.Context, version, dir string) (*Build, error)
	// Retain tells the loader which builds are in use, so it can forget
	// what only others used.
	Retain(builds []*Build)
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Dir is the builds folder. Required.
	Dir string
	// Loader loads builds. Required.
	Loader BuildLoader
	// Store keeps the state. Optional. Default: a FileStore in
	// Dir/.skewless, watched every HistoryPoll.
	Store StateStore
	// Grace is how long a superseded build stays live. Default: 0 (retire at once).
	Grace time.Duration
	// Keep is the most superseded builds live at once. Default: 0.
	Keep int
	// Base is the URL path the builds are served under, recorded with the
	// policy for the commands that validate builds. Optional. Default: "".
	Base string
	// Settle is how long a dropped folder must be quiet before it is
	// validated. Optional. Default: 300ms.
	Settle time.Duration
	// Rescan is the interval of the safety-net rescan of the builds
	// folder, for changes no event reported. Optional. Default: 5s.
	Rescan time.Duration
	// HistoryPoll is how often the state file is checked for changes made
	// by `skewless activate` when no event says so. Optional. Default: 1s.
	HistoryPoll time.Duration
	// BarrierTimeout is, in a cluster (a ClusterStore), how long a build
	// this instance proposes waits for every live instance to load it;
	// past it, it activates when at least half of them have it.
	// Optional. Default: 60s.
	BarrierTimeout time.Duration
	// Log receives state changes. Optional. Default: no logging.
	Log *zap.Logger
	// Observer is told of the registry's work (for metrics).
	// Optional. Default: none.
	Observer Observer
}

// Observer is told of the registry's work. Its methods run on the
// registry's goroutines and must return quickly.
type Observer interface {
	// Rescanned: the builds folder was rescanned, and why ("periodic",
	// "overflow", "watch-error", "builds-folder-back").
	Rescanned(reason string)
	// Loaded: a build was loaded into memory.
	Loaded(b *Build)
	// Invalid: a build (or a change to a present one) was found invalid.
	Invalid(version string, problems []string)
	// Activated: a snapshot with a newly activated current build was
	// published (activations between two snapshots count once).
	Activated(version string, seq uint64)
}

type nopObserver struct{}

func (nopObserver) Rescanned(string)         {}
func (nopObserver) Loaded(*Build)            {}
func (nopObserver) Invalid(string, []string) {}
func (nopObserver) Activated(string, uint64) {}

func (c RegistryConfig) withDefaults() RegistryConfig {
	if c.Settle == 0 {
		c.Settle = 300 * time.Millisecond
	}
	if c.Rescan <= 0 {
		c.Rescan = 5 * time.Second
	}
	if c.HistoryPoll <= 0 {
		c.HistoryPoll = time.Second
	}
	if c.BarrierTimeout <= 0 {
		c.BarrierTimeout = time.Minute
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return c
}

// Registry knows every build in the builds folder and publishes what to
// serve as immutable Snapshots. Three kinds of goroutine do its work: a
// watcher that reports what happens to version folders, loads that each
// read one build, and one loop that owns every decision and all mutable
// state (it asks the pure planner, then applies what it says). Readers
// only load the atomic pointer.
type Registry struct {
	cfg RegistryConfig
	log *zap.Logger

	snap     atomic.Pointer[Snapshot]
	notifyMu sync.Mutex
	notify   chan struct{}
	startup  chan struct{}

	w      *watcher // for tests: the watcher Start made
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRegistry checks the builds folder and returns a registry for it.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	cfg = cfg.withDefaults()
	if cfg.Loader == nil {
		return nil, errors.New("registry: no loader")
	}
	if _, err := os.ReadDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("builds folder %q: %w", cfg.Dir, err)
	}
	r := &Registry{cfg: cfg, log: cfg.Log, notify: make(chan struct{}), startup: make(chan struct{}), done: make(chan struct{})}
	r.snap.Store(&Snapshot{})
	return r, nil
}

// Snapshot returns the published view. Never nil.
func (r *Registry) Snapshot() *Snapshot { return r.snap.Load() }

// Changed returns a channel closed at the next activation (a change of the
// current build or its sequence number) or change of the blocked builds.
func (r *Registry) Changed() <-chan struct{} {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	return r.notify
}

// StartupDone is closed once the builds found at start are loaded (the
// current one first, published as soon as it is) or found invalid.
func (r *Registry) StartupDone() <-chan struct{} { return r.startup }

// Start reads the state, starts watching and starts the loop. It does not
// wait for any build to load: the published snapshot has no current build
// until the current one is loaded.
func (r *Registry) Start(ctx context.Context) error {
	store, own := r.cfg.Store, false
	if store == nil {
		fs, err := OpenFileStore(r.cfg.Dir, FileStoreConfig{Poll: r.cfg.HistoryPoll, OnCorrupt: func(err error) {
			r.log.Error("state file was corrupt or lost; rewrote it from the state in memory", zap.Error(err))
		}})
		if err != nil {
			return err
		}
		store, own = fs, true
	}
	h, err := store.Read(ctx)
	if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrForeignState) {
		// A cluster's state that cannot be read yet: the loop reads it
		// once the store can (h stays nil: unknown, not empty).
		r.log.Error("cannot read the cluster's state; nothing serves until it can be read", zap.Error(err))
		h = nil
	} else {
		if err != nil {
			r.log.Error("state file unusable; rebuilding it from the build folders", zap.Error(err))
		}
		if h == nil {
			h = newHistory()
		}
	}
	if err == nil {
		h = r.recordPolicy(ctx, store, h)
	}
	w, found, err := startWatcher(watcherConfig{Dir: r.cfg.Dir, Settle: r.cfg.Settle, Rescan: r.cfg.Rescan,
		Log: r.log, Observer: r.cfg.Observer})
	if err != nil {
		if own {
			store.Close()
		}
		return fmt.Errorf("watch builds folder %q: %w", r.cfg.Dir, err)
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.w = w
	l := newLoop(ctx, r, store, own, w, h, found)
	go w.run(ctx)
	go l.run(ctx)
	return nil
}

// recordPolicy writes the retirement policy into the state when it
// changed, so `status` can say when live builds retire.
func (r *Registry) recordPolicy(ctx context.Context, store StateStore, h *History) *History {
	p := Policy{Grace: Duration(r.cfg.Grace), Keep: r.cfg.Keep, Base: r.cfg.Base}
	if h.Policy != nil && *h.Policy == p {
		return h
	}
	nh, err := store.Update(ctx, func(h *History) error {
		h.Policy = &p
		return nil
	})
	if err != nil {
		r.log.Warn("cannot record the retirement policy in the state; status will not say when builds retire", zap.Error(err))
		return h
	}
	return nh
}

// Rescan asks for a rescan of the builds folder now, as the periodic one
// does (a folder changed where no event says so; an operator's SIGHUP).
// It does nothing before Start.
func (r *Registry) Rescan() {
	if r.w != nil {
		r.w.requestRescan()
	}
}

// Close stops the registry and waits for its goroutines: the loop, the
// watcher, every load and the store's.
func (r *Registry) Close() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// publish swaps in s and wakes the listeners of Changed when the current
// build, its sequence or the blocked builds changed.
func (r *Registry) publish(s *Snapshot) (old *Snapshot) {
	old = r.snap.Swap(s)
	if old.Seq != s.Seq || old.Version() != s.Version() || !slices.Equal(old.BlockedVersions(), s.BlockedVersions()) {
		r.notifyMu.Lock()
		close(r.notify)
		r.notify = make(chan struct{})
		r.notifyMu.Unlock()
	}
	return old
}
