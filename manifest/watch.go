package manifest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// folderEventKind is what the watcher reports of a version folder.
type folderEventKind uint8

const (
	folderAppeared folderEventKind = iota + 1 // a new version folder, with its fingerprint
	folderChanged                             // something in it changed since its last fingerprint
	folderSettled                             // quiet for --settle: its fingerprint now
	folderGone                                // removed
)

// folderEvent is one report of the watcher.
type folderEvent struct {
	kind    folderEventKind
	version string
	fp      Fingerprint // folderAppeared, folderSettled
	modTime time.Time   // folderAppeared: the folder's own time
}

// watcherConfig configures a watcher.
type watcherConfig struct {
	Dir      string
	Settle   time.Duration
	Rescan   time.Duration
	Log      *zap.Logger
	Observer Observer
}

// watcher watches the builds folder and the tree of every version folder in
// it, and reports what happens to version folders on a channel; it decides
// nothing. A folder's fingerprint (a walk of its tree) is taken when it
// appears, when its settle time runs out and on the periodic rescan, never
// once per event: a copy of n files costs a few walks, not n.
type watcher struct {
	cfg     watcherConfig
	log     *zap.Logger
	fsw     *fsnotify.Watcher
	out     chan folderEvent
	done    chan struct{}
	folders map[string]*watchedFolder
	failed  map[string]bool // watches that failed, warned about once
	settle  *time.Timer     // the earliest folder due for a look
	rewatch *time.Timer     // the builds folder went away: look for it again
	walks   int             // fingerprints taken (tests count them)
	kick    chan struct{}   // a rescan asked for (SIGHUP)
}

// watchedFolder is the watcher's knowledge of one version folder.
type watchedFolder struct {
	fp       Fingerprint // at the last look
	due      time.Time   // when to look again (zero: settled)
	events   bool        // events arrived since the last look
	reported bool        // folderChanged sent since the folder last settled
	dirs     []string    // folders of its tree added to fsnotify
}

// startWatcher watches the builds folder, then lists it (watch first, then
// scan: a folder created in between is seen twice rather than never), and
// returns the version folders found with their fingerprints. run reports
// what happens next.
func startWatcher(cfg watcherConfig) (*watcher, map[string]folderEvent, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, nil, err
	}
	w := &watcher{cfg: cfg, log: cfg.Log, fsw: fsw, out: make(chan folderEvent, 256), done: make(chan struct{}),
		folders: map[string]*watchedFolder{}, failed: map[string]bool{}, kick: make(chan struct{}, 1)}
	w.watchRoot()
	present, err := versionFolders(cfg.Dir)
	if err != nil {
		fsw.Close()
		return nil, nil, err
	}
	found := map[string]folderEvent{}
	for _, v := range present {
		if ev, ok := w.appear(v, time.Now()); ok {
			found[v] = ev
		}
	}
	w.arm()
	return w, found, nil
}

// requestRescan asks for a rescan now; requests made while one waits
// count once. Safe from any goroutine.
func (w *watcher) requestRescan() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// events is where the watcher reports.
func (w *watcher) events() <-chan folderEvent { return w.out }

// run is the watcher's goroutine; it ends with ctx.
func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	defer w.fsw.Close()
	rescan := time.NewTicker(w.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.handle(ctx, ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			reason := "watch-error"
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				reason = "overflow"
			}
			w.log.Warn("watcher error; rescanning", zap.String("reason", reason), zap.Error(err))
			w.rescan(ctx, reason)
		case <-rescan.C:
			w.rescan(ctx, "periodic")
		case <-w.kick:
			w.rescan(ctx, "requested")
		case <-timerC(w.settle):
			w.settle = nil
			w.fire(ctx, time.Now())
		case <-timerC(w.rewatch):
			w.rewatch = nil
			w.rescan(ctx, "builds-folder-back")
		}
	}
}

func (w *watcher) emit(ctx context.Context, ev folderEvent) {
	select {
	case w.out <- ev:
	case <-ctx.Done():
	}
}

// handle routes one fsnotify event.
func (w *watcher) handle(ctx context.Context, ev fsnotify.Event) {
	rel, err := filepath.Rel(w.cfg.Dir, ev.Name)
	if err != nil {
		return
	}
	change, v := classifyFSEvent(filepath.ToSlash(rel), ev.Op)
	f := w.folders[v]
	switch change {
	case fsBuildsDirGone:
		// Its watch is gone with it. Serving goes on from memory.
		w.log.Warn("builds folder moved or removed; serving from memory until it is back", zap.String("dir", w.cfg.Dir))
		rearm(&w.rewatch, time.Second)
	case fsFolderCreated:
		if f != nil {
			w.changed(ctx, v, true)
		} else if ev, ok := w.appear(v, time.Now()); ok {
			w.emit(ctx, ev)
		}
	case fsFolderRemoved:
		if _, err := os.Stat(ev.Name); errors.Is(err, fs.ErrNotExist) && f != nil {
			w.gone(ctx, v)
		}
	case fsInsideCreated, fsInside:
		if f == nil {
			return
		}
		if change == fsInsideCreated {
			if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
				w.watchTree(f, ev.Name)
			}
		}
		w.changed(ctx, v, true)
	}
}

