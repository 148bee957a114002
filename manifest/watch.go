package manifest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// timers are the registry's wake-ups, each nil when not armed.
type timers struct {
	settle *time.Timer // the next pending folder is due for a look
	retire *time.Timer // the next live build is due to retire
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func rearm(t **time.Timer, d time.Duration) {
	if *t != nil {
		(*t).Stop()
	}
	*t = time.NewTimer(max(d, 0))
}

// run is the registry's one goroutine: events, timers, rescans.
func (r *Registry) run(ctx context.Context) {
	defer close(r.done)
	defer r.watcher.Close()
	rescan := time.NewTicker(r.cfg.Rescan)
	defer rescan.Stop()
	poll := time.NewTicker(r.cfg.HistoryPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			r.handleEvent(ctx, ev)
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			reason := "watch-error"
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				reason = "overflow"
			}
			r.log.Warn("watcher error; rescanning", zap.String("reason", reason), zap.Error(err))
			r.rescan(ctx, reason)
		case reason := <-r.rescanReq:
			r.rescan(ctx, reason)
		case <-rescan.C:
			r.rescan(ctx, "periodic")
		case <-poll.C:
			r.checkHistory(ctx)
		case <-timerC(r.timers.settle):
			r.timers.settle = nil
			r.checkPending(ctx)
		case <-timerC(r.timers.retire):
			r.timers.retire = nil
			r.retireDue(ctx)
		}
	}
}

// versionFolders lists the sub-folders of the builds dir that are builds.
func (r *Registry) versionFolders() (map[string]bool, error) {
	entries, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range entries {
		if !ValidVersion(e.Name()) {
			continue
		}
		if info, err := os.Stat(filepath.Join(r.cfg.Dir, e.Name())); err == nil && info.IsDir() {
			out[e.Name()] = true
		}
	}
	return out, nil
}

// firstScan registers the folders found at start. Without a current build
// in the history (a first start, or a lost state file) the newest valid
// folder becomes current at once and the other valid ones live; otherwise
// folders the history does not know are new deploys and wait to settle.
func (r *Registry) firstScan(ctx context.Context) error {
	present, err := r.versionFolders()
	if err != nil {
		return err
	}
	for v := range present {
		r.folders[v] = &folder{version: v}
	}
	if r.hist.Current == "" {
		r.adoptFolders(ctx, present)
	}
	for v := range present {
		if !r.hist.served(v) {
			r.markPending(r.folders[v])
		}
	}
	for v, rec := range r.hist.Builds {
		if !present[v] && (v == r.hist.Current || (!rec.Superseded.IsZero() && rec.Retired.IsZero())) {
			r.log.Warn("build folder is gone; retiring it", zap.String("version", v))
			r.update("retirement", func(h *History) error { h.Retire(v, time.Now()); return nil })
		}
	}
	names := make([]string, 0, len(present))
	for v := range present {
		names = append(names, v)
	}
	sort.Strings(names)
	r.log.Info("builds found", zap.String("dir", r.cfg.Dir), zap.Strings("builds", names), zap.String("current", r.hist.Current))
	r.reconcile(ctx)
	return nil
}

// adoptFolders validates every unknown folder now and makes the newest
// valid one current.
func (r *Registry) adoptFolders(ctx context.Context, present map[string]bool) {
	type cand struct {
		v   string
		mod time.Time
		b   *Build
	}
	var valid []cand
	for v := range present {
		if rec := r.hist.Builds[v]; rec != nil && !rec.Retired.IsZero() {
			continue
		}
		b, err := r.load(ctx, v)
		if err != nil {
			r.invalid(r.folders[v], err)
			continue
		}
		info, _ := os.Stat(r.buildDir(v))
		valid = append(valid, cand{v, info.ModTime(), b})
	}
	if len(valid) == 0 {
		return
	}
	sort.Slice(valid, func(i, j int) bool {
		if !valid[i].mod.Equal(valid[j].mod) {
			return valid[i].mod.After(valid[j].mod)
		}
		return valid[i].v > valid[j].v
	})
	now := time.Now()
	r.update("activation", func(h *History) error {
		for i := len(valid) - 1; i > 0; i-- {
			h.Supersede(valid[i].v, SummaryOf(valid[i].b), now.Add(-time.Duration(i)))
		}
		h.Activate(valid[0].v, SummaryOf(valid[0].b), now)
		return nil
	})
	r.log.Info("activated", zap.String("version", valid[0].v), zap.Uint64("seq", r.hist.Seq),
		zap.String("why", "newest valid build folder"), zap.Int("files", len(valid[0].b.Files)), zap.Int64("bytes", valid[0].b.Bytes))
}

