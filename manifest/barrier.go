package manifest

import (
	"sort"
	"time"
)

// The barrier: a proposed build becomes the cluster's current once every
// live instance has loaded it, so that no instance serves an index.html
// whose chunks another instance lacks. Any instance may find the barrier
// passed and activate the build; the activation is one atomic update of
// the shared state that re-checks the proposal (opBarrier), so the first
// wins and the others change nothing.
//
// The timeout rule: an instance that never gets the build (a copy that
// failed, a disk that filled) must not hold the cluster back forever, nor
// may a build that most instances lack become current. Past the
// proposal's deadline (its --barrier-timeout after it was proposed), the
// build activates when at least half of the live instances have it; the
// others stay unready (health 503) until they load it. With fewer, it
// keeps waiting (`skewless activate` gives up and withdraws its own).

// barrierVerdict is the barrier's answer for a proposal.
type barrierVerdict struct {
	Activate bool
	// Digest is the content that activates (BuildDigest).
	Digest string
	// Have and Lacking are the live instances that have that content
	// loaded, and those that do not, by id.
	Have, Lacking []string
	// TimedOut: it activates past its deadline, without Lacking.
	TimedOut bool
	// Wake is when to decide again if nothing else happens (zero: on news
	// only).
	Wake time.Time
}

// barrier decides whether proposal p activates, given the reports of the
// live instances (this one included) at now. complete is false while the
// list of instances may be short of some (after a reconnection): nothing
// activates then. A pure function: the table tests in barrier_test.go.
func barrier(p *Proposal, instances []InstanceReport, complete bool, now time.Time) barrierVerdict {
	var v barrierVerdict
	if p == nil {
		return v
	}
	v.Digest = p.Digest
	if v.Digest == "" {
		v.Digest = commonDigest(p.Version, instances)
	}
	for _, in := range instances {
		if d, ok := in.Loaded[p.Version]; ok && d == v.Digest && d != "" {
			v.Have = append(v.Have, in.ID)
		} else {
			v.Lacking = append(v.Lacking, in.ID)
		}
	}
	sort.Strings(v.Have)
	sort.Strings(v.Lacking)
	switch {
	case !complete || len(v.Have) == 0:
	case len(v.Lacking) == 0:
		v.Activate = true
	case !now.Before(p.Deadline) && 2*len(v.Have) >= len(instances):
		v.Activate, v.TimedOut = true, true
	case now.Before(p.Deadline):
		v.Wake = p.Deadline
	}
	return v
}

// commonDigest is the content of version v that the most instances have
// loaded (ties: the smallest digest), for a proposal that names none.
func commonDigest(v string, instances []InstanceReport) string {
	count := map[string]int{}
	for _, in := range instances {
		if d, ok := in.Loaded[v]; ok && d != "" {
			count[d]++
		}
	}
	best := ""
	for d, n := range count {
		if best == "" || n > count[best] || (n == count[best] && d < best) {
			best = d
		}
	}
	return best
}
