package manifest

import (
	"maps"
	"slices"
	"time"
)

// buildRole is what the planner does with a present folder.
type buildRole uint8

const (
	roleNone   buildRole = iota // retired or blocked: not loaded
	roleServe                   // current, live or ready: kept loaded as its folder is
	roleAdopt                   // a first start without a current build: tried in order
	roleDeploy                  // new: loaded once settled, then current or ready
)

func (p *planner) roleOf(v string) buildRole {
	h := p.s.Hist
	switch {
	case (h.StateOf(v) == Retired || h.StateOf(v) == Blocked) && v != h.Current:
		return roleNone
	case h.proposed(v):
		return roleServe // the cluster waits for it: load it
	case h.decided(v):
		return roleServe
	}
	if _, ok := p.s.Adopt[v]; ok {
		return roleAdopt
	}
	return roleDeploy
}

// startLoads starts the loads present folders need. The current build
// loads before any other build the history knows, so a restart serves as
// soon as it can; new drops load as soon as they settle.
func (p *planner) startLoads() {
	cur := p.s.Hist.Current
	curWaits := cur != "" && p.present(cur) && !p.s.Mem[cur].Loaded
	for _, v := range slices.Sorted(maps.Keys(p.folders)) {
		f := p.folders[v]
		switch p.roleOf(v) {
		case roleServe:
			if v == cur || !curWaits {
				p.loadServe(v, f)
			}
		case roleAdopt:
			p.loadAdopt(v, f)
		case roleDeploy:
			p.loadDeploy(v, f)
		}
	}
}

// loadServe keeps a served or ready build loaded as its folder is: loaded
// at once the first time, again when its folder settled into a new tree.
func (p *planner) loadServe(v string, f folderView) {
	m := p.s.Mem[v]
	if m.LoadID != 0 {
		if f.Settled && f.FP != m.LoadFP {
			p.restart(v, f.FP)
		}
		return
	}
	if f.Dirty || (m.Tried && m.TriedFP == f.FP) {
		return // changing: wait until it settles; or this tree was tried
	}
	if !f.Settled && !p.s.Hist.decided(v) {
		return // the cluster's proposed build, arriving here: a drop, it settles first
	}
	p.start(v, f.FP, loadServe, 0)
}

// loadDeploy loads a new folder once it settled. The drop is a decision,
// numbered when its folder is first seen (again after a failed try, when it
// changes): an activate made while it still settles is the later decision.
func (p *planner) loadDeploy(v string, f folderView) {
	m := p.s.Mem[v]
	if m.LoadID != 0 {
		if f.Settled && f.FP != m.LoadFP {
			p.restart(v, f.FP) // the same drop, grown: its decision stands
		}
		return
	}
	if m.Tried && m.TriedFP == f.FP {
		return
	}
	if m.Decision == 0 {
		p.s.Decision++
		m.Decision = p.s.Decision
		p.s.Mem[v] = m
	}
	if !f.Settled || f.Dirty {
		return
	}
	p.start(v, f.FP, loadDeploy, m.Decision)
}

// loadAdopt tries the folders of a first start without a current build:
// the newest first, one at a time, until one is valid (it becomes current);
// then the others together (they become live).
func (p *planner) loadAdopt(v string, f folderView) {
	if p.s.Mem[v].LoadID != 0 || f.Dirty {
		return
	}
	if p.s.Hist.Current == "" {
		for w, rank := range p.s.Adopt {
			if p.s.Mem[w].LoadID != 0 || rank < p.s.Adopt[v] {
				return
			}
		}
	}
	p.start(v, f.FP, loadAdopt, 0)
}

func (p *planner) start(v string, fp Fingerprint, why loadWhy, decision uint64) {
	p.s.NextID++
	m := p.s.Mem[v]
	m.LoadID, m.LoadFP, m.Why, m.Decision = p.s.NextID, fp, why, decision
	if why == loadAdopt {
		m.Rank = p.s.Adopt[v]
	}
	p.s.Mem[v] = m
	p.acts.Load = append(p.acts.Load, loadReq{ID: p.s.NextID, Version: v, FP: fp})
}

// restart cancels v's load and starts it again at fp, for the same reason.
func (p *planner) restart(v string, fp Fingerprint) {
	m := p.s.Mem[v]
	p.acts.Cancel = append(p.acts.Cancel, m.LoadID)
	p.start(v, fp, m.Why, m.Decision)
}

// passOver records, for every drop still loading whose decision is no
// longer the newest, that it will be ready, not current: so the decision
// holds across a restart too.
func (p *planner) passOver() {
	for _, v := range slices.Sorted(maps.Keys(p.s.Mem)) {
		m := p.s.Mem[v]
		if m.LoadID != 0 && m.Why == loadDeploy && m.Decision < p.s.Decision && !p.s.Hist.decided(v) && !p.s.Hist.proposed(v) {
			p.do(stateOp{kind: opPassOver, version: v, why: "a later decision chose another build"})
		}
	}
}

// retire retires the live builds the policy says are due, and notes when
// the next one is.
func (p *planner) retire() {
	var live []Superseded
	for v, r := range p.s.Hist.Builds {
		// In a cluster the policy is the cluster's: every instance
		// retires the same builds, whether its own folder has them or not.
		if v != p.s.Served && (p.present(v) || p.clustered()) && p.s.Hist.StateOf(v) == Live {
			live = append(live, Superseded{Version: v, At: r.Superseded})
		}
	}
	due, next := RetirementPlan(live, p.now, p.s.Grace, p.s.Keep)
	for _, v := range due {
		p.do(stateOp{kind: opRetire, version: v, why: "grace or --keep"})
	}
	p.wakeAt(next)
}

// wakeAt asks the loop to plan again at t, or earlier.
func (p *planner) wakeAt(t time.Time) {
	if !t.IsZero() && (p.acts.Wake.IsZero() || t.Before(p.acts.Wake)) {
		p.acts.Wake = t
	}
}

// serve chooses the build published as current: the history's once it is
// loaded; until then the one served so far, while it is still live (a
// build activated by another process is loading).
func (p *planner) serve() {
	h := p.s.Hist
	if p.clustered() {
		p.serveCluster()
		return
	}
	switch {
	case h.Current != "" && p.s.Mem[h.Current].Loaded:
		p.s.Served = h.Current
	case h.Current != "" && p.s.Served != "" && p.s.Mem[p.s.Served].Loaded && h.StateOf(p.s.Served) == Live:
	default:
		p.s.Served = ""
	}
}

// unload lets go of loaded builds nothing serves or keeps ready.
func (p *planner) unload() {
	h := p.s.Hist
	for _, v := range slices.Sorted(maps.Keys(p.s.Mem)) {
		m := p.s.Mem[v]
		if st := h.StateOf(v); !m.Loaded || v == p.s.Served || (h.decided(v) && st != Retired && st != Blocked) || p.waiting(v, m) {
			continue
		}
		m.Loaded = false
		if h.decided(v) {
			m.Tried = false // activated again later, it loads again
		}
		p.s.Mem[v] = m
		p.acts.Unload = append(p.acts.Unload, v)
	}
}