// appear starts watching the tree of version folder v, then fingerprints it.
func (w *watcher) appear(v string, now time.Time) (folderEvent, bool) {
	root := filepath.Join(w.cfg.Dir, v)
	info, err := os.Stat(root)
	if err != nil || !info.IsDir() {
		return folderEvent{}, false
	}
	f := &watchedFolder{due: now.Add(w.cfg.Settle)}
	w.folders[v] = f
	w.watchTree(f, root)
	f.fp, _ = w.fingerprint(v)
	w.arm()
	return folderEvent{kind: folderAppeared, version: v, fp: f.fp, modTime: info.ModTime()}, true
}

// changed notes a change in v's tree: its settle time starts again.
func (w *watcher) changed(ctx context.Context, v string, byEvent bool) {
	f := w.folders[v]
	f.events = f.events || byEvent
	f.due = time.Now().Add(w.cfg.Settle)
	w.arm()
	if !f.reported {
		f.reported = true
		w.emit(ctx, folderEvent{kind: folderChanged, version: v})
	}
}

func (w *watcher) gone(ctx context.Context, v string) {
	for _, d := range w.folders[v].dirs {
		_ = w.fsw.Remove(d)
	}
	delete(w.folders, v)
	w.emit(ctx, folderEvent{kind: folderGone, version: v})
	w.arm()
}

// fire looks at each folder whose settle time ran out. One that had events
// and has been quiet since is settled; one whose changes were found by a
// walk (no events: a rescan, a filesystem without them) is settled when a
// second walk finds the same tree.
func (w *watcher) fire(ctx context.Context, now time.Time) {
	for _, v := range w.sorted() {
		f := w.folders[v]
		if f.due.IsZero() || f.due.After(now) {
			continue
		}
		fp, err := w.fingerprint(v)
		if err != nil {
			f.due = now.Add(w.cfg.Settle) // being removed, say: its event follows
			continue
		}
		if f.events || fp == f.fp {
			*f = watchedFolder{fp: fp, dirs: f.dirs}
			w.emit(ctx, folderEvent{kind: folderSettled, version: v, fp: fp})
			continue
		}
		f.fp, f.due = fp, now.Add(w.cfg.Settle)
		if !f.reported {
			f.reported = true
			w.emit(ctx, folderEvent{kind: folderChanged, version: v})
		}
	}
	w.arm()
}

// rescan compares the builds folder with what the watcher knows: the
// safety net for missed events, inotify overflows and filesystems without
// events (NFS, some container mounts). Settled folders are fingerprinted
// again, so a change no event announced is found too.
func (w *watcher) rescan(ctx context.Context, reason string) {
	present, err := versionFolders(w.cfg.Dir)
	if err != nil {
		w.log.Error("rescan failed", zap.String("reason", reason), zap.Error(err))
		if reason == "builds-folder-back" {
			rearm(&w.rewatch, time.Second)
		}
		return
	}
	// A builds folder that was replaced has lost its watch; adding a watch
	// that exists already changes nothing.
	w.watchRoot()
	w.log.Debug("rescan", zap.String("reason", reason))
	w.cfg.Observer.Rescanned(reason)
	now := time.Now()
	seen := map[string]bool{}
	for _, v := range present {
		seen[v] = true
		f := w.folders[v]
		if f == nil {
			if ev, ok := w.appear(v, now); ok {
				w.emit(ctx, ev)
			}
			continue
		}
		if f.due.IsZero() {
			if fp, err := w.fingerprint(v); err == nil && fp != f.fp {
				f.fp = fp
				w.changed(ctx, v, false)
			}
		}
	}
	for _, v := range w.sorted() {
		if !seen[v] {
			w.gone(ctx, v)
		}
	}
}

// fingerprint walks version folder v's tree.
func (w *watcher) fingerprint(v string) (Fingerprint, error) {
	w.walks++
	return TakeFingerprint(filepath.Join(w.cfg.Dir, v))
}

// watchRoot adds the builds folder to the watcher.
func (w *watcher) watchRoot() {
	d := w.cfg.Dir
	if err := w.fsw.Add(d); err != nil && !w.failed[d] {
		w.log.Warn("cannot watch; relying on periodic rescans", zap.String("path", d), zap.Error(err))
		w.failed[d] = true
	} else if err == nil {
		delete(w.failed, d)
	}
}

// watchTree adds root and its sub-folders to the watcher (fsnotify is not
// recursive), so writes anywhere in a build restart its settle time.
func (w *watcher) watchTree(f *watchedFolder, root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && w.fsw.Add(p) == nil {
			f.dirs = append(f.dirs, p)
		}
		return nil
	})
}

// arm sets the settle timer for the earliest folder due for a look.
func (w *watcher) arm() {
	var next time.Time
	for _, f := range w.folders {
		if !f.due.IsZero() && (next.IsZero() || f.due.Before(next)) {
			next = f.due
		}
	}
	if next.IsZero() {
		if w.settle != nil {
			w.settle.Stop()
			w.settle = nil
		}
		return
	}
	rearm(&w.settle, time.Until(next))
}

func (w *watcher) sorted() []string {
	out := make([]string, 0, len(w.folders))
	for v := range w.folders {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// versionFolders lists the sub-folders of the builds folder that are
// builds, sorted.
func versionFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !ValidVersion(e.Name()) {
			continue
		}
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && info.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
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
