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
	settle  *time.Timer // the next pending folder is due for a look
	retire  *time.Timer // the next live build is due to retire
	rewatch *time.Timer // the builds folder went away: look for it again
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
		case <-rescan.C:
			r.rescan(ctx, "periodic")
		case <-poll.C:
			r.checkHistory(ctx)
		case <-timerC(r.timers.settle):
			r.timers.settle = nil
			r.checkPending(ctx)
		case <-timerC(r.timers.retire):
			r.timers.retire = nil
			r.reconcile(ctx)
		case <-timerC(r.timers.rewatch):
			r.timers.rewatch = nil
			r.rescan(ctx, "builds-folder-back")
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

// handleEvent routes one fsnotify event.
func (r *Registry) handleEvent(ctx context.Context, ev fsnotify.Event) {
	rel, err := filepath.Rel(r.cfg.Dir, ev.Name)
	if err != nil {
		return
	}
	if rel == "." {
		// The builds folder itself was moved or removed: its watch is
		// gone. Serving goes on from memory; look for it again soon.
		if ev.Has(fsnotify.Remove | fsnotify.Rename) {
			r.log.Warn("builds folder moved or removed; serving from memory until it is back", zap.String("dir", r.cfg.Dir))
			rearm(&r.timers.rewatch, time.Second)
		}
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
	problems := Problems(err)
	f.pending, f.problems = false, problems
	r.log.Error("build invalid", zap.String("version", f.version), zap.Strings("problems", problems))
	r.cfg.Observer.Invalid(f.version, problems)
	r.update("invalid build", func(h *History) error { h.MarkInvalid(f.version, problems); return nil })
	r.publish(r.loaded[r.hist.Current], r.snap.Load().Live)
}

// rescan compares the builds folder with what the registry knows: the
// safety net for missed events, inotify overflows and filesystems without
// events (NFS, some container mounts).
func (r *Registry) rescan(ctx context.Context, reason string) {
	present, err := r.versionFolders()
	if err != nil {
		r.log.Error("rescan failed", zap.String("reason", reason), zap.Error(err))
		if reason == "builds-folder-back" {
			rearm(&r.timers.rewatch, time.Second)
		}
		return
	}
	// A builds folder that was replaced has lost its watch; adding a watch
	// that exists already changes nothing.
	r.watch()
	r.log.Debug("rescan", zap.String("reason", reason))
	r.cfg.Observer.Rescanned(reason)
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