// handleEvent routes one fsnotify event.
func (r *Registry) handleEvent(ctx context.Context, ev fsnotify.Event) {
	rel, err := filepath.Rel(r.cfg.Dir, ev.Name)
	if err != nil || rel == "." {
		return
	}
	top, inner, _ := strings.Cut(filepath.ToSlash(rel), "/")
	if top == StateDir {
		if inner == "state.json" {
			r.checkHistory(ctx)
		}
		return
	}
	if !ValidVersion(top) {
		return
	}
	f := r.folders[top]
	switch {
	case inner == "" && ev.Has(fsnotify.Create):
		if f == nil {
			r.appeared(ctx, top)
		}
	case inner == "" && ev.Has(fsnotify.Remove|fsnotify.Rename):
		if _, err := os.Stat(ev.Name); errors.Is(err, fs.ErrNotExist) && f != nil {
			r.gone(ctx, top)
		}
	case f != nil && (f.pending || len(f.problems) > 0):
		if ev.Has(fsnotify.Create) {
			if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
				r.watchTree(f, ev.Name)
			}
		}
		r.touch(f)
	}
}

// appeared registers a new version folder. One the history knows (rolled
// back into place, say) keeps its state; a new one waits to settle.
func (r *Registry) appeared(ctx context.Context, v string) {
	info, err := os.Stat(r.buildDir(v))
	if err != nil || !info.IsDir() {
		return
	}
	f := &folder{version: v}
	r.folders[v] = f
	if r.hist.served(v) {
		r.reconcile(ctx)
		return
	}
	r.markPending(f)
	r.publish(r.loaded[r.hist.Current], r.snap.Load().Live)
}

func (r *Registry) markPending(f *folder) {
	if !f.pending {
		r.log.Info("build pending", zap.String("version", f.version))
	}
	f.pending = true
	f.problems = nil
	r.watchTree(f, r.buildDir(f.version))
	r.touch(f)
}

// touch restarts a pending folder's settle time.
func (r *Registry) touch(f *folder) {
	f.pending = true
	f.changed = time.Now()
	f.fp, _ = TakeFingerprint(r.buildDir(f.version))
	r.armSettle()
}

// watchTree adds root and its sub-folders to the watcher, so writes
// anywhere in a pending build restart its settle time (fsnotify is not
// recursive).
func (r *Registry) watchTree(f *folder, root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if r.watcher.Add(p) == nil {
				f.watched = append(f.watched, p)
			}
		}
		return nil
	})
}

func (r *Registry) unwatch(f *folder) {
	for _, p := range f.watched {
		_ = r.watcher.Remove(p)
	}
	f.watched = nil
}

// armSettle sets the settle timer for the earliest pending folder.
func (r *Registry) armSettle() {
	var next time.Time
	for _, f := range r.folders {
		if f.pending && (next.IsZero() || f.changed.Before(next)) {
			next = f.changed
		}
	}
	if !next.IsZero() {
		rearm(&r.timers.settle, time.Until(next.Add(r.cfg.Settle)))
	}
}

// checkPending validates each pending folder that has been quiet for the
// settle time and whose tree has not changed meanwhile.
func (r *Registry) checkPending(ctx context.Context) {
	for _, f := range r.sortedFolders() {
		if !f.pending || time.Since(f.changed) < r.cfg.Settle {
			continue
		}
		if fp, err := TakeFingerprint(r.buildDir(f.version)); err != nil || fp != f.fp {
			f.fp, f.changed = fp, time.Now()
			continue
		}
		r.ready(ctx, f)
	}
	r.armSettle()
}

