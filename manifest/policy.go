package manifest

import (
	"sort"
	"time"
)

// Superseded is a live build as the retirement policy sees it.
type Superseded struct {
	Version string
	At      time.Time
}

// RetirementPlan decides which superseded builds retire at now: every one
// beyond the keep most recently superseded, and every one superseded at
// least grace ago. next is when the next of the others is due (zero when
// none is). A pure function of its inputs, so the registry runs it on a
// timer and tests run it on tables.
func RetirementPlan(live []Superseded, now time.Time, grace time.Duration, keep int) (retire []string, next time.Time) {
	sorted := append([]Superseded(nil), live...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].At.Equal(sorted[j].At) {
			return sorted[i].At.After(sorted[j].At)
		}
		return sorted[i].Version > sorted[j].Version
	})
	for i, b := range sorted {
		due := b.At.Add(grace)
		if i >= keep || !now.Before(due) {
			retire = append(retire, b.Version)
			continue
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return retire, next
}

// RetireTimes says when each live build retires by the policy if no other
// build is activated meanwhile: grace after it was superseded, or at once
// for those beyond the keep most recently superseded (the server retires
// them at its next look). A pure function of its inputs, as
// RetirementPlan, whose order it follows.
func RetireTimes(live []Superseded, now time.Time, grace time.Duration, keep int) map[string]time.Time {
	retire, _ := RetirementPlan(live, now, grace, keep)
	out := make(map[string]time.Time, len(live))
	for _, b := range live {
		out[b.Version] = b.At.Add(grace)
	}
	for _, v := range retire {
		if at := out[v]; at.After(now) {
			out[v] = now
		}
	}
	return out
}
