package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Dir is the builds folder. Required.
	Dir string
	// Loader loads builds. Required.
	Loader *Loader
	// Grace is how long a superseded build stays live. Default: 0 (retire at once).
	Grace time.Duration
	// Keep is the most superseded builds live at once. Default: 0.
	Keep int
	// Settle is how long a dropped folder must be quiet before it is
	// validated. Optional. Default: 300ms.
	Settle time.Duration
	// Rescan is the interval of the safety-net rescan of the builds
	// folder, for changes no event reported. Optional. Default: 5s.
	Rescan time.Duration
	// HistoryPoll is how often the state file is checked for changes made
	// by `skewless activate` when no event says so. Optional. Default: 1s.
	HistoryPoll time.Duration
	// Log receives state changes. Optional. Default: no logging.
	Log *zap.Logger
	// Observer is told of the registry's work (for metrics).
	// Optional. Default: none.
	Observer Observer
}

// Observer is told of the registry's work. Its methods run on the
// registry's goroutine and must return quickly.
type Observer interface {
	// Rescanned: the builds folder was rescanned, and why ("periodic",
	// "overflow", "watch-error", or a caller's reason).
	Rescanned(reason string)
	// Loaded: a build was loaded into memory.
	Loaded(b *Build)
	// Invalid: a build was found invalid.
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
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return c
}

// Registry knows every build in the builds folder and publishes what to
// serve as immutable Snapshots. One goroutine (run) owns its mutable state,
// so none of it needs a lock; readers only load the atomic pointer.
type Registry struct {
	cfg RegistryConfig
	log *zap.Logger

	snap     atomic.Pointer[Snapshot]
	notifyMu sync.Mutex
	notify   chan struct{}

	cancel context.CancelFunc
	done   chan struct{}

	// Only accessed from the run goroutine (and Start, before it runs).
	hist        *History
	histStat    os.FileInfo
	servedSeq   uint64 // the sequence of the last activation counted by the Observer
	loaded      map[string]*Build
	folders     map[string]*folder
	watcher     *fsnotify.Watcher
	watchFailed map[string]bool // warned about once
	timers      timers
}

// folder is a version folder present in the builds dir.
type folder struct {
	version  string
	pending  bool        // waiting to settle and be validated
	changed  time.Time   // last change seen
	fp       Fingerprint // at the last change
	problems []string    // why it is invalid, when it is
	watched  []string    // folders of its tree added to the watcher
}

// NewRegistry checks the builds folder and returns a registry for it.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	cfg = cfg.withDefaults()
	if _, err := os.ReadDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("builds folder %q: %w", cfg.Dir, err)
	}
	r := &Registry{
		cfg: cfg, log: cfg.Log, notify: make(chan struct{}),
		done:   make(chan struct{}),
		loaded: map[string]*Build{}, folders: map[string]*folder{}, watchFailed: map[string]bool{},
	}
	r.snap.Store(&Snapshot{})
	return r, nil
}

// Snapshot returns the published view. Never nil.
func (r *Registry) Snapshot() *Snapshot { return r.snap.Load() }

// Changed returns a channel closed at the next activation (a change of the
// current build or its sequence number).
func (r *Registry) Changed() <-chan struct{} {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	return r.notify
}

// Start loads the state and the builds, publishes the first snapshot and
// starts watching. It returns once the current build (if any) is served.
func (r *Registry) Start(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch builds folder: %w", err)
	}
	r.watcher = w
	if err := os.MkdirAll(filepath.Join(r.cfg.Dir, StateDir), 0o755); err != nil {
		w.Close()
		return fmt.Errorf("create state folder: %w", err)
	}
	// Watch first, then scan: a folder created in between is seen twice
	// rather than never.
	r.watch()
	hist, err := ReadHistory(r.cfg.Dir)
	if err != nil {
		r.log.Error("state file unusable; rebuilding it from the build folders", zap.Error(err))
	}
	r.hist = hist
	r.servedSeq = hist.Seq // what this process activates counts, not the past
	r.histStat, _ = os.Stat(statePath(r.cfg.Dir))
	if err := r.firstScan(ctx); err != nil {
		w.Close()
		return err
	}
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx)
	return nil
}