func (r *Registry) sortedFolders() []*folder {
	out := make([]*folder, 0, len(r.folders))
	for _, f := range r.folders {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// ready loads a settled folder and activates it, or records it invalid.
func (r *Registry) ready(ctx context.Context, f *folder) {
	f.pending = false
	delete(r.loaded, f.version) // a folder that changed is read again
	b, err := r.load(ctx, f.version)
	if err != nil {
		r.invalid(f, err)
		return
	}
	r.unwatch(f)
	prev := r.hist.Current
	now := time.Now()
	if !r.update("activation", func(h *History) error { h.Activate(f.version, SummaryOf(b), now); return nil }) {
		return
	}
	r.log.Info("activated", zap.String("version", f.version), zap.String("previous", prev), zap.Uint64("seq", r.hist.Seq),
		zap.Int("files", len(b.Files)), zap.Int64("bytes", b.Bytes), zap.Int("reused", b.Reused), zap.Duration("load", b.LoadTime))
	r.reconcile(ctx)
}

// invalid records why a folder cannot be served; it stays watched, so a
// copy that completes later is validated again.
func (r *Registry) invalid(f *folder, err error) {
	problems := []string{err.Error()}
	var ie *InvalidError
	if errors.As(err, &ie) {
		problems = ie.Problems
	}
	f.pending, f.problems = false, problems
	r.log.Error("build invalid", zap.String("version", f.version), zap.Strings("problems", problems))
	r.update("invalid build", func(h *History) error { h.MarkInvalid(f.version, problems); return nil })
	r.publish(r.loaded[r.hist.Current], r.snap.Load().Live)
}

// gone handles a version folder that was removed: a pending or invalid one
// is forgotten; a current or live one retires (its hashed paths get the
// retired marker) and a removed current build hands over to the most
// recently superseded live one.
func (r *Registry) gone(ctx context.Context, v string) {
	f := r.folders[v]
	r.unwatch(f)
	delete(r.folders, v)
	st := r.hist.StateOf(v)
	if st != Current && st != Live {
		r.update("removal", func(h *History) error { h.Forget(v); return nil })
		r.publish(r.loaded[r.hist.Current], r.snap.Load().Live)
		return
	}
	next := ""
	if lv := r.liveVersions(); st == Current && len(lv) > 0 {
		next = lv[0]
	}
	now := time.Now()
	r.update("removal", func(h *History) error {
		h.Retire(v, now)
		if next != "" {
			h.Activate(next, h.summary(next), now)
		}
		return nil
	})
	r.log.Warn("build folder removed; retired", zap.String("version", v), zap.String("was", st.String()), zap.String("current", r.hist.Current))
	r.reconcile(ctx)
}

// rescan compares the builds folder with what the registry knows: the
// safety net for missed events, inotify overflows and filesystems without
// events (NFS, some container mounts).
func (r *Registry) rescan(ctx context.Context, reason string) {
	present, err := r.versionFolders()
	if err != nil {
		r.log.Error("rescan failed", zap.String("reason", reason), zap.Error(err))
		return
	}
	r.log.Debug("rescan", zap.String("reason", reason))
	for v := range present {
		if r.folders[v] == nil {
			r.appeared(ctx, v)
		}
	}
	for v := range r.folders {
		if !present[v] {
			r.gone(ctx, v)
		}
	}
	for _, f := range r.sortedFolders() {
		if f.pending || len(f.problems) == 0 {
			continue
		}
		if fp, err := TakeFingerprint(r.buildDir(f.version)); err == nil && fp != f.fp {
			r.markPending(f)
		}
	}
	r.checkPending(ctx)
	r.checkHistory(ctx)
}

// checkHistory adopts changes another process (`skewless activate`) made
// to the state file.
func (r *Registry) checkHistory(ctx context.Context) {
	info, err := os.Stat(statePath(r.cfg.Dir))
	if err != nil || (r.histStat != nil && os.SameFile(info, r.histStat) && info.ModTime().Equal(r.histStat.ModTime()) && info.Size() == r.histStat.Size()) {
		return
	}
	r.histStat = info
	h, err := ReadHistory(r.cfg.Dir)
	if err != nil {
		r.log.Error("state file unusable; keeping the state in memory", zap.Error(err))
		return
	}
	if h.Rev == r.hist.Rev {
		return
	}
	prev := r.hist.Current
	r.hist = h
	for v := range h.Builds {
		if f := r.folders[v]; f != nil && f.pending && (v == h.Current || !h.Builds[v].Superseded.IsZero()) {
			f.pending = false
			r.unwatch(f)
		}
	}
	if h.Current != prev {
		r.log.Info("activated", zap.String("version", h.Current), zap.String("previous", prev), zap.Uint64("seq", h.Seq), zap.String("by", "state file"))
	}
	r.reconcile(ctx)
}

// scheduleRetirement retires what is due now and arms the timer for the
// next one.
func (r *Registry) scheduleRetirement(ctx context.Context) {
	retire, next := RetirementPlan(r.superseded(), time.Now(), r.cfg.Grace, r.cfg.Keep)
	if len(retire) > 0 {
		r.retireDue(ctx)
		return
	}
	if !next.IsZero() {
		rearm(&r.timers.retire, time.Until(next))
	}
}

func (r *Registry) superseded() []Superseded {
	var out []Superseded
	for _, v := range r.liveVersions() {
		out = append(out, Superseded{Version: v, At: r.hist.Builds[v].Superseded})
	}
	return out
}

// retireDue retires the builds the policy says are due.
func (r *Registry) retireDue(ctx context.Context) {
	retire, _ := RetirementPlan(r.superseded(), time.Now(), r.cfg.Grace, r.cfg.Keep)
	if len(retire) == 0 {
		r.scheduleRetirement(ctx)
		return
	}
	now := time.Now()
	if !r.update("retirement", func(h *History) error {
		for _, v := range retire {
			h.Retire(v, now)
		}
		return nil
	}) {
		return
	}
	for _, v := range retire {
		r.log.Info("retired", zap.String("version", v), zap.Int("hashed_paths", len(r.hist.Builds[v].Hashed)))
	}
	r.reconcile(ctx)
}
