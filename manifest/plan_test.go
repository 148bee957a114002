package manifest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var planNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func fp(n int) Fingerprint { return Fingerprint{Files: n} }

// Folders as the watcher reports them.
func settled(n int) folderView  { return folderView{FP: fp(n), Settled: true} }
func appeared(n int) folderView { return folderView{FP: fp(n)} }
func dirty(n int) folderView    { return folderView{FP: fp(n), Dirty: true} }

// Builds as the planner remembers them.
func loadedAt(n int) memo { return memo{Loaded: true, LoadedFP: fp(n), Tried: true, TriedFP: fp(n)} }
func loading(id uint64, n int, why loadWhy, decision uint64) memo {
	return memo{LoadID: id, LoadFP: fp(n), Why: why, Decision: decision}
}
func (m memo) whileLoading(id uint64, n int) memo {
	m.LoadID, m.LoadFP, m.Why = id, fp(n), loadServe
	return m
}

func good(id uint64, v string, files int) loadResult {
	return loadResult{ID: id, Version: v, Sum: Summary{Files: files, Bytes: int64(files) * 100, Paths: "p-" + v}}
}
func bad(id uint64, v string) loadResult {
	return loadResult{ID: id, Version: v, Problems: []string{"index.html is empty"}}
}

// histories: each build activated an hour after the previous one, the
// last one current, all superseded builds live.
func activated(vs ...string) *History {
	h := newHistory()
	for i, v := range vs {
		h.Activate(v, Summary{Files: 8, Bytes: 800, Paths: "p-" + v}, planNow.Add(time.Duration(i-len(vs))*time.Hour))
	}
	return h
}

func with(h *History, fn func(h *History)) *History { fn(h); return h }

// state is the planner's state over h with builds in memory, serving served.
func state(h *History, mem map[string]memo, served string) planState {
	if mem == nil {
		mem = map[string]memo{}
	}
	return planState{Hist: h, Mem: mem, Served: served, SeenSeq: h.Seq, NextID: 100, Grace: 24 * time.Hour, Keep: 10}
}

// planCase is one step of the planner: what it must decide.
type planCase struct {
	name    string
	state   planState
	folders map[string]folderView
	loads   []loadResult
	ops     []string // "kind version", in order
	load    []string // versions whose load starts
	cancel  []uint64
	install []uint64
	unload  []string
	served  string
	states  map[string]State // afterwards, by the history
	check   func(t *testing.T, s planState, a actions)
}

func TestPlan(t *testing.T) {
	for _, group := range [][]planCase{planDeployCases, planDecisionCases, planRetireCases, planChangeCases, planStartCases} {
		for _, tt := range group {
			t.Run(tt.name, func(t *testing.T) { runPlanCase(t, tt) })
		}
	}
}

func runPlanCase(t *testing.T, tt planCase) {
	t.Helper()
	inHist, inMem := tt.state.Hist.clone(), maps.Clone(tt.state.Mem)
	s, a := plan(tt.state, tt.folders, tt.loads, planNow)
	var ops, loads []string
	for _, op := range a.Ops {
		ops = append(ops, op.kind.String()+" "+op.version)
	}
	for _, r := range a.Load {
		loads = append(loads, r.Version)
	}
	slices.Sort(a.Unload)
	for what, pair := range map[string][2]any{
		"ops": {ops, tt.ops}, "loads": {loads, tt.load}, "cancels": {a.Cancel, tt.cancel},
		"installs": {a.Install, tt.install}, "unloads": {a.Unload, tt.unload},
	} {
		if fmt.Sprint(pair[0]) != fmt.Sprint(pair[1]) {
			t.Errorf("%s = %v, want %v", what, pair[0], pair[1])
		}
	}
	if s.Served != tt.served {
		t.Errorf("served %q, want %q", s.Served, tt.served)
	}
	for v, want := range tt.states {
		if got := s.Hist.StateOf(v); got != want {
			t.Errorf("%s is %v, want %v", v, got, want)
		}
	}
	// The plan is pure: its input is untouched, and the history it
	// predicts is what applying its ops to the input gives.
	if !reflect.DeepEqual(tt.state.Hist, inHist) || !reflect.DeepEqual(tt.state.Mem, inMem) {
		t.Error("plan changed its input")
	}
	applied := inHist.clone()
	applyOps(applied, a.Ops, planNow)
	if !reflect.DeepEqual(applied, s.Hist) {
		t.Errorf("the ops applied give %+v, the plan predicted %+v", applied, s.Hist)
	}
	if tt.check != nil {
		tt.check(t, s, a)
	}
}

