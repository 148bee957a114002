package manifest

import (
	"testing"
	"time"
)

// The planner in cluster mode: this instance is "a"; the others' reports
// are the input the store gives it.

const clusterTimeout = time.Minute

// clustered is state() in a cluster whose other live instances report
// peers; the list can be trusted.
func clustered(h *History, mem map[string]memo, served string, peers ...InstanceReport) planState {
	s := state(h, mem, served)
	s.Cluster = &clusterView{Self: "a", Peers: peers, Complete: true, Timeout: clusterTimeout}
	s.SeenSeq = h.Decisions
	return s
}

// dg is a memo of a good load with its content digest.
func dg(m memo, digest string) memo {
	m.Digest, m.Sum = digest, Summary{Files: 8, Bytes: 800}
	return m
}

// proposedH is v1v2 with v3 proposed by instance b, decision 1.
func proposedH() *History {
	return with(v1v2(), func(h *History) {
		h.Propose(Proposal{Version: "v3", Digest: "d3", Deadline: planNow.Add(time.Minute), By: "b"}, planNow.Add(-time.Second))
	})
}

func goodD(id uint64, v string, files int) loadResult {
	r := good(id, v, files)
	r.Digest = "d" + v[1:]
	return r
}

var planClusterCases = []planCase{
	{
		name: "a drop's good load is proposed, not activated: the current build keeps serving",
		state: func() planState {
			s := clustered(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2",
				inst("b", "v2=d2"), inst("c", "v2=d2"))
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{goodD(7, "v3", 9)},
		ops:     []string{"propose v3"},
		install: []uint64{7},
		served:  "v2",
		states:  map[string]State{"v2": Current},
		check: func(t *testing.T, s planState, a actions) {
			p := s.Hist.Proposed
			if p == nil || p.Version != "v3" || p.Digest != "d3" || p.By != "a" || !p.Deadline.Equal(planNow.Add(clusterTimeout)) || p.Files != 9 {
				t.Errorf("proposal %+v", p)
			}
			if s.Hist.Decisions != 1 || s.SeenSeq != 1 || s.Decision != 1 {
				t.Errorf("decisions %d, seen %d, local decision %d: its own proposal is no foreign decision", s.Hist.Decisions, s.SeenSeq, s.Decision)
			}
			if !a.Wake.Equal(p.Deadline) || len(s.Verdict.Lacking) != 2 {
				t.Errorf("wake %v, verdict %+v", a.Wake, s.Verdict)
			}
		},
	},
	{
		name: "the barrier waits while an instance lacks the build; the proposed build stays loaded",
		state: clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": dg(loadedAt(3), "d3")}, "v2",
			inst("b", "v3=d3"), inst("c", "v2=d2")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v2",
		check: func(t *testing.T, s planState, a actions) {
			if v := s.Verdict; v.Activate || len(v.Lacking) != 1 || v.Lacking[0] != "c" {
				t.Errorf("verdict %+v", v)
			}
		},
	},
	{
		name: "the last instance loaded it: the barrier passes, the build is current everywhere",
		state: clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": dg(loadedAt(3), "d3")}, "v2",
			inst("b", "v3=d3"), inst("c", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		ops:     []string{"barrier v3"},
		served:  "v3",
		states:  map[string]State{"v3": Current, "v2": Live},
		check: func(t *testing.T, s planState, _ actions) {
			if s.Hist.Proposed != nil || s.Hist.Builds["v3"].Digest != "d3" || s.Hist.Seq != 3 {
				t.Errorf("proposal %+v, record %+v, seq %d", s.Hist.Proposed, s.Hist.Builds["v3"], s.Hist.Seq)
			}
		},
	},
	{
		name: "an instance that holds other content under the version is lacking it",
		state: clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": dg(loadedAt(3), "d3")}, "v2",
			inst("b", "v3=d3"), inst("c", "v3=rebuilt")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v2",
	},
	{
		name: "this instance lacks the proposed build: it loads it, and the barrier waits for it",
		state: clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2",
			inst("b", "v3=d3"), inst("c", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		load:    []string{"v3"},
		served:  "v2",
	},
	{
		name: "the list of instances may be short (just reconnected): no barrier passes",
		state: func() planState {
			s := clustered(proposedH(), map[string]memo{"v2": loadedAt(2), "v1": loadedAt(1), "v3": dg(loadedAt(3), "d3")}, "v2", inst("b", "v3=d3"))
			s.Cluster.Complete = false
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v2",
	},
	{
		name: "past its deadline with half the instances: activated without the laggard",
		state: func() planState {
			h := with(v1v2(), func(h *History) {
				h.Propose(Proposal{Version: "v3", Digest: "d3", Deadline: planNow.Add(-time.Second)}, planNow.Add(-time.Minute))
			})
			return clustered(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": dg(loadedAt(3), "d3")}, "v2",
				inst("b", "v3=d3"), inst("c", "v2=d2"))
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		ops:     []string{"barrier v3"},
		served:  "v3",
		check: func(t *testing.T, s planState, _ actions) {
			if !s.Verdict.TimedOut || len(s.Verdict.Lacking) != 1 {
				t.Errorf("verdict %+v", s.Verdict)
			}
		},
	},
	{
		name: "the laggard: the cluster's current build is not loaded here; nothing serves as current, the old build stays live",
		state: clustered(with(v1v2(), func(h *History) { h.Activate("v3", Summary{Files: 9}, planNow); h.Builds["v3"].Digest = "d3" }),
			map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(8, 3, loadServe, 0)}, "v2", inst("b", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "",
		states:  map[string]State{"v3": Current, "v2": Live},
	},
	{
		name: "... it loads it: it serves it",
		state: clustered(with(v1v2(), func(h *History) { h.Activate("v3", Summary{Files: 9}, planNow); h.Builds["v3"].Digest = "d3" }),
			map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(8, 3, loadServe, 0)}, "", inst("b", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{goodD(8, "v3", 9)},
		install: []uint64{8},
		ops:     []string{"content v3"}, // activated by the command: its path list was not recorded
		served:  "v3",
	},
	{
		name: "... unless its folder holds other content than the cluster activated",
		state: clustered(with(v1v2(), func(h *History) { h.Activate("v3", Summary{Files: 9}, planNow); h.Builds["v3"].Digest = "d3" }),
			map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(8, 3, loadServe, 0)}, "", inst("b", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{{ID: 8, Version: "v3", Sum: Summary{Files: 9, Paths: "p-v3"}, Digest: "rebuilt"}},
		install: []uint64{8},
		served:  "",
	},
	{
		name:    "the current build's folder removed here: this instance stops serving it; the cluster's state is untouched",
		state:   clustered(activated("v1", "v2", "v3"), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3)}, "v3"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		unload:  []string{"v3"},
		served:  "",
		states:  map[string]State{"v3": Current, "v2": Live},
	},
	{
		name: "a drop invalid here is this instance's problem, not the cluster's",
		state: func() planState {
			s := clustered(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{bad(7, "v3")},
		served:  "v2",
		check: func(t *testing.T, s planState, _ actions) {
			if len(s.Mem["v3"].Problems) == 0 || s.Hist.Builds["v3"] != nil {
				t.Errorf("memo %+v, record %+v", s.Mem["v3"], s.Hist.Builds["v3"])
			}
		},
	},
	{
		name: "another instance proposed the build this one is loading: it joins, it does not pass it over",
		state: func() planState {
			s := clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2",
				inst("b", "v3=d3"))
			s.Decision, s.SeenSeq = 1, 0 // the proposal is news
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{goodD(7, "v3", 9)},
		install: []uint64{7},
		ops:     []string{"barrier v3"},
		served:  "v3",
	},
	{
		name: "another instance proposed another build: this instance's drop, older, ends ready",
		state: func() planState {
			h := with(v1v2(), func(h *History) {
				h.Propose(Proposal{Version: "v4", Digest: "d4", Deadline: planNow.Add(time.Minute), By: "b"}, planNow)
			})
			s := clustered(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision, s.SeenSeq = 1, 0
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		ops:     []string{"pass-over v3"},
		served:  "v2",
		states:  map[string]State{"v3": Ready},
	},
	{
		name: "a drop made after a proposal wins over it: the older one is passed over",
		state: func() planState {
			s := clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v4": loading(7, 4, loadDeploy, 2)}, "v2", inst("c", "v3=d3"))
			s.Decision = 2 // the proposal (1), then this drop (2)
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v4": settled(4)},
		loads:   []loadResult{goodD(7, "v4", 9)},
		ops:     []string{"propose v4"},
		install: []uint64{7},
		served:  "v2",
		states:  map[string]State{"v3": Ready},
		check: func(t *testing.T, s planState, _ actions) {
			if p := s.Hist.Proposed; p == nil || p.Version != "v4" || p.Decision != 2 {
				t.Errorf("proposal %+v", p)
			}
		},
	},
	{
		name: "an activation through the barrier is no new decision: a drop loading meanwhile is not passed over",
		state: func() planState {
			h := with(v1v2(), func(h *History) { h.Activate("v3", Summary{}, planNow) })
			h.Decisions = 1
			s := clustered(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3), "v4": loading(7, 4, loadDeploy, 2)}, "v2")
			s.Decision = 2
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3), "v4": settled(4)},
		served:  "v3",
		check: func(t *testing.T, s planState, _ actions) {
			if s.Decision != 2 || s.Hist.StateOf("v4") != Unknown {
				t.Errorf("decision %d, v4 %v", s.Decision, s.Hist.StateOf("v4"))
			}
		},
	},
	{
		name: "a first start of the cluster: the newest valid folder is proposed",
		state: func() planState {
			s := clustered(newHistory(), map[string]memo{"b": loading(1, 2, loadAdopt, 0)}, "", inst("b"))
			s.Adopt, s.AdoptAt = map[string]int{"b": 0, "a": 1}, planNow
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1), "b": appeared(2)},
		loads:   []loadResult{goodD(1, "b", 8)},
		ops:     []string{"propose b"},
		install: []uint64{1},
		load:    []string{"a"},
		served:  "",
	},
	{
		name: "... another instance proposed first: its build loads here; this one's folder waits, loaded",
		state: func() planState {
			h := with(newHistory(), func(h *History) {
				h.Propose(Proposal{Version: "c", Deadline: planNow.Add(time.Minute), By: "b"}, planNow)
			})
			s := clustered(h, map[string]memo{"b": dg(loadedAt(2), "db")}, "")
			s.Mem["b"] = memo{Loaded: true, LoadedFP: fp(2), Tried: true, TriedFP: fp(2), Why: loadAdopt, Digest: "db"}
			s.Adopt, s.AdoptAt = map[string]int{"c": 0}, planNow
			return s
		}(),
		folders: map[string]folderView{"b": appeared(2), "c": settled(3)},
		load:    []string{"c"},
		served:  "",
	},
	{
		name: "the proposed build's folder arriving here is a drop: it settles before it loads",
		state: clustered(proposedH(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2",
			inst("b", "v3=d3"), inst("c", "v3=d3")),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": appeared(3)},
		served:  "v2",
	},
	{
		name: "... once the cluster has a current build, a folder found beside it is live",
		state: func() planState {
			s := clustered(activated("c"), map[string]memo{"c": loadedAt(3)}, "c")
			s.Mem["b"] = memo{Loaded: true, LoadedFP: fp(2), Tried: true, TriedFP: fp(2), Why: loadAdopt, Digest: "db", Rank: 1}
			s.AdoptAt = planNow
			return s
		}(),
		folders: map[string]folderView{"b": appeared(2), "c": appeared(3)},
		ops:     []string{"supersede b"},
		served:  "c",
		states:  map[string]State{"b": Live},
	},
	{
		name: "retirement is the cluster's: a live build whose folder is not here retires too",
		state: func() planState {
			s := clustered(v1v2(), map[string]memo{"v2": loadedAt(2)}, "v2")
			s.Grace = 30 * time.Minute
			return s
		}(),
		folders: map[string]folderView{"v2": settled(2)},
		ops:     []string{"retire v1"},
		served:  "v2",
		states:  map[string]State{"v1": Retired},
	},
	{
		name: "a rollback proposed by `skewless activate` to a live build every instance has passes at once",
		state: func() planState {
			h := with(v1v2(), func(h *History) {
				h.Propose(Proposal{Version: "v1", Deadline: planNow.Add(time.Minute), By: "activate@ops", Explicit: true}, planNow)
			})
			s := clustered(h, map[string]memo{"v1": dg(loadedAt(1), "d1"), "v2": dg(loadedAt(2), "d2")}, "v2",
				inst("b", "v1=d1", "v2=d2"), inst("c", "v1=d1", "v2=d2"))
			s.SeenSeq = 0
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		ops:     []string{"barrier v1"},
		served:  "v1",
		states:  map[string]State{"v1": Current, "v2": Live},
		check: func(t *testing.T, s planState, _ actions) {
			if r := s.Hist.Builds["v1"]; r.Digest != "d1" || r.Files != 8 {
				t.Errorf("v1 %+v", r)
			}
		},
	},
}

func TestPlanCluster(t *testing.T) {
	for _, tt := range planClusterCases {
		t.Run(tt.name, func(t *testing.T) { runPlanCase(t, tt) })
	}
}

// Ops decided on the state the planner knew, applied to a fresher one.
func TestApplyClusterOps(t *testing.T) {
	t.Run("a barrier op for a proposal replaced meanwhile changes nothing", func(t *testing.T) {
		h := proposedH()
		h.Propose(Proposal{Version: "v4"}, planNow)
		applyOp(h, stateOp{kind: opBarrier, version: "v3", decision: 1}, planNow)
		if h.Current != "v2" || h.Proposed.Version != "v4" {
			t.Errorf("current %q, proposed %+v", h.Current, h.Proposed)
		}
	})
	t.Run("a second barrier op for the same proposal (another instance won) changes nothing", func(t *testing.T) {
		h := proposedH()
		op := stateOp{kind: opBarrier, version: "v3", decision: 1, digest: "d3"}
		applyOp(h, op, planNow)
		seq := h.Seq
		applyOp(h, op, planNow)
		if h.Current != "v3" || h.Seq != seq {
			t.Errorf("current %q, seq %d then %d", h.Current, seq, h.Seq)
		}
	})
	t.Run("a proposal made on a state another proposal has since changed is passed over", func(t *testing.T) {
		h := proposedH() // Decisions 1
		applyOp(h, stateOp{kind: opPropose, version: "v4", ifSeq: 0}, planNow)
		if h.Proposed.Version != "v3" || h.StateOf("v4") != Ready {
			t.Errorf("proposed %+v, v4 %v", h.Proposed, h.StateOf("v4"))
		}
	})
	t.Run("a first start's proposal after another instance's changes nothing", func(t *testing.T) {
		h := proposedH()
		applyOp(h, stateOp{kind: opPropose, version: "v4", ifSeq: 0, adopt: true}, planNow)
		if h.Proposed.Version != "v3" || h.Builds["v4"] != nil {
			t.Errorf("proposed %+v, v4 %+v", h.Proposed, h.Builds["v4"])
		}
	})
	t.Run("withdrawn by the command that made it", func(t *testing.T) {
		h := proposedH()
		if h.Withdraw(2) || !h.Withdraw(1) || h.Proposed != nil {
			t.Errorf("proposal %+v", h.Proposed)
		}
	})
}
