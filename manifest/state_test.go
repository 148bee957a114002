package manifest

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// decodeHistoryTests are state files and whether decodeHistory must refuse
// them as corrupt; a usable one is checked for its current build and the
// versions it knows.
var decodeHistoryTests = []struct {
	name     string
	in       string
	corrupt  bool
	current  string
	versions []string
}{
	{name: "empty state", in: `{"format": 1}`},
	{name: "null builds", in: `{"format": 1, "builds": null}`},
	{
		name:     "current with history",
		in:       `{"format": 1, "rev": 7, "seq": 3, "current": "v2", "builds": {"v1": {"seq": 1, "superseded": "2026-02-13T12:00:00Z"}, "v2": {"seq": 3}}}`,
		current:  "v2",
		versions: []string{"v1", "v2"},
	},
	{
		name:     "unknown fields are ignored",
		in:       `{"format": 1, "future": true, "current": "v1", "builds": {"v1": {"later": 1}}}`,
		current:  "v1",
		versions: []string{"v1"},
	},
	{name: "no current, builds known", in: `{"format": 1, "builds": {"v1": {"retired": "2026-02-13T12:00:00Z"}}}`, versions: []string{"v1"}},
	{name: "empty file", in: ``, corrupt: true},
	{name: "truncated", in: `{"format": 1, "builds": {"v1": {`, corrupt: true},
	{name: "not JSON", in: `state`, corrupt: true},
	{name: "JSON array", in: `[]`, corrupt: true},
	{name: "JSON string", in: `"v1"`, corrupt: true},
	{name: "format 0", in: `{"format": 0}`, corrupt: true},
	{name: "format 2", in: `{"format": 2, "current": "v1", "builds": {"v1": {}}}`, corrupt: true},
	{name: "format as string", in: `{"format": "1"}`, corrupt: true},
	{name: "negative seq", in: `{"format": 1, "seq": -1}`, corrupt: true},
	{name: "builds not an object", in: `{"format": 1, "builds": []}`, corrupt: true},
	{name: "record not an object", in: `{"format": 1, "builds": {"v1": 3}}`, corrupt: true},
	{name: "null record", in: `{"format": 1, "builds": {"v1": null}}`, corrupt: true},
	{name: "bad time", in: `{"format": 1, "builds": {"v1": {"activated": "yesterday"}}}`, corrupt: true},
	{name: "dot-dot version", in: `{"format": 1, "builds": {"..": {}}}`, corrupt: true},
	{name: "version with slash", in: `{"format": 1, "builds": {"a/b": {}}}`, corrupt: true},
	{name: "state dir as version", in: `{"format": 1, "builds": {".skewless": {}}}`, corrupt: true},
	{name: "empty version", in: `{"format": 1, "builds": {"": {}}}`, corrupt: true},
	{name: "current without record", in: `{"format": 1, "current": "v3", "builds": {"v1": {}}}`, corrupt: true},
	{name: "current without any builds", in: `{"format": 1, "current": "v1"}`, corrupt: true},
}

func TestDecodeHistory(t *testing.T) {
	for _, tt := range decodeHistoryTests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := decodeHistory([]byte(tt.in))
			if s == nil {
				t.Fatalf("decodeHistory returned a nil history (err %v)", err)
			}
			if s.Format != stateFormat || s.Builds == nil {
				t.Errorf("history not usable: format %d, builds %v", s.Format, s.Builds)
			}
			if tt.corrupt {
				if !errors.Is(err, ErrCorruptState) {
					t.Fatalf("err = %v, want one wrapping ErrCorruptState", err)
				}
				// The caller rebuilds from the folders: nothing of the
				// corrupt file survives.
				if s.Current != "" || len(s.Builds) != 0 || s.Seq != 0 || s.Rev != 0 {
					t.Errorf("a corrupt state returned %+v, want an empty one", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if s.Current != tt.current {
				t.Errorf("Current = %q, want %q", s.Current, tt.current)
			}
			if got := slices.Sorted(maps.Keys(s.Builds)); !slices.Equal(got, tt.versions) {
				t.Errorf("builds = %q, want %q", got, tt.versions)
			}
		})
	}
}

