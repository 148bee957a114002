package manifest

import (
	"context"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// publish makes the snapshot of what the loop holds now and swaps it in.
func (l *loop) publish() {
	h := l.s.Hist
	s := &Snapshot{Current: l.builds[l.s.Served], Live: l.sortedLive(), Builds: l.statuses(),
		retired: l.pathSets(Retired), blocked: l.pathSets(Blocked), Cluster: l.clusterStatus()}
	if r := h.Builds[l.s.Served]; r != nil && s.Current != nil {
		s.Seq = r.Seq
	}
	old := l.reg.publish(s)
	if s.Current == nil || (old.Seq == s.Seq && old.Version() == s.Version()) {
		return
	}
	b := s.Current
	fields := []zap.Field{zap.String("version", b.Version), zap.String("previous", old.Version()), zap.Uint64("seq", s.Seq),
		zap.Int("files", len(b.Files)), zap.Int64("bytes", b.Bytes)}
	if s.Seq > l.startSeq {
		l.cfg.Observer.Activated(b.Version, s.Seq)
		l.log.Info("activated", fields...)
		return
	}
	l.log.Info("serving", append(fields, zap.Duration("since_start", time.Since(l.started)))...)
}

// statuses lists every build as the server sees it.
func (l *loop) statuses() []BuildStatus {
	h := l.s.Hist
	present := make(map[string]FolderStatus, len(l.folders))
	for v, f := range l.folders {
		m := l.s.Mem[v]
		var st FolderStatus
		if b := l.builds[v]; b != nil {
			st.Files, st.Bytes = len(b.Files), b.Bytes
		}
		switch {
		case !h.decided(v):
			// Undecided: pending until a load of its present tree ended
			// invalid.
			failed := m.Tried && m.TriedFP == f.FP && m.Problems != nil && m.LoadID == 0 && !f.Dirty
			st.Pending = !failed
			if failed {
				st.Problems = m.Problems
			}
		case !h.served(v) && !m.Loaded && m.LoadID != 0:
			st.Pending = true // passed over, still loading: not ready yet
		}
		present[v] = st
	}
	return listStatuses(h, present, l.s.Served)
}

// pathSets lists the path sets of the builds in state st (Retired or
// Blocked), the most recently retired (blocked) first, from memory, the
// store, or (for state written before path lists) the record's hashed
// paths. Sets of builds in neither state are let go.
func (l *loop) pathSets(st State) []retiredPaths {
	h := l.s.Hist
	when := func(r *Record) time.Time {
		if st == Blocked {
			return r.Blocked
		}
		return r.Retired
	}
	var vs []string
	for v := range h.Builds {
		if h.StateOf(v) == st {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b string) int {
		if c := when(h.Builds[b]).Compare(when(h.Builds[a])); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	out := make([]retiredPaths, 0, len(vs))
	for _, v := range vs {
		out = append(out, l.retiredSet(v, h.Builds[v]))
	}
	for v := range l.retired {
		if s := h.StateOf(v); s != Retired && s != Blocked {
			delete(l.retired, v)
		}
	}
	return out
}

func (l *loop) retiredSet(v string, r *Record) retiredPaths {
	if c, ok := l.retired[v]; ok && (c.digest == r.Paths || r.Paths == "") {
		return c
	}
	c := retiredPaths{version: v, digest: r.Paths}
	switch {
	case r.Paths != "":
		paths, err := l.store.LoadPaths(context.Background(), v)
		if err != nil {
			// Not kept: the next publish tries again (a store back from an
			// outage, or another instance writing the list back).
			if !l.lost[v] {
				l.lost[v] = true
				l.log.Warn("the path list of a retired build is lost; its paths answer as unknown until it can be read", zap.String("version", v), zap.Error(err))
			}
			return retiredPaths{version: v, digest: r.Paths, paths: map[string]struct{}{}}
		}
		delete(l.lost, v)
		c.paths = pathSet(paths)
	default:
		c.paths = pathSet(r.Hashed)
	}
	l.retired[v] = c
	return c
}
