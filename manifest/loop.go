package manifest

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// loop is the registry's one deciding goroutine. It owns the planner's
// state, the folders as the watcher reported them and the loaded builds;
// after each input it asks plan what to do and does it: write the state,
// start and cancel loads, publish a snapshot.
type loop struct {
	reg      *Registry
	cfg      RegistryConfig
	log      *zap.Logger
	store    StateStore
	ownStore bool
	w        *watcher

	s       planState
	folders map[string]folderView
	builds  map[string]*Build
	results []loadResult
	staged  map[uint64]*Build // finished loads the next plan installs or drops
	loads   map[uint64]context.CancelFunc
	loadc   chan loadDone
	wg      sync.WaitGroup // loads in flight
	loadCtx context.Context
	retired map[string]retiredPaths // path sets of retired and blocked builds, by version
	lost    map[string]bool         // versions whose path list could not be read (said once)
	wake    *time.Timer
	// startSeq is the sequence at start: activations above it are this
	// process's to count.
	startSeq uint64
	started  time.Time
	startup  bool // StartupDone closed

	// cluster is the store in cluster mode (nil otherwise).
	cluster ClusterStore
	// known: the state was read. A cluster instance that could not read
	// it at start (Redis down, foreign data) decides nothing until it can.
	known bool
	// storeErr is the last store error logged, so an outage is said once.
	storeErr string
}

// loadDone is a load's report.
type loadDone struct {
	id      uint64
	version string
	build   *Build
	err     error
	sum     Summary
	digest  string
}

func newLoop(ctx context.Context, r *Registry, store StateStore, own bool, w *watcher, h *History, found map[string]folderEvent) *loop {
	now := time.Now()
	l := &loop{reg: r, cfg: r.cfg, log: r.log, store: store, ownStore: own, w: w,
		folders: map[string]folderView{}, builds: map[string]*Build{}, staged: map[uint64]*Build{},
		loads: map[uint64]context.CancelFunc{}, loadc: make(chan loadDone), loadCtx: ctx,
		retired: map[string]retiredPaths{}, lost: map[string]bool{}, started: now, known: h != nil}
	l.cluster, _ = store.(ClusterStore)
	if h == nil {
		h = newHistory()
	}
	l.s = planState{Hist: h, Mem: map[string]memo{}, Grace: r.cfg.Grace, Keep: r.cfg.Keep}
	if l.cluster != nil {
		l.s.Cluster = &clusterView{Self: l.cluster.Self(), Timeout: r.cfg.BarrierTimeout}
	}
	var names []string
	for v, ev := range found {
		l.folders[v] = folderView{FP: ev.fp, ModTime: ev.modTime}
		names = append(names, v)
	}
	sort.Strings(names)
	r.log.Info("builds found", zap.String("dir", r.cfg.Dir), zap.Strings("builds", names), zap.String("current", h.Current))
	if l.known {
		l.learn(h)
	}
	return l
}

// learn takes the state read at start (or, in a cluster, first read once
// Redis could be reached): what to adopt, which drops are pending.
func (l *loop) learn(h *History) {
	l.known, l.startSeq = true, h.Seq
	l.s = l.s.withHistory(h, l.s.mark(h))
	// A cluster's instance that starts while another's first build waits
	// for the barrier adopts too: its folders are no new deploys, and they
	// turn live beside whichever build the cluster settles on.
	if h.Current == "" {
		l.s.Adopt, l.s.AdoptAt = adoptionOrder(h, l.folders), time.Now()
	}
	for _, v := range slices.Sorted(maps.Keys(l.folders)) {
		l.notePending(v)
	}
}

// adoptionOrder ranks the folders a start without a current build tries:
// those no decision placed, newest folder first.
func adoptionOrder(h *History, found map[string]folderView) map[string]int {
	var vs []string
	for v := range found {
		if st := h.StateOf(v); !h.decided(v) && !h.proposed(v) && st != Retired && st != Blocked {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		a, b := found[vs[i]].ModTime, found[vs[j]].ModTime
		if !a.Equal(b) {
			return a.After(b)
		}
		return vs[i] > vs[j]
	})
	out := make(map[string]int, len(vs))
	for i, v := range vs {
		out[v] = i
	}
	return out
}

func (l *loop) notePending(v string) {
	if _, adopt := l.s.Adopt[v]; !adopt && !l.s.Hist.decided(v) && l.s.Hist.StateOf(v) != Retired &&
		l.s.Hist.StateOf(v) != Blocked {
		l.log.Info("build pending", zap.String("version", v))
	}
}

// run is the loop's goroutine; it ends with ctx, after every load and the
// watcher have ended.
func (l *loop) run(ctx context.Context) {
	defer close(l.reg.done)
	defer l.stop()
	l.step(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-l.w.events():
			l.folderEvent(ev)
		case d := <-l.loadc:
			l.loadFinished(d)
		case <-l.store.Changes():
			l.stateChanged(ctx)
		case <-timerC(l.wake):
			l.wake = nil
		}
		l.step(ctx)
	}
}

