package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateDir is the server's own folder inside the builds dir.
const StateDir = ".skewless"

const stateFormat = 1

// History is what survives a restart: the current build, the activation
// sequence and each build's record. The file store keeps it in
// <builds>/.skewless/state.json; each build's path list (for the retired
// marker) is kept beside it, one file per build, so a state write stays
// small whatever the size of the builds.
type History struct {
	Format int `json:"format"`
	// Rev is bumped on every write; a reader tells a change by it.
	Rev uint64 `json:"rev"`
	// Seq is the last activation sequence number handed out.
	Seq     uint64             `json:"seq"`
	Current string             `json:"current"`
	Builds  map[string]*Record `json:"builds"`
	// Policy is how the server that last started on the builds folder
	// retires builds, so `status` can say when a live build retires.
	Policy *Policy `json:"policy,omitempty"`
	// Proposed is the build waiting for the cluster's barrier (cluster
	// mode only): current once every live instance has loaded it.
	Proposed *Proposal `json:"proposed,omitempty"`
	// Decisions counts the cluster's proposals: the last one wins.
	Decisions uint64 `json:"decisions,omitempty"`
}

// Policy is a server's retirement policy (--grace, --keep) and base, as
// it recorded them when it started.
type Policy struct {
	Grace Duration `json:"grace"`
	Keep  int      `json:"keep"`
	Base  string   `json:"base,omitempty"`
}

// Duration is a time.Duration that reads and writes as "24h0m0s".
type Duration time.Duration

