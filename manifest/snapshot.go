package manifest

import (
	"slices"
	"time"
)

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
	// Cluster is the cluster as this instance sees it (nil: not in a
	// cluster).
	Cluster *ClusterStatus
	// retired are the non-HTML paths of retired builds, the most recently
	// retired first; blocked likewise for blocked builds.
	retired, blocked []retiredPaths
}

// retiredPaths is the set of non-HTML paths one retired build had. Sets are
// shared between snapshots: a retirement adds one, it never rebuilds them.
type retiredPaths struct {
	version string
	digest  string // Record.Paths it was made for
	paths   map[string]struct{}
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

// LiveFile returns the file at p from the newest live build that has it,
// whatever its name, so tabs that loaded a superseded build keep loading
// their chunks (retention by path). HTML is never a live build's: a page
// is always the current build's.
func (s *Snapshot) LiveFile(p string) *File {
	if len(s.Live) == 0 || IsHTML(p) {
		return nil
	}
	for _, b := range s.Live {
		if f := b.Files[p]; f != nil {
			return f
		}
	}
	return nil
}

// RetiredBy returns the version of the most recently retired build that had
// the non-HTML path p, or "" when no retired build had it. Callers ask the
// current and live builds first.
func (s *Snapshot) RetiredBy(p string) string { return hadPath(s.retired, p) }

// BlockedBy returns the version of the most recently blocked build that
// had the non-HTML path p, or "" when no blocked build had it. Callers ask
// the current and live builds, then the retired ones, first.
func (s *Snapshot) BlockedBy(p string) string { return hadPath(s.blocked, p) }

// BlockedVersions lists the blocked builds, by name.
func (s *Snapshot) BlockedVersions() []string {
	var vs []string
	for _, b := range s.Builds {
		if b.State == Blocked {
			vs = append(vs, b.Version)
		}
	}
	slices.Sort(vs)
	return vs
}

func hadPath(sets []retiredPaths, p string) string {
	for _, r := range sets {
		if _, ok := r.paths[p]; ok {
			return r.version
		}
	}
	return ""
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