// stop cancels the loads and waits for them, the watcher and the store.
func (l *loop) stop() {
	for _, cancel := range l.loads {
		cancel()
	}
	l.wg.Wait()
	<-l.w.done
	if l.ownStore {
		l.store.Close()
	}
	if l.wake != nil {
		l.wake.Stop()
	}
}

func (l *loop) folderEvent(ev folderEvent) {
	v := ev.version
	f, known := l.folders[v]
	switch ev.kind {
	case folderAppeared:
		l.folders[v] = folderView{FP: ev.fp, ModTime: ev.modTime}
		l.notePending(v)
	case folderChanged:
		if known {
			f.Dirty, f.Settled = true, false
			l.folders[v] = f
		}
	case folderSettled:
		if known {
			f.FP, f.Settled, f.Dirty = ev.fp, true, false
			l.folders[v] = f
		}
	case folderGone:
		delete(l.folders, v)
	}
}

func (l *loop) loadFinished(d loadDone) {
	delete(l.loads, d.id)
	if d.err == nil {
		l.staged[d.id] = d.build
	}
	l.results = append(l.results, loadResult{ID: d.id, Version: d.version, Problems: Problems(d.err), Sum: d.sum, Digest: d.digest})
}

// stateChanged follows a change another process made to the state.
func (l *loop) stateChanged(ctx context.Context) {
	h, err := l.store.Read(ctx)
	switch {
	case err == nil && !l.known:
		l.storeErr = ""
		l.log.Info("state read", zap.String("current", h.Current), zap.Uint64("seq", h.Seq))
		l.learn(h)
	case !l.known:
		l.storeTrouble("cannot read the state; nothing is decided until it can be", err)
	case errors.Is(err, ErrStoreUnavailable):
		l.log.Debug("state unreachable; keeping the state in memory", zap.Error(err)) // the store said so, once
	case errors.Is(err, ErrForeignState):
		l.storeTrouble("state unusable; keeping the state in memory", err)
	case errors.Is(err, ErrCorruptState):
		l.log.Error("state file corrupt or lost; rewriting it from the state in memory", zap.Error(err))
		if h, err := l.store.Update(ctx, func(*History) error { return nil }); err == nil {
			l.s = l.s.withHistory(h, l.s.SeenSeq)
			l.keepPathLists(ctx)
		}
	case err != nil:
		l.log.Error("state file unusable; keeping the state in memory", zap.Error(err))
	case h.Rev != l.s.Hist.Rev || h.Seq != l.s.Hist.Seq || h.Current != l.s.Hist.Current:
		l.storeErr = ""
		if h.Current != l.s.Hist.Current {
			l.log.Info("activation in the state file", zap.String("version", h.Current),
				zap.String("previous", l.s.Hist.Current), zap.Uint64("seq", h.Seq))
		}
		l.s = l.s.withHistory(h, l.s.SeenSeq)
	}
}

// step plans and applies the plan; it plans again when writing the state
// met a change by another process, which may ask for more.
func (l *loop) step(ctx context.Context) {
	if !l.known {
		return // a cluster's state not read yet: nothing to decide from
	}
	for range 4 {
		l.followCluster()
		s, acts := plan(l.s, l.folders, l.results, time.Now())
		l.results = nil
		before := l.s.Hist
		l.s = s
		l.apply(acts)
		again := len(acts.Ops) > 0 && l.write(ctx, before, acts.Ops)
		for _, r := range acts.Load {
			l.startLoad(r)
		}
		l.publish()
		if !again {
			break
		}
	}
	l.reportCluster()
	if !l.startup && len(l.loads) == 0 {
		l.startup = true
		close(l.reg.startup)
	}
}

// apply does what a plan says with loads and loaded builds.
func (l *loop) apply(acts actions) {
	for _, id := range acts.Cancel {
		if cancel := l.loads[id]; cancel != nil {
			cancel()
			delete(l.loads, id)
		}
	}
	for _, id := range acts.Install {
		b := l.staged[id]
		if b == nil {
			continue
		}
		l.builds[b.Version] = b
		l.cfg.Observer.Loaded(b) // the loader logs "build loaded"
	}
	clear(l.staged)
	for _, v := range acts.Unload {
		if st := l.s.Hist.StateOf(v); l.builds[v] != nil && (st == Retired || st == Blocked) {
			b := l.builds[v]
			l.retired[v] = retiredPaths{version: v, digest: l.s.Hist.Builds[v].Paths, paths: pathSet(buildPaths(b))}
		}
		delete(l.builds, v)
	}
	if len(acts.Install)+len(acts.Unload) > 0 {
		l.cfg.Loader.Retain(l.loaded())
	}
	if l.wake != nil {
		l.wake.Stop()
		l.wake = nil
	}
	if !acts.Wake.IsZero() {
		l.wake = time.NewTimer(time.Until(acts.Wake))
	}
}

func (l *loop) loaded() []*Build {
	out := make([]*Build, 0, len(l.builds))
	for _, b := range l.builds {
		out = append(out, b)
	}
	return out
}

