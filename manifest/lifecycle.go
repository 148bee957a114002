package manifest

import (
	"context"
	"errors"
	"os"
	"sort"
	"time"

	"go.uber.org/zap"
)

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
	// Folders deleted while the server was down: a current one hands over
	// to a live one, as when it goes while running.
	for v := range r.hist.Builds {
		if st := r.hist.StateOf(v); !present[v] && (st == Current || st == Live) {
			r.log.Warn("build folder is gone; retiring it", zap.String("version", v), zap.String("was", st.String()))
			r.retire(v, nil, "retirement")
		}
	}
	if r.hist.Current == "" {
		r.adoptFolders(ctx, present)
	}
	for v := range present {
		f := r.folders[v]
		switch {
		case r.hist.served(v):
		case f.problems != nil: // found invalid just now: watched for a fix
			r.watchTree(f, r.buildDir(v))
		default:
			r.markPending(f)
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
		info, err := os.Stat(r.buildDir(v))
		if err != nil {
			continue // gone since it was loaded: its removal event follows
		}
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
	r.retire(v, nil, "removal")
	r.log.Warn("build folder removed; retired", zap.String("version", v), zap.String("was", st.String()), zap.String("current", r.hist.Current))
	r.reconcile(ctx)
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
	if errors.Is(err, ErrCorruptState) {
		r.log.Error("state file corrupt; rewriting it from the state in memory", zap.Error(err))
		r.update("repair", func(*History) error { return nil })
		return
	}
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

// retireDue records the retirement of every build the policy says is due
// now and arms the timer for the next one. reconcile runs it before it
// publishes, so the snapshot that activates a build with --grace 0 already
// answers the old build's paths as retired.
func (r *Registry) retireDue() {
	retire, next := RetirementPlan(r.superseded(), time.Now(), r.cfg.Grace, r.cfg.Keep)
	if !next.IsZero() {
		rearm(&r.timers.retire, time.Until(next))
	}
	if len(retire) == 0 {
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
}

func (r *Registry) superseded() []Superseded {
	var out []Superseded
	for _, v := range r.liveVersions() {
		out = append(out, Superseded{Version: v, At: r.hist.Builds[v].Superseded})
	}
	return out
}
