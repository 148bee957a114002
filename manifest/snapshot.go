package manifest

import "time"

// State is where a build stands in the registry.
type State int

// Build states, as `status` and /_skewless/version name them.
const (
	Unknown State = iota
	Pending
	Invalid
	Current
	Live
	Retired
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Invalid:
		return "invalid"
	case Current:
		return "current"
	case Live:
		return "live"
	case Retired:
		return "retired"
	}
	return "unknown"
}

// BuildStatus describes one build for status listings.
type BuildStatus struct {
	Version    string    `json:"version"`
	State      State     `json:"-"`
	StateName  string    `json:"state"`
	Seq        uint64    `json:"seq,omitempty"`
	Activated  time.Time `json:"activated,omitzero"`
	Superseded time.Time `json:"superseded,omitzero"`
	RetiredAt  time.Time `json:"retired,omitzero"`
	Files      int       `json:"files"`
	Bytes      int64     `json:"bytes"`
	Problems   []string  `json:"problems,omitempty"`
	// Present is false for a build whose folder was deleted.
	Present bool `json:"present"`
}

// Snapshot is the registry's published view of the builds. It is never
// mutated once published: request handlers read it without locks.
type Snapshot struct {
	// Seq is the activation sequence number of Current (0: none yet).
	Seq     uint64
	Current *Build
	// Live are superseded builds in their grace window, newest first.
	Live []*Build
	// Builds lists every known build, newest activation first.
	Builds []BuildStatus
	// retired maps the hashed paths only retired builds had to the
	// newest of those builds' versions.
	retired map[string]string
}

// Version is the current build's version, or "" when there is none.
func (s *Snapshot) Version() string {
	if s == nil || s.Current == nil {
		return ""
	}
	return s.Current.Version
}

// File returns the current build's file at URL path p.
func (s *Snapshot) File(p string) *File {
	if s.Current == nil {
		return nil
	}
	return s.Current.Files[p]
}

// LiveHashed returns the hashed file at p from the newest live build that
// has it, so tabs that loaded a superseded build keep their lazy chunks.
func (s *Snapshot) LiveHashed(p string) *File {
	for _, b := range s.Live {
		if f := b.Files[p]; f != nil && f.Hashed {
			return f
		}
	}
	return nil
}

// RetiredBy returns the version of the retired build that had hashed path
// p, or "" when no retired build had it.
func (s *Snapshot) RetiredBy(p string) string {
	return s.retired[p]
}

// Activated returns when build v last became current (for a build adopted
// as live without ever being current: when it became live), or zero when
// the snapshot does not list v. Last-Modified of HTML and unhashed files
// is never earlier than this.
func (s *Snapshot) Activated(v string) time.Time {
	for _, b := range s.Builds {
		if b.Version == v {
			if b.Activated.IsZero() {
				return b.Superseded
			}
			return b.Activated
		}
	}
	return time.Time{}
}
