package manifest

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// blockedV1 is v1v2 with v1 (live) blocked.
func blockedV1() *History {
	return with(v1v2(), func(h *History) { _ = h.Block("v1", "leaks a key", planNow.Add(-time.Minute)) })
}

// A blocked build is never served, loaded, retired by time, taken over
// from, deployed or adopted; unblocked, it is what its times say.
var planBlockCases = []planCase{
	{
		name:    "blocked: a live build is let go, its paths answer blocked",
		state:   state(blockedV1(), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		unload:  []string{"v1"},
		served:  "v2",
		states:  map[string]State{"v1": Blocked, "v2": Current},
	},
	{
		name:    "a blocked build is not loaded again",
		state:   state(blockedV1(), map[string]memo{"v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		served:  "v2",
	},
	{
		name: "a blocked build does not retire when its grace ends: it stays blocked",
		state: func() planState {
			s := state(blockedV1(), map[string]memo{"v2": loadedAt(2)}, "v2")
			s.Grace = 30 * time.Minute
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		served:  "v2",
		states:  map[string]State{"v1": Blocked},
	},
	{
		name:    "unblocked within its grace: live, and loaded again",
		state:   state(with(blockedV1(), func(h *History) { h.Unblock("v1") }), map[string]memo{"v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		load:    []string{"v1"},
		served:  "v2",
		states:  map[string]State{"v1": Live},
	},
	{
		name: "unblocked past its grace: it retires",
		state: func() planState {
			s := state(with(blockedV1(), func(h *History) { h.Unblock("v1") }), map[string]memo{"v2": loadedAt(2)}, "v2")
			s.Grace = 30 * time.Minute
			return s
		}(),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2)},
		ops:     []string{"retire v1"},
		load:    []string{"v1"}, // loads are planned before retirements, as for a live build found late at a start
		served:  "v2",
		states:  map[string]State{"v1": Retired},
	},
	{
		name:    "the current build's folder is removed: a blocked build never takes over",
		state:   state(blockedV1(), map[string]memo{"v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1)},
		ops:     []string{"fallback v2"},
		unload:  []string{"v2"},
		served:  "",
		states:  map[string]State{"v1": Blocked, "v2": Retired},
	},
	{
		name:    "a folder blocked before it was ever deployed is never loaded",
		state:   state(with(v1v2(), func(h *History) { _ = h.Block("v3", "", planNow) }), map[string]memo{"v1": loadedAt(1), "v2": loadedAt(2)}, "v2"),
		folders: map[string]folderView{"v1": settled(1), "v2": settled(2), "v3": settled(3)},
		served:  "v2",
		states:  map[string]State{"v3": Blocked},
		check: func(t *testing.T, s planState, _ actions) {
			if s.Decision != 0 {
				t.Errorf("decision %d: a blocked folder is no deploy", s.Decision)
			}
		},
	},
}

func TestPlanBlocked(t *testing.T) {
	for _, tt := range planBlockCases {
		t.Run(tt.name, func(t *testing.T) { runPlanCase(t, tt) })
	}
}

func TestBlock(t *testing.T) {
	h := activated("v1", "v2")
	if err := h.Block("v2", "x", planNow); !errors.Is(err, ErrBlockCurrent) {
		t.Fatalf("blocking the current build: %v, want ErrBlockCurrent", err)
	}
	if err := h.Block("v1", "leaks a key", planNow); err != nil {
		t.Fatal(err)
	}
	if st := h.StateOf("v1"); st != Blocked {
		t.Fatalf("v1 is %v, want blocked", st)
	}
	h.Forget("v1") // a block outlives its folder
	if h.Builds["v1"] == nil || h.Builds["v1"].BlockReason != "leaks a key" {
		t.Fatalf("record after Forget: %+v", h.Builds["v1"])
	}
	list := ListStatuses(h, nil)
	i := slices.IndexFunc(list, func(b BuildStatus) bool { return b.Version == "v1" })
	if i < 0 || list[i].State != Blocked || list[i].BlockReason != "leaks a key" || !list[i].Blocked.Equal(planNow) {
		t.Errorf("status of v1: %+v", list)
	}
	if !h.Unblock("v1") || h.Unblock("v1") {
		t.Error("Unblock reports a block once")
	}
	if st := h.StateOf("v1"); st != Live {
		t.Errorf("unblocked v1 is %v, want live (superseded, not retired)", st)
	}
}

// TestAdoptionSkipsBlocked: a first start without a current build never
// adopts a blocked folder.
func TestAdoptionSkipsBlocked(t *testing.T) {
	h := newHistory()
	_ = h.Block("b", "", planNow)
	order := adoptionOrder(h, map[string]folderView{"a": {ModTime: planNow}, "b": {ModTime: planNow.Add(time.Hour)}})
	if _, ok := order["b"]; ok || len(order) != 1 {
		t.Errorf("adoption order %v, want only a", order)
	}
}

// TestBlockWithdrawsProposal: a build blocked while it waits for the
// cluster's barrier never passes it.
func TestBlockWithdrawsProposal(t *testing.T) {
	h := newHistory()
	h.Propose(Proposal{Version: "b"}, planNow)
	if err := h.Block("b", "", planNow); err != nil {
		t.Fatal(err)
	}
	if h.Proposed != nil || h.proposed("b") {
		t.Errorf("proposal after blocking b: %+v, want none", h.Proposed)
	}
}