func TestDecodeHistoryRoundTrip(t *testing.T) {
	at := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	s := newHistory()
	s.Activate("v1", Summary{Files: 8, Bytes: 100, Paths: "digest1"}, at)
	s.Activate("v2", Summary{Files: 9}, at.Add(time.Hour))
	s.Retire("v1", at.Add(2*time.Hour))
	s.MarkInvalid("v3", []string{"index.html is missing"})
	s.PassOver("v4", at.Add(3*time.Hour))
	// A state written before path lists kept hashed paths inline.
	s.Builds["v0"] = &Record{Superseded: at, Retired: at, Hashed: []string{"/assets/a-BRh8Y3xK.js"}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeHistory(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v0", "v1", "v2", "v3", "v4"} {
		if got.StateOf(v) != s.StateOf(v) {
			t.Errorf("%s: state %v after a round trip, was %v", v, got.StateOf(v), s.StateOf(v))
		}
	}
	if r := got.Builds["v1"]; !r.Retired.Equal(at.Add(2*time.Hour)) || r.Paths != "digest1" || r.Hashed != nil {
		t.Errorf("v1 record after a round trip: %+v", r)
	}
	if r := got.Builds["v0"]; !slices.Equal(r.Hashed, []string{"/assets/a-BRh8Y3xK.js"}) {
		t.Errorf("v0 (an old state's record) after a round trip: %+v", r)
	}
	if got.StateOf("v4") != Ready {
		t.Errorf("a passed-over build is %v after a round trip, want ready", got.StateOf("v4"))
	}
	if got.Seq != 2 || got.Current != "v2" {
		t.Errorf("Seq, Current = %d, %q", got.Seq, got.Current)
	}
}

// TestActivateSequence: each activation takes the next sequence number and
// supersedes the previous current build at that time; a rollback makes
// the old build current again with a new number.
func TestActivateSequence(t *testing.T) {
	t0 := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	s := newHistory()
	steps := []struct {
		v       string
		at      time.Time
		seq     uint64
		states  map[string]State
		superAt map[string]time.Time // superseded times
	}{
		{"v1", at(0), 1, map[string]State{"v1": Current}, map[string]time.Time{"v1": {}}},
		{"v2", at(1), 2, map[string]State{"v1": Live, "v2": Current}, map[string]time.Time{"v1": at(1), "v2": {}}},
		{"v3", at(2), 3, map[string]State{"v1": Live, "v2": Live, "v3": Current}, map[string]time.Time{"v1": at(1), "v2": at(2), "v3": {}}},
		// Rollback to v1: it is current again, v3 is superseded now.
		{"v1", at(3), 4, map[string]State{"v1": Current, "v2": Live, "v3": Live}, map[string]time.Time{"v1": {}, "v2": at(2), "v3": at(3)}},
		// Activating the current build again supersedes nothing.
		{"v1", at(4), 5, map[string]State{"v1": Current, "v2": Live, "v3": Live}, map[string]time.Time{"v1": {}, "v3": at(3)}},
	}
	for i, st := range steps {
		seq := s.Activate(st.v, Summary{Files: i + 1}, st.at)
		if seq != st.seq || s.Seq != st.seq || s.Current != st.v {
			t.Fatalf("step %d: Activate(%s) = %d (Seq %d, Current %q), want %d", i, st.v, seq, s.Seq, s.Current, st.seq)
		}
		r := s.Builds[st.v]
		if r.Seq != st.seq || !r.Activated.Equal(st.at) || r.Files != i+1 || !r.Retired.IsZero() {
			t.Errorf("step %d: record of %s = %+v", i, st.v, r)
		}
		for v, want := range st.states {
			if got := s.StateOf(v); got != want {
				t.Errorf("step %d: StateOf(%s) = %v, want %v", i, v, got, want)
			}
		}
		for v, want := range st.superAt {
			if got := s.Builds[v].Superseded; !got.Equal(want) {
				t.Errorf("step %d: %s superseded at %v, want %v", i, v, got, want)
			}
		}
	}
}

func TestActivateRetired(t *testing.T) {
	t0 := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	s := newHistory()
	s.Activate("v1", Summary{}, t0)
	s.Activate("v2", Summary{}, t0.Add(time.Minute))
	s.Retire("v1", t0.Add(2*time.Minute))
	if s.StateOf("v1") != Retired {
		t.Fatalf("v1 is %v after Retire", s.StateOf("v1"))
	}
	if seq := s.Activate("v1", Summary{}, t0.Add(3*time.Minute)); seq != 3 {
		t.Errorf("seq = %d, want 3", seq)
	}
	if r := s.Builds["v1"]; !r.Retired.IsZero() || !r.Superseded.IsZero() || s.StateOf("v1") != Current {
		t.Errorf("re-activated retired build: %+v, state %v", r, s.StateOf("v1"))
	}
	if s.StateOf("v2") != Live || !s.Builds["v2"].Superseded.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("v2: state %v, superseded %v", s.StateOf("v2"), s.Builds["v2"].Superseded)
	}
}