// watch adds the builds folder and the state folder to the watcher.
func (r *Registry) watch() {
	for _, d := range []string{r.cfg.Dir, filepath.Join(r.cfg.Dir, StateDir)} {
		if err := r.watcher.Add(d); err != nil && !r.watchFailed[d] {
			r.log.Warn("cannot watch; relying on periodic rescans", zap.String("path", d), zap.Error(err))
			r.watchFailed[d] = true
		} else if err == nil {
			delete(r.watchFailed, d)
		}
	}
}

// Close stops watching and waits for the registry's goroutine.
func (r *Registry) Close() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// update applies fn to the persisted history and adopts the result.
func (r *Registry) update(what string, fn func(*History) error) bool {
	h, corrupt, err := UpdateHistory(r.cfg.Dir, r.hist, fn)
	if corrupt != nil {
		r.log.Error("state file was corrupt; rewrote it from the state in memory", zap.Error(corrupt))
	}
	if err != nil {
		r.log.Error("cannot record "+what, zap.Error(err))
		return false
	}
	r.hist = h
	r.histStat, _ = os.Stat(statePath(r.cfg.Dir))
	return true
}

func (r *Registry) buildDir(v string) string { return filepath.Join(r.cfg.Dir, v) }

// load returns build v, loaded now if it is not in memory yet.
func (r *Registry) load(ctx context.Context, v string) (*Build, error) {
	if b := r.loaded[v]; b != nil {
		return b, nil
	}
	b, err := r.cfg.Loader.Load(ctx, v, r.buildDir(v))
	if err != nil {
		return nil, err
	}
	r.loaded[v] = b
	r.cfg.Observer.Loaded(b) // the loader logs "build loaded"
	return b, nil
}

// reconcile brings memory in line with the history: the current and live
// builds loaded, everything else let go, and a new snapshot published.
func (r *Registry) reconcile(ctx context.Context) {
	r.retireDue()
	cur := r.hist.Current
	if cur != "" {
		if _, err := r.load(ctx, cur); err != nil {
			r.currentFailed(ctx, cur, err)
			return
		}
	}
	var live []*Build
	for _, v := range r.liveVersions() {
		b, err := r.load(ctx, v)
		if err != nil {
			r.log.Error("live build cannot be loaded; retiring it", zap.String("version", v), zap.Error(err))
			if r.retire(v, nil, "retirement") {
				r.reconcile(ctx)
				return
			}
			continue // not recorded: served no more, retired on the next try
		}
		live = append(live, b)
	}
	keep := append([]*Build(nil), live...)
	if cur != "" {
		keep = append(keep, r.loaded[cur])
	}
	for v := range r.loaded {
		if v != cur && !containsBuild(live, v) {
			delete(r.loaded, v)
		}
	}
	r.cfg.Loader.Retain(keep)
	r.publish(r.loaded[cur], live)
}

// currentFailed handles a current build that cannot be loaded (its folder
// gone or changed): the most recently superseded live build takes over.
func (r *Registry) currentFailed(ctx context.Context, v string, err error) {
	r.log.Error("current build cannot be served", zap.String("version", v), zap.Error(err))
	if !r.retire(v, Problems(err), "fallback") {
		return // the snapshot being served stays; the next reconcile tries again
	}
	if r.hist.Current != "" {
		r.log.Warn("fell back to the previous build", zap.String("version", r.hist.Current), zap.Uint64("seq", r.hist.Seq))
	}
	r.reconcile(ctx)
}

// retire retires v, noting problems when there are any, and when v is
// current hands over to the most recently superseded live build. It
// reports whether the state file took the change.
func (r *Registry) retire(v string, problems []string, what string) bool {
	next := ""
	if lv := r.liveVersions(); v == r.hist.Current && len(lv) > 0 {
		next = lv[0]
	}
	now := time.Now()
	return r.update(what, func(h *History) error {
		h.Retire(v, now)
		if problems != nil {
			h.record(v).Problems = problems
		}
		if next != "" {
			h.Activate(next, h.summary(next), now)
		}
		return nil
	})
}