// Ops are decided on the history the planner knows and applied to the
// freshest one, where another process may have decided meanwhile: the
// last explicit decision wins.
func TestApplyOpOnAFresherState(t *testing.T) {
	tests := []struct {
		name   string
		fresh  func() *History // the state when the op is written
		op     stateOp
		check  func(h *History) bool
		expect string
	}{
		{
			name:   "a drop with no activation since its decision becomes current",
			fresh:  v1v2,
			op:     stateOp{kind: opDeploy, version: "v3", ifSeq: 2, sum: Summary{Files: 9}},
			check:  func(h *History) bool { return h.Current == "v3" && h.Seq == 3 && h.StateOf("v2") == Live },
			expect: "v3 current at seq 3, v2 live",
		},
		{
			name:  "a drop after which another process activated a build is ready",
			fresh: func() *History { return with(v1v2(), func(h *History) { h.Activate("v1", Summary{}, planNow) }) },
			op:    stateOp{kind: opDeploy, version: "v3", ifSeq: 2, sum: Summary{Files: 9}},
			check: func(h *History) bool {
				return h.Current == "v1" && h.Seq == 3 && h.StateOf("v3") == Ready && h.Builds["v3"].Files == 9
			},
			expect: "v1 current at seq 3, v3 ready with its size",
		},
		{
			name: "a fallback after another process activated a build does not activate",
			fresh: func() *History {
				return with(activated("v0", "v1", "v2"), func(h *History) { h.Activate("v0", Summary{}, planNow) })
			},
			op: stateOp{kind: opFallback, version: "v2", next: "v1"},
			check: func(h *History) bool {
				return h.Current == "v0" && h.StateOf("v2") == Retired && h.StateOf("v1") == Live
			},
			expect: "v0 current, v2 retired, v1 live",
		},
		{
			name:   "a retirement of a build another process made current is dropped",
			fresh:  func() *History { return with(v1v2(), func(h *History) { h.Activate("v1", Summary{}, planNow) }) },
			op:     stateOp{kind: opRetire, version: "v1"},
			check:  func(h *History) bool { return h.Current == "v1" && h.StateOf("v1") == Current },
			expect: "v1 current",
		},
		{
			name:   "a pass-over of a build another process activated is dropped",
			fresh:  func() *History { return with(v1v2(), func(h *History) { h.Activate("v3", Summary{}, planNow) }) },
			op:     stateOp{kind: opPassOver, version: "v3"},
			check:  func(h *History) bool { return h.Current == "v3" && h.Builds["v3"].PassedOver.IsZero() },
			expect: "v3 current, not passed over",
		},
		{
			name:   "an invalid mark on a build that served is kept off its history",
			fresh:  v1v2,
			op:     stateOp{kind: opInvalid, version: "v1", problems: []string{"x"}},
			check:  func(h *History) bool { return h.StateOf("v1") == Live && len(h.Builds["v1"].Problems) == 0 },
			expect: "v1 live, no problems",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.fresh()
			applyOp(h, tt.op, planNow)
			if !tt.check(h) {
				t.Errorf("after %s %s: current %q seq %d, records %+v; want %s", tt.op.kind, tt.op.version, h.Current, h.Seq, h.Builds, tt.expect)
			}
		})
	}
}

func TestStateText(t *testing.T) {
	for s := Unknown; s <= Retired; s++ {
		b, err := s.MarshalText()
		var back State
		if err != nil || back.UnmarshalText(b) != nil || back != s || string(b) != s.String() {
			t.Errorf("%d: %q, %v, back %v", s, b, err, back)
		}
	}
	b, _ := json.Marshal(BuildStatus{Version: "v1", State: Current})
	if !strings.Contains(string(b), `"state":"current"`) {
		t.Errorf("status JSON: %s", b)
	}
	var st State
	if st.UnmarshalText([]byte("nonsense")) == nil {
		t.Error("an unknown state name was accepted")
	}
}

// TestActivateWhileDropSettles: the last explicit decision wins from the
// moment a drop appears. An activate made while a dropped folder still
// settles is the later decision: the drop, once loaded, is ready, not
// current.
func TestActivateWhileDropSettles(t *testing.T) {
	s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2")
	folders := map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": appeared(3)}
	s, a := plan(s, folders, nil, planNow)
	if len(a.Load) != 0 {
		t.Fatalf("a folder still settling loads: %+v", a.Load)
	}
	rollback := with(s.Hist.clone(), func(h *History) { h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) })
	s = s.withHistory(rollback, s.SeenSeq) // another process's activation
	folders["v3"] = settled(3)
	s, a = plan(s, folders, nil, planNow.Add(time.Second))
	if len(a.Load) != 1 || a.Load[0].Version != "v3" {
		t.Fatalf("loads once settled: %+v, want v3", a.Load)
	}
	s, _ = plan(s, folders, []loadResult{good(a.Load[0].ID, "v3", 9)}, planNow.Add(2*time.Second))
	if s.Hist.Current != "v1" || s.Hist.StateOf("v3") != Ready {
		t.Errorf("after v3's load: current %q, v3 %v; want v1 current and v3 ready", s.Hist.Current, s.Hist.StateOf("v3"))
	}
}

// TestFixedDropIsANewDecision: a drop that failed to validate and is then
// fixed is numbered again when it changes, so it goes current even after an
// activation made between its failure and its fix.
func TestFixedDropIsANewDecision(t *testing.T) {
	s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2")
	folders := map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)}
	s, a := plan(s, folders, nil, planNow)
	s, _ = plan(s, folders, []loadResult{bad(a.Load[0].ID, "v3")}, planNow.Add(time.Second))
	rollback := with(s.Hist.clone(), func(h *History) { h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) })
	s = s.withHistory(rollback, s.SeenSeq)
	folders["v3"] = dirty(4)
	s, _ = plan(s, folders, nil, planNow.Add(2*time.Second))
	folders["v3"] = settled(4)
	s, a = plan(s, folders, nil, planNow.Add(3*time.Second))
	if len(a.Load) != 1 {
		t.Fatalf("the fixed folder's load: %+v", a.Load)
	}
	s, _ = plan(s, folders, []loadResult{good(a.Load[0].ID, "v3", 9)}, planNow.Add(4*time.Second))
	if s.Hist.Current != "v3" {
		t.Errorf("after the fix loaded: current %q, want v3", s.Hist.Current)
	}
}
