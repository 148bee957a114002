package manifest

import (
	"maps"
	"slices"

	"go.uber.org/zap"
)

// The loop's side of cluster mode: the other instances go into each plan,
// this instance's report comes out of it.

// followCluster gives the next plan the live instances as the store last
// saw them.
func (l *loop) followCluster() {
	if l.cluster == nil {
		return
	}
	peers, complete := l.cluster.Peers()
	l.s.Cluster = &clusterView{Self: l.cluster.Self(), Peers: peers, Complete: complete, Timeout: l.cfg.BarrierTimeout}
}

// reportCluster tells the other instances what this one has loaded and
// serves (the store writes it if it changed).
func (l *loop) reportCluster() {
	if l.cluster == nil {
		return
	}
	h := l.s.Hist
	r := InstanceReport{Serving: l.s.Served, Loaded: map[string]string{}, Folders: slices.Sorted(maps.Keys(l.folders))}
	if rec := h.Builds[l.s.Served]; rec != nil && l.s.Served != "" {
		r.Seq = rec.Seq
	}
	r.Ready = l.s.Served != "" && l.s.Served == h.Current
	for _, v := range slices.Sorted(maps.Keys(l.s.Mem)) {
		m := l.s.Mem[v]
		if m.Loaded {
			r.Loaded[v] = m.Digest
		}
		if m.LoadID != 0 {
			r.Loading = append(r.Loading, v)
		}
		if f, ok := l.folders[v]; ok && m.Problems != nil && m.Tried && m.TriedFP == f.FP {
			if r.Problems == nil {
				r.Problems = map[string][]string{}
			}
			r.Problems[v] = m.Problems
		}
	}
	for _, v := range []string{h.Current, proposedVersion(h)} {
		if _, ok := l.folders[v]; v != "" && !ok {
			r.Missing = append(r.Missing, v)
		}
	}
	l.cluster.Report(r)
}

func proposedVersion(h *History) string {
	if h.Proposed == nil {
		return ""
	}
	return h.Proposed.Version
}

// awaited is the proposed build when this instance has it loaded (the
// content proposed): its files are served like a live build's, so a page
// of it that another instance served a moment earlier finds its chunks
// here too.
func (l *loop) awaited() *Build {
	p := l.s.Hist.Proposed
	if l.cluster == nil || p == nil || p.Version == l.s.Served {
		return nil
	}
	m := l.s.Mem[p.Version]
	if !m.Loaded || (p.Digest != "" && p.Digest != m.Digest) {
		return nil
	}
	return l.builds[p.Version]
}

// clusterStatus is the cluster as this instance sees it, for the snapshot.
func (l *loop) clusterStatus() *ClusterStatus {
	if l.cluster == nil {
		return nil
	}
	h := l.s.Hist
	st := &ClusterStatus{Current: h.Current, Ready: l.s.Served != "" && l.s.Served == h.Current, Problem: l.cluster.Problem()}
	if r := h.Builds[h.Current]; r != nil {
		st.Seq = r.Seq
	}
	if p := h.Proposed; p != nil {
		st.Proposed, st.ProposedSince, st.Lacking = p.Version, p.Since, l.s.Verdict.Lacking
	}
	st.Instances = 1
	for _, r := range l.s.Cluster.Peers {
		if r.ID != l.s.Cluster.Self {
			st.Instances++
		}
	}
	return st
}

// storeTrouble logs a store problem once, not on every retry while it
// lasts (the store says when it is over).
func (l *loop) storeTrouble(msg string, err error, fields ...zap.Field) {
	key := msg + ": " + err.Error()
	if key == l.storeErr {
		return
	}
	l.storeErr = key
	l.log.Warn(msg, append(fields, zap.Error(err))...)
}
