package manifest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var policyNow = time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)

// ago is a build superseded d before policyNow.
func ago(v string, d time.Duration) Superseded { return Superseded{Version: v, At: policyNow.Add(-d)} }

// retirementTests: the live list (in any order), grace and keep, and which
// versions retire now (newest superseded first) and when the next is due.
var retirementTests = []struct {
	name   string
	live   []Superseded
	grace  time.Duration
	keep   int
	retire []string
	next   time.Time // zero: nothing left to retire later
}{
	{
		name:  "nothing live",
		grace: 24 * time.Hour, keep: 10,
	},
	{
		name:  "one inside grace",
		live:  []Superseded{ago("v1", time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		next: policyNow.Add(23 * time.Hour),
	},
	{
		name:  "grace expired",
		live:  []Superseded{ago("v1", 25*time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		retire: []string{"v1"},
	},
	{
		name:  "grace expires exactly now",
		live:  []Superseded{ago("v1", 24*time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		retire: []string{"v1"},
	},
	{
		name:  "one nanosecond before expiry",
		live:  []Superseded{ago("v1", 24*time.Hour-1)},
		grace: 24 * time.Hour, keep: 10,
		next: policyNow.Add(1),
	},
	{
		name:  "some expired, next is the oldest of the rest",
		live:  []Superseded{ago("v4", time.Hour), ago("v1", 30*time.Hour), ago("v3", 5*time.Hour), ago("v2", 26*time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		retire: []string{"v2", "v1"},
		next:   policyNow.Add(19 * time.Hour),
	},
	{
		name:  "keep limit retires the oldest beyond it",
		live:  []Superseded{ago("v1", 4*time.Hour), ago("v2", 3*time.Hour), ago("v3", 2*time.Hour), ago("v4", time.Hour)},
		grace: 24 * time.Hour, keep: 2,
		retire: []string{"v2", "v1"},
		next:   policyNow.Add(22 * time.Hour), // v3's grace
	},
	{
		name:  "keep limit exactly met",
		live:  []Superseded{ago("v1", 2*time.Hour), ago("v2", time.Hour)},
		grace: 24 * time.Hour, keep: 2,
		next: policyNow.Add(22 * time.Hour),
	},
	{
		name:  "keep and grace both retire",
		live:  []Superseded{ago("v1", 48*time.Hour), ago("v2", 30*time.Hour), ago("v3", 3*time.Hour), ago("v4", 2*time.Hour), ago("v5", time.Hour)},
		grace: 24 * time.Hour, keep: 2,
		retire: []string{"v3", "v2", "v1"},
		next:   policyNow.Add(22 * time.Hour),
	},
	{
		name:  "grace expired inside the keep limit",
		live:  []Superseded{ago("v1", 30*time.Hour), ago("v2", time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		retire: []string{"v1"},
		next:   policyNow.Add(23 * time.Hour),
	},
	{
		name:  "grace 0 retires at once",
		live:  []Superseded{ago("v1", 0), ago("v2", time.Hour)},
		grace: 0, keep: 10,
		retire: []string{"v1", "v2"},
	},
	{
		name:  "keep 0 retires every one",
		live:  []Superseded{ago("v1", time.Hour), ago("v2", time.Minute)},
		grace: 24 * time.Hour, keep: 0,
		retire: []string{"v2", "v1"},
	},
	{
		name:  "superseded in the future (clock step) is kept",
		live:  []Superseded{ago("v1", -time.Hour)},
		grace: 24 * time.Hour, keep: 10,
		next: policyNow.Add(25 * time.Hour),
	},
	{
		name:  "ties: same time, the greater version is the newer",
		live:  []Superseded{ago("a", time.Hour), ago("c", time.Hour), ago("b", time.Hour)},
		grace: 24 * time.Hour, keep: 1,
		retire: []string{"b", "a"},
		next:   policyNow.Add(23 * time.Hour),
	},
	{
		name:  "ties compare versions as strings",
		live:  []Superseded{ago("v10", time.Hour), ago("v9", time.Hour)},
		grace: 24 * time.Hour, keep: 1,
		retire: []string{"v10"},
		next:   policyNow.Add(23 * time.Hour),
	},
	{
		name:  "ties with the same time in another zone",
		live:  []Superseded{{"a", policyNow.Add(-time.Hour)}, {"b", policyNow.Add(-time.Hour).In(time.FixedZone("X", 3600))}},
		grace: 24 * time.Hour, keep: 1,
		retire: []string{"a"},
		next:   policyNow.Add(23 * time.Hour),
	},
}

func TestRetirementPlan(t *testing.T) {
	for _, tt := range retirementTests {
		t.Run(tt.name, func(t *testing.T) {
			// Every rotation of the input gives the same plan, and the
			// input is left alone.
			for r := range max(len(tt.live), 1) {
				live := append(slices.Clone(tt.live[r:]), tt.live[:r]...)
				before := slices.Clone(live)
				retire, next := RetirementPlan(live, policyNow, tt.grace, tt.keep)
				if !slices.Equal(retire, tt.retire) {
					t.Errorf("rotation %d: retire = %q, want %q", r, retire, tt.retire)
				}
				if !next.Equal(tt.next) {
					t.Errorf("rotation %d: next = %v, want %v", r, next, tt.next)
				}
				if !slices.Equal(live, before) {
					t.Errorf("rotation %d: the input was reordered: %v", r, live)
				}
			}
		})
	}
}

// TestRetireTimes: a live build retires grace after it was superseded,
// or at once when it is beyond the keep most recently superseded ones.
func TestRetireTimes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		live  []Superseded
		grace time.Duration
		keep  int
		want  map[string]time.Time
	}{
		{name: "nothing live", grace: time.Hour, keep: 2, want: map[string]time.Time{}},
		{
			name: "inside grace: superseded plus grace",
			live: []Superseded{ago("v1", 2*time.Hour), ago("v2", time.Hour)}, grace: 24 * time.Hour, keep: 10,
			want: map[string]time.Time{"v1": policyNow.Add(22 * time.Hour), "v2": policyNow.Add(23 * time.Hour)},
		},
		{
			name: "beyond keep: now",
			live: []Superseded{ago("v1", 2*time.Hour), ago("v2", time.Hour)}, grace: 24 * time.Hour, keep: 1,
			want: map[string]time.Time{"v1": policyNow, "v2": policyNow.Add(23 * time.Hour)},
		},
		{
			name: "grace over (not retired yet): the time it was due",
			live: []Superseded{ago("v1", 30*time.Hour)}, grace: 24 * time.Hour, keep: 10,
			want: map[string]time.Time{"v1": policyNow.Add(-6 * time.Hour)},
		},
		{
			name: "no grace",
			live: []Superseded{ago("v1", time.Minute)}, grace: 0, keep: 10,
			want: map[string]time.Time{"v1": policyNow.Add(-time.Minute)},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RetireTimes(tt.live, policyNow, tt.grace, tt.keep)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for v, at := range tt.want {
				if !got[v].Equal(at) {
					t.Errorf("%s retires %v, want %v", v, got[v], at)
				}
			}
		})
	}
}

// TestPolicyInState: the policy a server records survives a round trip
// through the state file, and status lists live builds' retire times by
// it (none recorded: none said).
func TestPolicyInState(t *testing.T) {
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	h := newHistory()
	h.Activate("v1", Summary{}, at)
	h.Activate("v2", Summary{}, at.Add(time.Minute))
	if got := ListStatuses(h, nil); !got[1].Retires.IsZero() {
		t.Fatalf("no policy recorded, yet v1 retires %v", got[1].Retires)
	}
	h.Policy = &Policy{Grace: Duration(24 * time.Hour), Keep: 10, Base: "/app/"}
	b, err := jsonIndent(h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"grace": "24h0m0s"`) {
		t.Errorf("the grace reads %s in the state file", b)
	}
	got, err := decodeHistory(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Policy != *h.Policy {
		t.Fatalf("policy %+v after a round trip, was %+v", got.Policy, h.Policy)
	}
	list := ListStatuses(got, nil)
	if list[1].Version != "v1" || !list[1].Retires.Equal(at.Add(time.Minute+24*time.Hour)) {
		t.Errorf("v1 (live) retires %v, want 24h after it was superseded", list[1].Retires)
	}
	if !list[0].Retires.IsZero() {
		t.Errorf("the current build retires %v", list[0].Retires)
	}
}