var retireTests = []struct {
	name       string
	setup      func(s *History, t0 time.Time)
	retire     string
	current    string
	superseded time.Duration // after t0
}{
	{
		name:       "retire the current build leaves none",
		setup:      func(s *History, t0 time.Time) { s.Activate("v1", Summary{}, t0) },
		retire:     "v1",
		superseded: time.Hour,
	},
	{
		name: "retire a live build keeps when it was superseded",
		setup: func(s *History, t0 time.Time) {
			s.Activate("v1", Summary{}, t0)
			s.Activate("v2", Summary{}, t0.Add(time.Minute))
		},
		retire:     "v1",
		current:    "v2",
		superseded: time.Minute,
	},
	{
		name:       "retire a build never seen records it",
		setup:      func(s *History, t0 time.Time) { s.Activate("v1", Summary{}, t0) },
		retire:     "v0",
		current:    "v1",
		superseded: time.Hour,
	},
}

func TestRetire(t *testing.T) {
	t0 := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	for _, tt := range retireTests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHistory()
			tt.setup(s, t0)
			s.Retire(tt.retire, t0.Add(time.Hour))
			if s.Current != tt.current {
				t.Errorf("Current = %q, want %q", s.Current, tt.current)
			}
			r := s.Builds[tt.retire]
			if s.StateOf(tt.retire) != Retired || !r.Retired.Equal(t0.Add(time.Hour)) {
				t.Errorf("%s: state %v, retired %v", tt.retire, s.StateOf(tt.retire), r.Retired)
			}
			if !r.Superseded.Equal(t0.Add(tt.superseded)) {
				t.Errorf("superseded %v, want %v", r.Superseded, t0.Add(tt.superseded))
			}
			if _, err := decodeHistory(mustJSON(t, s)); err != nil {
				t.Errorf("the history no longer decodes: %v", err)
			}
		})
	}
}

func TestMarkInvalidAndForget(t *testing.T) {
	t0 := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	s := newHistory()
	s.Activate("v1", Summary{}, t0)
	s.MarkInvalid("v1", []string{"index.html is missing"})
	s.MarkInvalid("v2", []string{"index.html is missing"})
	if s.StateOf("v1") != Current || len(s.Builds["v1"].Problems) != 0 {
		t.Errorf("the current build took problems: %v", s.Builds["v1"])
	}
	if s.StateOf("v2") != Invalid {
		t.Errorf("v2 is %v, want invalid", s.StateOf("v2"))
	}
	s.Forget("v2")
	s.Forget("v1")
	if s.StateOf("v2") != Unknown || s.StateOf("v1") != Current {
		t.Errorf("after Forget: v1 %v, v2 %v", s.StateOf("v1"), s.StateOf("v2"))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadHistoryMissing(t *testing.T) {
	s, err := ReadHistory(t.TempDir())
	if err != nil || s == nil || s.Current != "" || len(s.Builds) != 0 || s.Builds == nil {
		t.Fatalf("ReadHistory of a fresh folder = %+v, %v; want an empty state", s, err)
	}
}
