package manifest

import (
	"maps"
	"slices"
	"time"
)

// The planner in cluster mode. The shared History holds only what the
// cluster decides: proposals, activations (through the barrier),
// retirements by the policy, each build's content facts. What happens to
// one instance's folder (a load that fails, a folder removed) is that
// instance's fact: it reports it (InstanceReport) and stops serving what
// it cannot, and the cluster's decisions stand.
//
// Decisions are numbered by proposals (History.Decisions), not by
// activations: an activation through the barrier carries out a proposal
// already counted, so a drop made after the proposal still wins over it.

// clusterView is the other instances as the store last saw them: the
// planner's input in cluster mode.
type clusterView struct {
	// Self is this instance's id; its entry in Peers is replaced by what
	// the planner knows now.
	Self  string
	Peers []InstanceReport
	// Complete: the list of live instances can be trusted (barrier).
	Complete bool
	// Timeout is --barrier-timeout: a proposal's deadline after it is made.
	Timeout time.Duration
}

func (p *planner) clustered() bool { return p.s.Cluster != nil }

// mark is what tells a decision another process made: a new activation
// sequence number on its own; a new proposal number in a cluster.
func (s planState) mark(h *History) uint64 {
	if s.Cluster != nil {
		return h.Decisions
	}
	return h.Seq
}

// loadedCluster takes in a finished load in a cluster: what it found is
// this instance's to report and serve. Only the content facts of a build
// the cluster placed without them (an activation by the command, which
// loads nothing) are recorded, so its retired marker has its path list.
func (p *planner) loadedCluster(v string, m memo, r loadResult) {
	rec := p.s.Hist.Builds[v]
	if r.Problems != nil || rec == nil || !p.s.Hist.decided(v) || r.Sum.Paths == "" {
		return
	}
	if (rec.Paths == "" || rec.Files == 0) && (rec.Digest == "" || rec.Digest == m.Digest) {
		p.do(stateOp{kind: opContent, version: v, sum: r.Sum, why: "loaded"})
	}
}

// propose turns this instance's loaded drops into proposals: the newest
// decision's drop is proposed (or joins the proposal of the same build),
// an older one is passed over. On a first start without a current build,
// the newest valid folder is proposed; once the cluster has a current
// build, the others found beside it are live. Each is derived from the
// state, so a proposal Redis could not take is made again when it can.
func (p *planner) propose() {
	adopt := ""
	for _, v := range slices.Sorted(maps.Keys(p.s.Mem)) {
		m, h := p.s.Mem[v], p.s.Hist
		if !m.Loaded || h.decided(v) || h.proposed(v) || !p.present(v) {
			continue
		}
		switch {
		case m.Why == loadDeploy && m.Decision == p.s.Decision:
			p.do(p.proposal(v, m, false))
		case m.Why == loadDeploy:
			p.do(stateOp{kind: opPassOver, version: v, why: "a later decision chose another build"})
		case m.Why == loadAdopt && h.Current != "":
			at := p.s.AdoptAt.Add(-time.Duration(m.Rank+1) * time.Millisecond)
			p.do(stateOp{kind: opSupersede, version: v, sum: m.Sum, at: at, why: "found beside the current build"})
		case m.Why == loadAdopt && h.Proposed == nil && (adopt == "" || m.Rank < p.s.Mem[adopt].Rank):
			adopt = v
		}
	}
	if h := p.s.Hist; adopt != "" && h.Current == "" && h.Proposed == nil {
		p.do(p.proposal(adopt, p.s.Mem[adopt], true))
	}
}

func (p *planner) proposal(v string, m memo, adopt bool) stateOp {
	why := "deployed"
	if adopt {
		why = "newest valid build folder"
	}
	return stateOp{kind: opPropose, version: v, sum: m.Sum, digest: m.Digest, ifSeq: p.s.Hist.Decisions,
		by: p.s.Cluster.Self, timeout: p.s.Cluster.Timeout, adopt: adopt, why: why}
}

// barrier activates the proposed build once the barrier passed, and
// otherwise asks to be woken at the proposal's deadline.
func (p *planner) barrier() {
	pr := p.s.Hist.Proposed
	p.s.Verdict = barrier(pr, p.instances(), p.s.Cluster.Complete, p.now)
	if pr == nil {
		return
	}
	if !p.s.Verdict.Activate {
		p.wakeAt(p.s.Verdict.Wake)
		return
	}
	sum := Summary{Files: pr.Files, Bytes: pr.Bytes, Paths: pr.Paths}
	if m := p.s.Mem[pr.Version]; m.Loaded && m.Digest == p.s.Verdict.Digest {
		sum = m.Sum
	}
	why := "every live instance has it"
	if p.s.Verdict.TimedOut {
		why = "barrier timeout: at least half of the live instances have it"
	}
	p.do(stateOp{kind: opBarrier, version: pr.Version, sum: sum, digest: p.s.Verdict.Digest, decision: pr.Decision, why: why})
}

// instances are the live instances' reports as the barrier reads them,
// this one's from what the planner knows now.
func (p *planner) instances() []InstanceReport {
	self := InstanceReport{InstanceInfo: InstanceInfo{ID: p.s.Cluster.Self}, Loaded: p.loadedDigests()}
	out := []InstanceReport{self}
	for _, r := range p.s.Cluster.Peers {
		if r.ID != self.ID {
			out = append(out, r)
		}
	}
	return out
}

// loadedDigests maps each build this instance has loaded to its content.
func (p *planner) loadedDigests() map[string]string {
	out := map[string]string{}
	for v, m := range p.s.Mem {
		if m.Loaded {
			out[v] = m.Digest
		}
	}
	return out
}

// serveCluster serves the cluster's current build when this instance has
// it loaded, as the cluster activated it; otherwise nothing as current
// (health 503): never another build as if it were the cluster's.
func (p *planner) serveCluster() {
	h := p.s.Hist
	cur, m := h.Current, p.s.Mem[h.Current]
	if cur != "" && m.Loaded && (h.Builds[cur].Digest == "" || h.Builds[cur].Digest == m.Digest) {
		p.s.Served = cur
		return
	}
	p.s.Served = ""
}

// waiting reports whether loaded build v, not decided, is kept loaded for
// the cluster: it is proposed, or a first start's folder waits for the
// cluster's first build to become live beside it.
func (p *planner) waiting(v string, m memo) bool {
	if !p.clustered() {
		return false
	}
	return p.s.Hist.proposed(v) || (m.Why == loadAdopt && !p.s.Hist.decided(v))
}
