package manifest

import (
	"fmt"
	"sort"
	"time"
)

// State is where a build stands. It is derived in one place (stateOf) from
// the persisted history and what is known of the build's folder.
type State int

// Build states, as `status` and /_skewless/version name them.
const (
	Unknown State = iota
	Pending
	Invalid
	Current
	Live
	Ready
	Retired
	Blocked // an operator declared it unsafe (skewless block): never served, tabs leave it
)

var stateNames = [...]string{Unknown: "unknown", Pending: "pending", Invalid: "invalid", Current: "current",
	Live: "live", Ready: "ready", Retired: "retired", Blocked: "blocked"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// MarshalText names the state ("current"), as JSON output shows it.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown build state %q", b)
}

// BuildStatus describes one build for status listings.
type BuildStatus struct {
	Version    string    `json:"version"`
	State      State     `json:"state"`
	Seq        uint64    `json:"seq,omitempty"`
	Activated  time.Time `json:"activated,omitzero"`
	Superseded time.Time `json:"superseded,omitzero"`
	RetiredAt  time.Time `json:"retired,omitzero"`
	Files      int       `json:"files"`
	Bytes      int64     `json:"bytes"`
	// Problems says what is wrong: why an invalid build cannot be served,
	// or why the folder of a current, live or ready build changed into
	// something invalid (its last good load keeps serving).
	Problems []string `json:"problems,omitempty"`
	// Present is false for a build whose folder was deleted.
	Present bool `json:"present"`
	// Blocked is when an operator blocked the build, and why.
	Blocked     time.Time `json:"blocked,omitzero"`
	BlockReason string    `json:"block_reason,omitempty"`
	// Retires is when a live build will retire by the recorded policy
	// (History.Policy), if no other build is activated before.
	Retires time.Time `json:"retires,omitzero"`
}

// FolderStatus is what is known of a version folder that is present.
type FolderStatus struct {
	// Pending: not decided yet (settling, being validated or loaded, or,
	// for `status` without a server, valid and waiting for one).
	Pending  bool
	Problems []string
	Files    int
	Bytes    int64
}

// stateOf derives the state of build v: the one place that does. A
// build's record decides the states a decision made (current, retired,
// live, ready); its folder decides the others.
func stateOf(h *History, v string, f FolderStatus, present bool) State {
	r := h.Builds[v]
	switch {
	case v == h.Current && h.Current != "":
		return Current
	case r != nil && !r.Blocked.IsZero():
		return Blocked
	case r != nil && !r.Retired.IsZero():
		return Retired
	case r != nil && !r.Superseded.IsZero():
		return Live
	case present && f.Pending:
		return Pending
	case len(f.Problems) > 0 || (r != nil && len(r.Problems) > 0):
		return Invalid
	case r != nil && !r.PassedOver.IsZero():
		return Ready
	case r == nil && !present:
		return Unknown
	}
	return Pending
}

// ListStatuses lists every build: those in the history, and present folders
// it does not know yet (pending, or invalid with their problems).
func ListStatuses(h *History, present map[string]FolderStatus) []BuildStatus {
	return listStatuses(h, present, h.Current)
}

// listStatuses is ListStatuses as a server sees it: served is the build it
// serves as current, which lags the history's while a newly activated
// build loads (the history's is pending until then).
func listStatuses(h *History, present map[string]FolderStatus, served string) []BuildStatus {
	view := h
	if served != h.Current {
		view = &History{Current: served, Builds: h.Builds}
	}
	var out []BuildStatus
	add := func(v string) {
		f, ok := present[v]
		st := stateOf(view, v, f, ok)
		if v == h.Current && v != served {
			st = Pending
		}
		b := BuildStatus{Version: v, State: st, Files: f.Files, Bytes: f.Bytes, Problems: f.Problems, Present: ok}
		if r := h.Builds[v]; r != nil {
			b.Seq, b.Activated, b.Superseded, b.RetiredAt = r.Seq, r.Activated, r.Superseded, r.Retired
			b.Files, b.Bytes, b.Blocked, b.BlockReason = r.Files, r.Bytes, r.Blocked, r.BlockReason
			if len(b.Problems) == 0 {
				b.Problems = r.Problems
			}
		}
		out = append(out, b)
	}
	for v := range h.Builds {
		add(v)
	}
	for v := range present {
		if h.Builds[v] == nil {
			add(v)
		}
	}
	setRetires(h, out, time.Now())
	SortStatuses(out)
	return out
}

// setRetires fills in when the live builds of list retire, by the policy
// the history records (none: unknown, left zero).
func setRetires(h *History, list []BuildStatus, now time.Time) {
	if h.Policy == nil {
		return
	}
	var live []Superseded
	for _, b := range list {
		if b.State == Live {
			live = append(live, Superseded{Version: b.Version, At: b.Superseded})
		}
	}
	at := RetireTimes(live, now, time.Duration(h.Policy.Grace), h.Policy.Keep)
	for i := range list {
		if t, ok := at[list[i].Version]; ok {
			list[i].Retires = t
		}
	}
}

// SortStatuses orders builds newest first: by activation sequence, then
// never-activated ones by name.
func SortStatuses(s []BuildStatus) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Seq != s[j].Seq {
			return s[i].Seq > s[j].Seq
		}
		return s[i].Version > s[j].Version
	})
}
