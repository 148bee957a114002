package manifest

import (
	"testing"
	"time"
)

// The planner's transitions, one table per concern; TestPlan runs them.

var v1v2 = func() *History { return activated("v1", "v2") } // v2 current (seq 2), v1 live

var planDeployCases = []planCase{
	{
		name:    "a new folder waits to settle",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": appeared(3)},
		served:  "v2",
	},
	{
		name:    "drop: a settled new folder is a decision, and loads",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		load:    []string{"v3"},
		served:  "v2",
		check: func(t *testing.T, s planState, _ actions) {
			if m := s.Mem["v3"]; s.Decision != 1 || m.Decision != 1 || m.Why != loadDeploy {
				t.Errorf("decision %d, v3 %+v", s.Decision, m)
			}
		},
	},
	{
		name: "ready: the newest drop's good load makes it current; the old current is live",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{good(7, "v3", 9)},
		ops:     []string{"deploy v3"},
		install: []uint64{7},
		served:  "v3",
		states:  map[string]State{"v3": Current, "v2": Live, "v1": Live},
		check: func(t *testing.T, s planState, _ actions) {
			if s.Hist.Seq != 3 || s.Hist.Builds["v3"].Files != 9 || s.Hist.Builds["v3"].Paths != "p-v3" {
				t.Errorf("seq %d, v3 %+v", s.Hist.Seq, s.Hist.Builds["v3"])
			}
		},
	},
	{
		name: "invalid: a drop that does not validate is reported; the current build stays",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{bad(7, "v3")},
		ops:     []string{"invalid v3"},
		served:  "v2",
		states:  map[string]State{"v3": Invalid, "v2": Current},
	},
	{
		name:    "an invalid drop is not tried again while it does not change",
		state:   state(with(v1v2(), func(h *History) { h.MarkInvalid("v3", []string{"x"}) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": {Tried: true, TriedFP: fp(3), Problems: []string{"x"}}}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v2",
	},
	{
		name:    "an invalid drop that changed is a new decision, and loads",
		state:   state(with(v1v2(), func(h *History) { h.MarkInvalid("v3", []string{"x"}) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": {Tried: true, TriedFP: fp(3), Problems: []string{"x"}}}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(4)},
		load:    []string{"v3"},
		served:  "v2",
	},
	{
		name: "a drop whose folder changes while it loads is loaded again at the new tree, same decision",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(4)},
		cancel:  []uint64{7},
		load:    []string{"v3"},
		served:  "v2",
		check: func(t *testing.T, s planState, _ actions) {
			if m := s.Mem["v3"]; m.Decision != 1 || m.LoadFP != fp(4) || s.Decision != 1 {
				t.Errorf("decision %d, v3 %+v", s.Decision, m)
			}
		},
	},
	{
		name: "a load that ends while its folder is changing is dropped",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": dirty(3)},
		loads:   []loadResult{good(7, "v3", 9)},
		served:  "v2",
		states:  map[string]State{"v3": Unknown},
	},
	{
		name:    "the result of a cancelled or replaced load is ignored",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(8, 3, loadDeploy, 1)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{good(7, "v3", 9)},
		served:  "v2",
	},
}

var planDecisionCases = []planCase{
	{
		name: "activate during a load: another process's activation passes the loading drop over",
		state: func() planState {
			// v2 was current (seq 2) when v3's drop was decided; then
			// `skewless activate v1` (seq 3).
			h := v1v2()
			s := state(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			s.Hist = with(h.clone(), func(h *History) { h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) })
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		ops:     []string{"pass-over v3"},
		served:  "v1",
		states:  map[string]State{"v1": Current, "v2": Live, "v3": Ready},
		check: func(t *testing.T, s planState, _ actions) {
			if s.Decision != 2 {
				t.Errorf("decision %d, want 2", s.Decision)
			}
		},
	},
	{
		name: "... and when its load ends it is ready, not current",
		state: func() planState {
			h := activated("v2", "v1")
			h.PassOver("v3", planNow)
			s := state(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v1")
			s.Decision = 2
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		loads:   []loadResult{good(7, "v3", 9)},
		ops:     []string{"content v3"},
		install: []uint64{7},
		served:  "v1",
		states:  map[string]State{"v1": Current, "v3": Ready},
	},
	{
		name: "a newer drop passes an older one still loading over (it ends ready)",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2")
			s.Decision = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3), "v4": settled(4)},
		load:    []string{"v4"},
		ops:     []string{"pass-over v3"},
		served:  "v2",
		states:  map[string]State{"v3": Ready},
	},
	{
		name: "the newest drop activates even when an older one is still loading",
		state: func() planState {
			h := with(v1v2(), func(h *History) { h.PassOver("v3", planNow) })
			s := state(h, map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1), "v4": loading(8, 4, loadDeploy, 2)}, "v2")
			s.Decision = 2
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3), "v4": settled(4)},
		loads:   []loadResult{good(8, "v4", 9)},
		ops:     []string{"deploy v4"},
		install: []uint64{8},
		served:  "v4",
		states:  map[string]State{"v4": Current, "v3": Ready, "v2": Live},
	},
	{
		name:    "rollback to a live build is instant: nothing to load",
		state:   state(with(v1v2(), func(h *History) { h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		served:  "v1",
		states:  map[string]State{"v1": Current, "v2": Live},
	},
	{
		name: "activating a build not in memory loads it; the served build serves until then",
		state: state(with(v1v2(), func(h *History) { h.Retire("v1", planNow); h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) }),
			map[string]memo{"v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		load:    []string{"v1"},
		served:  "v2",
		states:  map[string]State{"v1": Current, "v2": Live},
	},
	{
		name: "... once it is loaded it serves",
		state: state(with(v1v2(), func(h *History) { h.Activate("v1", Summary{Files: 8, Bytes: 800}, planNow) }),
			map[string]memo{"v1": loading(9, 1, loadServe, 0), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		loads:   []loadResult{good(9, "v1", 8)},
		install: []uint64{9},
		served:  "v1",
	},
	{
		name:    "a ready build activated is instant",
		state:   state(with(v1v2(), func(h *History) { h.PassOver("v3", planNow); h.Activate("v3", Summary{}, planNow) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v3",
		states:  map[string]State{"v3": Current, "v2": Live},
	},
}

var planRetireCases = []planCase{
	{
		name: "retire by grace: a live build superseded longer ago than --grace",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2")
			s.Grace = 30 * time.Minute
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		ops:     []string{"retire v1"},
		unload:  []string{"v1"},
		served:  "v2",
		states:  map[string]State{"v1": Retired},
	},
	{
		name: "within grace: the next retirement is when the planner wakes",
		state: func() planState {
			s := state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2")
			s.Grace = 90 * time.Minute
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		served:  "v2",
		check: func(t *testing.T, _ planState, a actions) {
			if want := planNow.Add(30 * time.Minute); !a.Wake.Equal(want) {
				t.Errorf("wake %v, want %v", a.Wake, want)
			}
		},
	},
	{
		name: "retire by --keep: beyond the newest superseded builds",
		state: func() planState {
			s := state(activated("v1", "v2", "v3", "v4"), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3), "v4": loadedAt(4)}, "v4")
			s.Keep = 1
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3), "v4": settled(4)},
		ops:     []string{"retire v2", "retire v1"},
		unload:  []string{"v1", "v2"},
		served:  "v4",
		states:  map[string]State{"v3": Live, "v2": Retired, "v1": Retired},
	},
	{
		name:    "current folder removed: the newest live build takes over",
		state:   state(activated("v1", "v2", "v3"), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3)}, "v3"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		ops:     []string{"fallback v3"},
		unload:  []string{"v3"},
		served:  "v2",
		states:  map[string]State{"v3": Retired, "v2": Current, "v1": Live},
	},
	{
		name:    "current folder removed with no live build: nothing serves",
		state:   state(activated("v1"), map[string]memo{"v1": loadedAt(1)}, "v1"),
		folders: map[string]folderView{},
		ops:     []string{"fallback v1"},
		unload:  []string{"v1"},
		served:  "",
		states:  map[string]State{"v1": Retired},
	},
	{
		name:    "live folder removed: it retires (its paths keep the marker)",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v2": settled(2)},
		ops:     []string{"retire v1"},
		unload:  []string{"v1"},
		served:  "v2",
		states:  map[string]State{"v1": Retired},
	},
	{
		name:    "a ready build's folder removed: forgotten",
		state:   state(with(v1v2(), func(h *History) { h.PassOver("v3", planNow) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loadedAt(3)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		ops:     []string{"forget v3"},
		unload:  []string{"v3"},
		served:  "v2",
		states:  map[string]State{"v3": Unknown},
	},
	{
		name:    "a loading folder removed: its load is cancelled",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2), "v3": loading(7, 3, loadDeploy, 1)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		cancel:  []uint64{7},
		served:  "v2",
	},
}

var planChangeCases = []planCase{
	{
		name:    "change inside the current build: loaded again once settled",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(5)},
		load:    []string{"v2"},
		served:  "v2",
	},
	{
		name:    "... not while it is changing",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": dirty(2)},
		served:  "v2",
	},
	{
		name:    "... its new load is good: installed and served as it now is",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2).whileLoading(9, 5)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(5)},
		loads:   []loadResult{good(9, "v2", 12)},
		ops:     []string{"content v2"},
		install: []uint64{9},
		served:  "v2",
		states:  map[string]State{"v2": Current},
	},
	{
		name:    "... its new load is invalid: the last good load keeps serving, the problem is recorded",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2).whileLoading(9, 5)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(5)},
		loads:   []loadResult{bad(9, "v2")},
		ops:     []string{"problems v2"},
		served:  "v2",
		states:  map[string]State{"v2": Current},
		check: func(t *testing.T, s planState, _ actions) {
			if p := s.Hist.Builds["v2"].Problems; len(p) != 1 || !s.Mem["v2"].Loaded || s.Mem["v2"].LoadedFP != fp(2) {
				t.Errorf("problems %q, memo %+v", p, s.Mem["v2"])
			}
		},
	},
	{
		name:    "change inside a live build: loaded again",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(7), "v2": settled(2)},
		load:    []string{"v1"},
		served:  "v2",
	},
	{
		name:    "a live build that turned invalid keeps its last good load",
		state:   state(v1v2(), map[string]memo{"v1": loadedAt(1).whileLoading(9, 7), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(7), "v2": settled(2)},
		loads:   []loadResult{bad(9, "v1")},
		ops:     []string{"problems v1"},
		served:  "v2",
		states:  map[string]State{"v1": Live},
	},
	{
		name:    "a retired build's folder is not loaded",
		state:   state(with(v1v2(), func(h *History) { h.Retire("v1", planNow) }), map[string]memo{"v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(7), "v2": settled(2)},
		served:  "v2",
	},
}

var planStartCases = []planCase{
	{
		name:    "first start with a state: the current build loads first",
		state:   state(activated("v1", "v2"), nil, ""),
		folders: map[string]folderView{"v1": appeared(1), "v2": appeared(2), "v9": appeared(9)},
		load:    []string{"v2"},
		served:  "",
	},
	{
		name:    "... then the live builds, while it serves; a new folder still waits to settle",
		state:   state(activated("v1", "v2"), map[string]memo{"v2": loading(1, 2, loadServe, 0)}, ""),
		folders: map[string]folderView{"v1": appeared(1), "v2": appeared(2), "v9": appeared(9)},
		loads:   []loadResult{good(1, "v2", 8)},
		install: []uint64{1},
		load:    []string{"v1"},
		served:  "v2",
	},
	{
		name:    "the current build cannot be loaded: the newest live one takes over and loads",
		state:   state(activated("v1", "v2"), map[string]memo{"v2": loading(1, 2, loadServe, 0)}, ""),
		folders: map[string]folderView{"v1": appeared(1), "v2": appeared(2)},
		loads:   []loadResult{bad(1, "v2")},
		ops:     []string{"fallback v2"},
		load:    []string{"v1"},
		served:  "",
		states:  map[string]State{"v2": Retired, "v1": Current},
	},
	{
		name:    "a live build that cannot be loaded retires",
		state:   state(activated("v1", "v2"), map[string]memo{"v1": loading(3, 1, loadServe, 0), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": appeared(1), "v2": appeared(2)},
		loads:   []loadResult{bad(3, "v1")},
		ops:     []string{"retire v1"},
		served:  "v2",
		states:  map[string]State{"v1": Retired},
	},
	{
		name: "first start without a state: the newest folder is tried first, alone",
		state: func() planState {
			s := state(newHistory(), nil, "")
			s.Adopt = map[string]int{"b": 0, "a": 1}
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1), "b": appeared(2)},
		load:    []string{"b"},
	},
	{
		name: "... it is valid: current; the others load next, to be live",
		state: func() planState {
			s := state(newHistory(), map[string]memo{"b": loading(1, 2, loadAdopt, 0)}, "")
			s.Adopt, s.AdoptAt = map[string]int{"b": 0, "a": 1}, planNow
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1), "b": appeared(2)},
		loads:   []loadResult{good(1, "b", 8)},
		ops:     []string{"activate b"},
		install: []uint64{1},
		load:    []string{"a"},
		served:  "b",
		states:  map[string]State{"b": Current},
	},
	{
		name: "... the newest is invalid: the next one is tried",
		state: func() planState {
			s := state(newHistory(), map[string]memo{"b": loading(1, 2, loadAdopt, 0)}, "")
			s.Adopt = map[string]int{"b": 0, "a": 1}
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1), "b": appeared(2)},
		loads:   []loadResult{bad(1, "b")},
		ops:     []string{"invalid b"},
		load:    []string{"a"},
		states:  map[string]State{"b": Invalid},
	},
	{
		name: "... a folder found beside the current build is live",
		state: func() planState {
			s := state(activated("b"), map[string]memo{"b": loadedAt(2), "a": loading(2, 1, loadAdopt, 0)}, "b")
			s.Adopt, s.AdoptAt = map[string]int{"a": 1}, planNow
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1), "b": appeared(2)},
		loads:   []loadResult{good(2, "a", 8)},
		ops:     []string{"supersede a"},
		install: []uint64{2},
		served:  "b",
		states:  map[string]State{"a": Live, "b": Current},
	},
	{
		name: "corrupt state: rebuilt, the sequence goes on above any number handed out",
		state: func() planState {
			h := newHistory()
			h.Seq = 1_767_000_000 // the store's floor
			s := state(h, map[string]memo{"a": loading(1, 1, loadAdopt, 0)}, "")
			s.Adopt = map[string]int{"a": 0}
			return s
		}(),
		folders: map[string]folderView{"a": appeared(1)},
		loads:   []loadResult{good(1, "a", 8)},
		ops:     []string{"activate a"},
		install: []uint64{1},
		served:  "a",
		check: func(t *testing.T, s planState, _ actions) {
			if s.Hist.Seq != 1_767_000_001 {
				t.Errorf("seq %d", s.Hist.Seq)
			}
		},
	},
}
