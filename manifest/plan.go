package manifest

import (
	"maps"
	"slices"
	"time"
)

// loadWhy is why a build is being loaded; it decides what a good load does.
type loadWhy uint8

const (
	loadServe  loadWhy = iota // a current, live or ready build: first load, or its folder changed
	loadDeploy                // a new folder: current once loaded, if still the newest decision
	loadAdopt                 // a first start without a current build: the newest valid folder
)

// folderView is a version folder as the watcher last reported it.
type folderView struct {
	FP      Fingerprint
	ModTime time.Time
	Settled bool // the watcher saw it quiet for --settle at FP
	Dirty   bool // changed since FP was taken
}

// loadResult is a finished load as the planner sees it (the build itself
// stays with the loop).
type loadResult struct {
	ID       uint64
	Version  string
	Problems []string // nil: a good load
	Sum      Summary
	Digest   string // BuildDigest of a good load
}

// memo is what the planner knows of one build's loads.
type memo struct {
	Loaded   bool // a good load is installed
	LoadedFP Fingerprint
	LoadID   uint64 // the load in flight (0: none)
	LoadFP   Fingerprint
	Why      loadWhy
	Decision uint64 // loadDeploy: the number of its decision
	Tried    bool   // a load at TriedFP finished (Problems says how)
	TriedFP  Fingerprint
	Problems []string
	// Digest and Sum describe the good load installed (cluster mode:
	// what this instance reports, and proposes).
	Digest string
	Sum    Summary
	// Rank is a loadAdopt's place in the adoption order (0: newest).
	Rank int
}

// planState is what the planner decides from besides its inputs. The loop
// owns one and replaces it with each plan's result.
type planState struct {
	Hist   *History
	Mem    map[string]memo
	Served string // the build published as current
	// Decision numbers decisions: each drop that settles, each activation
	// another process makes. A drop activates only if its number is still
	// the newest when its load ends.
	Decision uint64
	// SeenSeq is the decision mark (Hist.Seq; in a cluster,
	// Hist.Decisions) when decisions were last counted.
	SeenSeq uint64
	NextID  uint64
	// Adopt ranks (0: newest) the folders a first start without a current
	// build tries, one at a time until one is valid.
	Adopt   map[string]int
	AdoptAt time.Time
	Grace   time.Duration
	Keep    int
	// Cluster is nil for a server on its own; in cluster mode, the other
	// instances as the store last saw them (plancluster.go).
	Cluster *clusterView
	// Verdict is the barrier's last answer on the proposed build.
	Verdict barrierVerdict
}

// actions is what the loop does after a plan.
type actions struct {
	Ops     []stateOp
	Load    []loadReq
	Cancel  []uint64 // load ids
	Install []uint64 // finished loads whose build becomes its version's
	Unload  []string
	Wake    time.Time // the next retirement due (zero: none)
}

// loadReq asks the loop to load a build.
type loadReq struct {
	ID      uint64
	Version string
	FP      Fingerprint
}

// withHistory is s after the history became h, where activations up to
// sequence seen were this process's own (counted as decisions when it made
// them). The next plan counts any later one, made by another process, as
// a decision.
func (s planState) withHistory(h *History, seen uint64) planState {
	s.Hist, s.SeenSeq = h, seen
	return s
}

// plan decides, from the state, the folders present and the loads that
// finished, what the history becomes and what to load, cancel and serve.
// It is a pure function: no I/O, no clock but now, its input untouched.
func plan(s planState, folders map[string]folderView, loads []loadResult, now time.Time) (planState, actions) {
	p := &planner{s: s, folders: folders, now: now}
	p.s.Mem = maps.Clone(s.Mem)
	p.s.Adopt = maps.Clone(s.Adopt)
	if p.s.mark(p.s.Hist) != p.s.SeenSeq {
		p.s.Decision++ // another process activated (in a cluster: proposed) a build
	}
	for _, r := range loads {
		p.finished(r)
	}
	p.vanished()
	p.startLoads()
	p.passOver()
	if p.clustered() {
		p.propose()
		p.barrier()
	}
	p.serve()
	p.retire()
	p.unload()
	p.s.SeenSeq = p.s.mark(p.s.Hist)
	return p.s, p.acts
}

type planner struct {
	s       planState
	folders map[string]folderView
	now     time.Time
	acts    actions
	cloned  bool
}

// do records op and applies it to the planner's copy of the history, so
// what it decides next sees it.
func (p *planner) do(op stateOp) {
	if !p.cloned {
		p.s.Hist, p.cloned = p.s.Hist.clone(), true
	}
	applyOp(p.s.Hist, op, p.now)
	p.acts.Ops = append(p.acts.Ops, op)
}

func (p *planner) present(v string) bool { _, ok := p.folders[v]; return ok }