// write applies ops to the freshest state. It reports whether another
// process had changed the state meanwhile (the plan was made without it).
func (l *loop) write(ctx context.Context, before *History, ops []stateOp) bool {
	var baseRev, baseSeq uint64
	h, err := l.store.Update(ctx, func(fresh *History) error {
		baseRev, baseSeq = fresh.Rev, l.s.mark(fresh)
		applyOps(fresh, ops, time.Now())
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrForeignState) {
			// Made again from the state once the store can take it.
			l.storeTrouble("cannot record the state; the change waits", err, zap.Strings("changes", opList(ops)))
		} else {
			l.log.Error("cannot record the state; the change is not made", zap.Strings("changes", opList(ops)), zap.Error(err))
		}
		l.s = l.s.withHistory(before, l.s.mark(before))
		return false
	}
	l.storeErr = ""
	foreign := baseRev != before.Rev
	if baseSeq != l.s.mark(before) {
		// Another process activated a build meanwhile: a decision this
		// process did not make, counted by the next plan.
		l.s = l.s.withHistory(h, l.s.mark(before))
	} else {
		l.s = l.s.withHistory(h, l.s.mark(h))
	}
	for _, op := range ops {
		l.logOp(op, h)
	}
	return foreign
}

func opList(ops []stateOp) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.kind.String() + " " + op.version
	}
	return out
}

// logOp says what a change to the state did (activations are said when
// they are served, by publish).
func (l *loop) logOp(op stateOp, h *History) {
	v := zap.String("version", op.version)
	switch op.kind {
	case opRetire:
		if h.StateOf(op.version) == Retired {
			l.log.Info("retired", v, zap.String("why", op.why), zap.Strings("problems", op.problems))
		}
	case opFallback:
		l.log.Warn("current build retired; the newest live build takes over", v, zap.String("why", op.why),
			zap.Strings("problems", op.problems), zap.String("current", h.Current))
	case opDeploy, opPassOver:
		if h.Current != op.version {
			l.log.Info("build passed over: a later decision chose another build; it will be ready, not current", v)
		}
	case opInvalid:
		l.cfg.Observer.Invalid(op.version, op.problems)
		l.log.Error("build invalid", v, zap.Strings("problems", op.problems))
	case opProblems:
		l.cfg.Observer.Invalid(op.version, op.problems)
		l.log.Warn("build folder changed into an invalid build; its last good load keeps serving", v,
			zap.Strings("problems", op.problems))
	}
}

// startLoad runs one load on a goroutine of its own; it reports on loadc.
func (l *loop) startLoad(r loadReq) {
	ctx, cancel := context.WithCancel(l.loadCtx)
	l.loads[r.ID] = cancel
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer cancel()
		d := loadDone{id: r.ID, version: r.Version}
		d.build, d.err = l.cfg.Loader.Load(ctx, r.Version, filepath.Join(l.cfg.Dir, r.Version))
		var paths []string
		if d.err == nil {
			d.sum = SummaryOf(d.build)
			paths = buildPaths(d.build)
			d.sum.Paths = pathsDigest(encodePaths(paths))
			d.digest = BuildDigest(d.build)
		}
		select {
		case l.loadc <- d:
		case <-ctx.Done():
			return
		}
		// Kept after the report, off the way to serving: the list is only
		// read once the build has retired and its folder may be gone.
		if paths != nil {
			if _, err := l.store.SavePaths(context.WithoutCancel(ctx), r.Version, paths); err != nil {
				l.log.Warn("cannot keep the build's path list; its retired marker will not survive a restart",
					zap.String("version", r.Version), zap.Error(err))
			}
		}
	}()
}

// sortedLive lists the live builds in memory, most recently superseded
// first.
func (l *loop) sortedLive() []*Build {
	h := l.s.Hist
	var vs []string
	for v := range h.Builds {
		if v != l.s.Served && l.builds[v] != nil && h.StateOf(v) == Live {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b string) int {
		if c := h.Builds[b].Superseded.Compare(h.Builds[a].Superseded); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	out := make([]*Build, len(vs), len(vs)+1)
	for i, v := range vs {
		out[i] = l.builds[v]
	}
	if b := l.awaited(); b != nil {
		out = append(out, b)
	}
	return out
}

// keepPathLists writes back the path lists this process knows (of the
// builds it holds, and of the retired and blocked builds whose lists it
// read), after a state that was lost was written back: a store that lost
// the state (a Redis restarted empty) lost them too, and an instance that
// joins reads them to answer those builds' paths with their markers.
func (l *loop) keepPathLists(ctx context.Context) {
	lists := map[string][]string{}
	for v, c := range l.retired {
		lists[v] = slices.Sorted(maps.Keys(c.paths))
	}
	for v, b := range l.builds {
		lists[v] = buildPaths(b)
	}
	for _, v := range slices.Sorted(maps.Keys(lists)) {
		if _, err := l.store.SavePaths(context.WithoutCancel(ctx), v, lists[v]); err != nil {
			l.log.Warn("cannot write back the build's path list", zap.String("version", v), zap.Error(err))
		}
	}
}