func (h *History) summary(v string) Summary {
	rec := h.Builds[v]
	if rec == nil {
		return Summary{}
	}
	return Summary{Files: rec.Files, Bytes: rec.Bytes, Hashed: rec.Hashed}
}

func containsBuild(bs []*Build, v string) bool {
	for _, b := range bs {
		if b.Version == v {
			return true
		}
	}
	return false
}

// liveVersions are the superseded, unretired builds whose folder is
// present, most recently superseded first.
func (r *Registry) liveVersions() []string {
	var vs []string
	for v, rec := range r.hist.Builds {
		if v != r.hist.Current && !rec.Superseded.IsZero() && rec.Retired.IsZero() && r.folders[v] != nil {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		a, b := r.hist.Builds[vs[i]], r.hist.Builds[vs[j]]
		if !a.Superseded.Equal(b.Superseded) {
			return a.Superseded.After(b.Superseded)
		}
		return vs[i] > vs[j]
	})
	return vs
}

// publish swaps in a new snapshot and wakes the listeners of Changed when
// the current build changed.
func (r *Registry) publish(cur *Build, live []*Build) {
	s := &Snapshot{Seq: r.hist.Seq, Current: cur, Live: live, retired: retiredIndex(r.hist), Builds: r.statuses()}
	if cur == nil {
		s.Seq = 0
	}
	old := r.snap.Swap(s)
	if cur != nil && s.Seq != r.servedSeq {
		r.servedSeq = s.Seq
		r.cfg.Observer.Activated(s.Version(), s.Seq)
	}
	if old.Seq != s.Seq || old.Version() != s.Version() {
		r.notifyMu.Lock()
		close(r.notify)
		r.notify = make(chan struct{})
		r.notifyMu.Unlock()
	}
}

// retiredIndex maps every hashed path of a retired build to the most
// recently retired build that had it. Paths a current or live build still
// serves are found before this index is consulted.
func retiredIndex(h *History) map[string]string {
	var vs []string
	for v, rec := range h.Builds {
		if !rec.Retired.IsZero() {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return h.Builds[vs[i]].Retired.Before(h.Builds[vs[j]].Retired) })
	idx := map[string]string{}
	for _, v := range vs {
		for _, p := range h.Builds[v].Hashed {
			idx[p] = v
		}
	}
	return idx
}

// statuses lists every build the registry knows.
func (r *Registry) statuses() []BuildStatus {
	present := map[string]FolderStatus{}
	for v, f := range r.folders {
		present[v] = FolderStatus{Pending: f.pending, Problems: f.problems, Files: f.fp.Files, Bytes: f.fp.Bytes}
	}
	return ListStatuses(r.hist, present)
}

// FolderStatus is what is known of a version folder that is present.
type FolderStatus struct {
	Pending  bool
	Problems []string
	Files    int
	Bytes    int64
}

// ListStatuses lists every build: those in the history, and present folders
// it does not know yet (pending, or invalid with their problems).
func ListStatuses(h *History, present map[string]FolderStatus) []BuildStatus {
	var out []BuildStatus
	for v, rec := range h.Builds {
		st := h.StateOf(v)
		f, ok := present[v]
		if ok && f.Pending && !h.served(v) {
			st = Pending
		}
		out = append(out, BuildStatus{Version: v, State: st, StateName: st.String(), Seq: rec.Seq,
			Activated: rec.Activated, Superseded: rec.Superseded, RetiredAt: rec.Retired,
			Files: rec.Files, Bytes: rec.Bytes, Problems: rec.Problems, Present: ok})
	}
	for v, f := range present {
		if h.Builds[v] != nil {
			continue
		}
		st := Pending
		if !f.Pending && len(f.Problems) > 0 {
			st = Invalid
		}
		out = append(out, BuildStatus{Version: v, State: st, StateName: st.String(), Files: f.Files, Bytes: f.Bytes, Problems: f.Problems, Present: true})
	}
	SortStatuses(out)
	return out
}

// SortStatuses orders builds newest first: by activation sequence, then
// never-activated ones by name.
func SortStatuses(s []BuildStatus) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Seq != s[j].Seq {
			return s[i].Seq > s[j].Seq
		}
		return s[i].Version > s[j].Version
	})
}