// finished takes in a finished load. A load whose folder changed or went
// while it ran is dropped: the folder settles and is loaded again.
func (p *planner) finished(r loadResult) {
	v := r.Version
	m, ok := p.s.Mem[v]
	if !ok || m.LoadID != r.ID {
		return // cancelled, or replaced by a newer load
	}
	m.LoadID = 0
	f, present := p.folders[v]
	if !present || f.Dirty || f.FP != m.LoadFP {
		p.s.Mem[v] = m
		return
	}
	m.Tried, m.TriedFP, m.Problems = true, m.LoadFP, r.Problems
	hadGood := m.Loaded
	if r.Problems == nil {
		m.Loaded, m.LoadedFP, m.Digest, m.Sum = true, m.LoadFP, r.Digest, r.Sum
		p.acts.Install = append(p.acts.Install, r.ID)
	}
	p.s.Mem[v] = m
	switch {
	case p.clustered():
		p.loadedCluster(v, m, r)
	case r.Problems == nil:
		p.loaded(v, m, r.Sum)
	default:
		p.failed(v, hadGood, r.Problems)
	}
	if r.Problems != nil && m.Why == loadDeploy {
		m := p.s.Mem[v]
		m.Decision = 0 // its fix, when the folder changes, is a decision of its own
		p.s.Mem[v] = m
	}
	delete(p.s.Adopt, v) // an adopted folder is tried once; a change later is a deploy
}

// loaded decides what a good load does.
func (p *planner) loaded(v string, m memo, sum Summary) {
	h := p.s.Hist
	switch {
	case m.Why == loadDeploy && !h.decided(v):
		if m.Decision == p.s.Decision {
			p.do(stateOp{kind: opDeploy, version: v, sum: sum, ifSeq: h.Seq, why: "deployed"})
			return
		}
		p.do(stateOp{kind: opPassOver, version: v, why: "a later decision chose another build"})
	case m.Why == loadAdopt && h.Current == "":
		p.do(stateOp{kind: opActivate, version: v, sum: sum, why: "newest valid build folder"})
		return
	case m.Why == loadAdopt && !h.decided(v):
		at := p.s.AdoptAt.Add(-time.Duration(p.s.Adopt[v]+1) * time.Millisecond)
		p.do(stateOp{kind: opSupersede, version: v, sum: sum, at: at, why: "found beside the current build"})
		return
	}
	if r := p.s.Hist.Builds[v]; r != nil && (r.Files != sum.Files || r.Bytes != sum.Bytes ||
		(sum.Paths != "" && sum.Paths != r.Paths) || len(r.Problems) > 0) {
		p.do(stateOp{kind: opContent, version: v, sum: sum, why: "loaded"})
	}
}

// failed decides what an invalid load does. A build that has a good load
// keeps serving it; one that has none cannot serve.
func (p *planner) failed(v string, hadGood bool, problems []string) {
	switch st := p.s.Hist.StateOf(v); {
	case hadGood && p.s.Hist.decided(v) && st != Retired:
		p.do(stateOp{kind: opProblems, version: v, problems: problems, why: "folder changed into an invalid build"})
	case st == Current:
		p.do(stateOp{kind: opFallback, version: v, problems: problems, next: p.newestLive(v), why: "cannot be loaded"})
	case st == Live:
		p.do(stateOp{kind: opRetire, version: v, problems: problems, why: "cannot be loaded"})
	default:
		p.do(stateOp{kind: opInvalid, version: v, problems: problems, why: "invalid"})
	}
}

// vanished handles builds whose folder is gone: the current one hands over
// to the newest live one, a live one retires (its paths keep the marker),
// one never served is forgotten; loads of them stop.
func (p *planner) vanished() {
	h := p.s.Hist
	for _, v := range slices.Sorted(maps.Keys(h.Builds)) {
		if p.present(v) || p.clustered() {
			// In a cluster a folder gone here is this instance's loss,
			// not the cluster's: it reports it and stops serving it.
			continue
		}
		switch p.s.Hist.StateOf(v) {
		case Current:
			p.do(stateOp{kind: opFallback, version: v, next: p.newestLive(v), why: "folder removed"})
		case Live:
			p.do(stateOp{kind: opRetire, version: v, why: "folder removed"})
		case Ready, Invalid, Pending:
			p.do(stateOp{kind: opForget, version: v, why: "folder removed"})
		}
	}
	for _, v := range slices.Sorted(maps.Keys(p.s.Mem)) {
		if p.present(v) {
			continue
		}
		if m := p.s.Mem[v]; m.LoadID != 0 {
			p.acts.Cancel = append(p.acts.Cancel, m.LoadID)
		}
		if p.s.Mem[v].Loaded {
			p.acts.Unload = append(p.acts.Unload, v)
		}
		delete(p.s.Mem, v)
		delete(p.s.Adopt, v)
	}
}

// newestLive is the most recently superseded live build other than not
// whose folder is present: the one that takes over from a current build
// that cannot serve.
func (p *planner) newestLive(not string) string {
	best := ""
	for v, r := range p.s.Hist.Builds {
		if v == not || !p.present(v) || p.s.Hist.StateOf(v) != Live {
			continue
		}
		if b := p.s.Hist.Builds[best]; best == "" || r.Superseded.After(b.Superseded) ||
			(r.Superseded.Equal(b.Superseded) && v > best) {
			best = v
		}
	}
	return best
}