// MarshalText writes d as time.Duration prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Record is one build's history. Which of its times are set decides the
// build's state (stateOf).
type Record struct {
	Seq        uint64    `json:"seq,omitempty"`
	Activated  time.Time `json:"activated,omitzero"`
	Superseded time.Time `json:"superseded,omitzero"`
	Retired    time.Time `json:"retired,omitzero"`
	// PassedOver is when a later decision chose another build while this
	// one, never served, was loading: it is ready, not current.
	PassedOver time.Time `json:"passed_over,omitzero"`
	Files      int       `json:"files,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	Problems   []string  `json:"problems,omitempty"`
	// Blocked is when an operator blocked the build (skewless block), and
	// BlockReason what they said why. A blocked build is never served: its
	// paths answer 404 blocked, tabs running it leave it.
	Blocked     time.Time `json:"blocked,omitzero"`
	BlockReason string    `json:"block_reason,omitempty"`
	// Paths is the digest of the build's non-HTML path list, which the
	// store keeps apart (StateStore.SavePaths).
	Paths string `json:"paths,omitempty"`
	// Digest names the content the cluster activated under this version
	// (cluster mode only): an instance whose folder holds other content
	// does not serve it as current.
	Digest string `json:"digest,omitempty"`
	// Hashed is the hashed paths a state written before path lists kept
	// inline; read for the retired marker, never written for a build
	// whose path list is stored.
	Hashed []string `json:"hashed,omitempty"`
}

// Summary is what a state record keeps of a build's content.
type Summary struct {
	Files int
	Bytes int64
	// Paths is the digest of the stored path list ("": none stored).
	Paths string
	// Hashed lists hashed paths (Loader.Inspect); not kept in the state.
	Hashed []string
}

// SummaryOf summarises a loaded build.
func SummaryOf(b *Build) Summary {
	return Summary{Files: len(b.Files), Bytes: b.Bytes, Hashed: b.Hashed}
}

func newHistory() *History {
	return &History{Format: stateFormat, Builds: map[string]*Record{}}
}

func (s *History) record(v string) *Record {
	r := s.Builds[v]
	if r == nil {
		r = &Record{}
		s.Builds[v] = r
	}
	return r
}

// StateOf returns the state of version v by its record alone (a folder's
// presence and validity are the registry's to add).
func (s *History) StateOf(v string) State {
	return stateOf(s, v, FolderStatus{}, s.Builds[v] != nil)
}

// served reports whether v was ever current or live; a nil-safe record
// lookup for builds that never were.
func (s *History) served(v string) bool {
	r := s.Builds[v]
	return r != nil && (v == s.Current || !r.Activated.IsZero() || !r.Superseded.IsZero())
}

// decided reports whether a decision placed v (served, or passed over):
// a folder of such a build is no new deploy.
func (s *History) decided(v string) bool {
	return s.served(v) || (s.Builds[v] != nil && !s.Builds[v].PassedOver.IsZero())
}

// Activate makes v current at now with the next sequence number; the
// previous current build becomes live (superseded at now). A retired or
// ready v leaves that state.
func (s *History) Activate(v string, sum Summary, now time.Time) uint64 {
	if prev := s.Builds[s.Current]; prev != nil && s.Current != v {
		prev.Superseded = now
	}
	r := s.record(v)
	old := *r
	s.Seq++
	*r = Record{Seq: s.Seq, Activated: now, Files: sum.Files, Bytes: sum.Bytes, Paths: old.Paths, Hashed: old.Hashed}
	r.setPaths(sum.Paths)
	s.Current = v
	return s.Seq
}

// setPaths records the digest of a stored path list. An empty one (an
// activation by `skewless activate`, which does not load the build) keeps
// what the record had.
func (r *Record) setPaths(digest string) {
	if digest != "" {
		r.Paths, r.Hashed = digest, nil
	}
}

// Supersede records v as a build that was live as of at without being
// activated (found beside the chosen current on a first start).
func (s *History) Supersede(v string, sum Summary, at time.Time) {
	r := s.record(v)
	*r = Record{Superseded: at, Files: sum.Files, Bytes: sum.Bytes, Paths: sum.Paths}
}

// Retire marks v retired at now. Retiring the current build leaves none.
func (s *History) Retire(v string, now time.Time) {
	r := s.record(v)
	if v == s.Current {
		s.Current = ""
	}
	if r.Superseded.IsZero() {
		r.Superseded = now
	}
	r.Retired = now
}

// PassOver records that a later decision chose another build than v while
// v, never served, was on its way: v is ready (or invalid), not current.
func (s *History) PassOver(v string, now time.Time) {
	if s.served(v) {
		return
	}
	if r := s.record(v); r.PassedOver.IsZero() {
		r.PassedOver = now
	}
}

// MarkInvalid records why v, never served, cannot be served.
func (s *History) MarkInvalid(v string, problems []string) {
	if s.served(v) {
		return // a build that served keeps its history
	}
	s.record(v).Problems = problems
}

// SetProblems records what is wrong with the folder of a build that keeps
// serving its last good load (nil: nothing).
func (s *History) SetProblems(v string, problems []string) {
	if r := s.Builds[v]; r != nil {
		r.Problems = problems
	}
}

// SetContent records what a new load of v found: its size and path list,
// and that nothing is wrong with it.
func (s *History) SetContent(v string, sum Summary) {
	r := s.Builds[v]
	if r == nil {
		return
	}
	r.Files, r.Bytes, r.Problems = sum.Files, sum.Bytes, nil
	r.setPaths(sum.Paths)
}

// ErrBlockCurrent refuses to block the build being served.
var ErrBlockCurrent = errors.New("the current build cannot be blocked")

// Block records that an operator blocked v at now, saying why. The current
// build cannot be: another must be activated first.
func (s *History) Block(v, reason string, now time.Time) error {
	if v == s.Current {
		return ErrBlockCurrent
	}
	r := s.record(v)
	r.Blocked, r.BlockReason = now, reason
	if s.proposed(v) { // a blocked build never passes the cluster's barrier
		s.Proposed = nil
	}
	return nil
}

// Unblock lifts v's block and reports whether it had one. The build is
// again what its times say: live within its grace, else retired (a build
// never served: ready, or deployed if its folder is new).
func (s *History) Unblock(v string) bool {
	r := s.Builds[v]
	if r == nil || r.Blocked.IsZero() {
		return false
	}
	r.Blocked, r.BlockReason = time.Time{}, ""
	return true
}

// Forget drops the record of a build that never served (a block stays).
func (s *History) Forget(v string) {
	if r := s.Builds[v]; r != nil && r.Activated.IsZero() && r.Superseded.IsZero() && v != s.Current && r.Blocked.IsZero() {
		delete(s.Builds, v)
	}
}

func statePath(buildsDir string) string { return filepath.Join(buildsDir, StateDir, "state.json") }

// ReadHistory reads the state file of a builds folder as it is. A missing
// file is an empty state; a corrupt one returns an error wrapping
// ErrCorruptState with an empty state. (A FileStore also rebuilds what it
// can of a lost state; this is the plain read `status` and `deploy` use.)
func ReadHistory(buildsDir string) (*History, error) {
	b, err := os.ReadFile(statePath(buildsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return newHistory(), nil
	}
	if err != nil {
		return newHistory(), fmt.Errorf("read state: %w", err)
	}
	return decodeHistory(b)
}

// ErrCorruptState marks a state file that cannot be used.
var ErrCorruptState = errors.New("state file is corrupt")

func decodeHistory(b []byte) (*History, error) {
	s := &History{}
	if err := json.Unmarshal(b, s); err != nil {
		return newHistory(), fmt.Errorf("%w: %v", ErrCorruptState, err)
	}
	if s.Format != stateFormat {
		return newHistory(), fmt.Errorf("%w: format %d, want %d", ErrCorruptState, s.Format, stateFormat)
	}
	if s.Builds == nil {
		s.Builds = map[string]*Record{}
	}
	for v, r := range s.Builds {
		if !ValidVersion(v) || r == nil {
			return newHistory(), fmt.Errorf("%w: bad build entry %q", ErrCorruptState, v)
		}
	}
	if s.Current != "" && s.Builds[s.Current] == nil {
		return newHistory(), fmt.Errorf("%w: current %q has no record", ErrCorruptState, s.Current)
	}
	if p := s.Proposed; p != nil && !ValidVersion(p.Version) {
		return newHistory(), fmt.Errorf("%w: proposed build %q is not a version", ErrCorruptState, p.Version)
	}
	return s, nil
}

// clone returns a deep copy: a published history is never mutated.
func (s *History) clone() *History {
	c := *s
	c.Builds = make(map[string]*Record, len(s.Builds))
	if s.Policy != nil {
		p := *s.Policy
		c.Policy = &p
	}
	for v, r := range s.Builds {
		rc := *r
		c.Builds[v] = &rc
	}
	if s.Proposed != nil {
		p := *s.Proposed
		c.Proposed = &p
	}
	return &c
}
