package manifest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"time"
)

// Cluster mode: several instances, each serving its own builds folder,
// share one History in a ClusterStore (Redis). A build becomes the
// cluster's current only once every live instance has loaded it (the
// barrier, barrier.go); until then it is the History's Proposed build.
// Facts about one instance's folder (a build invalid there, a folder gone
// there) stay out of the shared History: each instance reports them, with
// what it has loaded, in its InstanceReport.

// Proposal is a build waiting for the cluster's barrier.
type Proposal struct {
	Version string `json:"version"`
	// Digest names the content proposed (BuildDigest); empty when the
	// proposer did not load it (`skewless activate`): the content most
	// instances loaded is then the one activated.
	Digest string `json:"digest,omitempty"`
	Files  int    `json:"files,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	Paths  string `json:"paths,omitempty"`
	// Since is when it was proposed; past Deadline it activates without
	// the instances that still lack it, when at least half of the live
	// instances have it (barrierVerdict).
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	// By is who proposed it: an instance id, or "activate@HOST".
	By string `json:"by"`
	// Decision is History.Decisions when it was made.
	Decision uint64 `json:"decision"`
	// Explicit: an operator's `skewless activate`, not a drop.
	Explicit bool `json:"explicit,omitempty"`
}

// proposed reports whether v is the build waiting for the barrier.
func (s *History) proposed(v string) bool { return s.Proposed != nil && s.Proposed.Version == v }

// Propose makes v the build waiting for the barrier, as decision number
// Decisions+1; a build proposed before it and not served is passed over
// (ready). It returns the proposal.
func (s *History) Propose(p Proposal, now time.Time) *Proposal {
	if old := s.Proposed; old != nil && old.Version != p.Version {
		s.PassOver(old.Version, now)
	}
	s.Decisions++
	p.Decision, p.Since = s.Decisions, now
	s.Proposed = &p
	return s.Proposed
}

// Withdraw drops the proposal numbered decision, if it still waits.
func (s *History) Withdraw(decision uint64) bool {
	if s.Proposed == nil || s.Proposed.Decision != decision {
		return false
	}
	s.Proposed = nil
	return true
}

// InstanceInfo identifies a serving instance.
type InstanceInfo struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	Addr    string    `json:"addr"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// InstanceReport is what an instance tells the others, and `status`:
// what it has loaded and serves. The store refreshes it every heartbeat;
// an instance whose report expired has left the cluster.
type InstanceReport struct {
	InstanceInfo
	// Seen is the instance's clock at its last heartbeat.
	Seen time.Time `json:"seen"`
	// Serving is the build it serves as current ("": none), with its
	// activation sequence number.
	Serving string `json:"serving"`
	Seq     uint64 `json:"seq,omitempty"`
	// Ready: it serves the cluster's current build.
	Ready bool `json:"ready"`
	// Loaded maps each build it has in memory to its content digest.
	Loaded map[string]string `json:"loaded"`
	// Loading lists builds being loaded.
	Loading []string `json:"loading,omitempty"`
	// Problems says what is wrong with builds in its folder.
	Problems map[string][]string `json:"problems,omitempty"`
	// Folders lists the version folders in its builds folder.
	Folders []string `json:"folders"`
	// Missing lists builds the cluster serves (current, proposed) whose
	// folder it does not have.
	Missing []string `json:"missing,omitempty"`
	// StateProblem says what it finds wrong with the shared state (data
	// it cannot use under the cluster's keys).
	StateProblem string `json:"state_problem,omitempty"`
	// OpenTabs counts the tabs with an event stream open on it, by the
	// build they run, at its last heartbeat.
	OpenTabs map[string]int `json:"open_tabs,omitempty"`
}

// sameAs reports whether two reports say the same, heartbeat aside.
func (r InstanceReport) sameAs(o InstanceReport) bool {
	r.Seen, o.Seen = time.Time{}, time.Time{}
	r.OpenTabs, o.OpenTabs = nil, nil // refreshed by every heartbeat: not news for the barrier
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// ClusterStore is a StateStore that several serving instances share
// (RedisStore). Besides the History it carries each instance's report,
// kept alive by a heartbeat, so that every instance can tell when all the
// live ones have a build loaded.
type ClusterStore interface {
	StateStore
	// Self is this instance's id.
	Self() string
	// Report replaces what this instance tells the others. It never
	// blocks: the store writes it on its own goroutine, at once when it
	// changed, then every heartbeat.
	Report(r InstanceReport)
	// Peers returns the last reports of the live instances, this one
	// included as the store last wrote it. complete is false while the
	// list may lack live instances (just connected, or reconnected after
	// an outage that may have lost their reports): no barrier passes then.
	Peers() (peers []InstanceReport, complete bool)
	// Problem says what the store finds wrong with the shared state ("":
	// nothing), for status and health.
	Problem() string
}

// ErrStoreUnavailable is returned by a store that cannot be reached: the
// server keeps serving its last state, and decisions wait for the store.
var ErrStoreUnavailable = errors.New("state store unreachable")

// ErrForeignState marks a shared state the server cannot use (not its
// JSON, another format, a version that is not a version). It is reported
// and never overwritten: an operator decides what to do with it.
var ErrForeignState = errors.New("shared state holds data skewless cannot use")

// ClusterStatus is the cluster as one instance sees it, published with
// each Snapshot for health and metrics.
type ClusterStatus struct {
	// Current is the cluster's current build, Seq its sequence number.
	Current string
	Seq     uint64
	// Ready: this instance serves Current.
	Ready bool
	// Proposed is the build waiting for the barrier (""), since when, and
	// the live instances that lack it.
	Proposed      string
	ProposedSince time.Time
	Lacking       []string
	// Instances counts the live instances, this one included.
	Instances int
	// Problem is what is wrong with the shared state ("": nothing).
	Problem string
}

// BuildDigest names a build's content: every served path with the
// SHA-256 of its bytes (HTML as served, with the helper injected). Two
// instances serve the same build when their digests are equal.
func BuildDigest(b *Build) string {
	paths := make([]string, 0, len(b.Files))
	for p := range b.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		h.Write([]byte(p))
		h.Write([]byte{0})
		h.Write(b.Files[p].sum[:])
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}
