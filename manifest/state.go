package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// StateDir is the server's own folder inside the builds dir.
const StateDir = ".skewless"

const stateFormat = 1

// History is what survives a restart, persisted in <builds>/.skewless/state.json:
// the current build, each build's history, and the hashed paths of builds
// so retired paths keep their marker after their folder is deleted.
type History struct {
	Format int `json:"format"`
	// Rev is bumped on every write; a reader tells a change by it.
	Rev uint64 `json:"rev"`
	// Seq is the last activation sequence number handed out.
	Seq     uint64             `json:"seq"`
	Current string             `json:"current"`
	Builds  map[string]*Record `json:"builds"`
}

// Record is one build's history.
type Record struct {
	Seq        uint64    `json:"seq,omitempty"`
	Activated  time.Time `json:"activated,omitzero"`
	Superseded time.Time `json:"superseded,omitzero"`
	Retired    time.Time `json:"retired,omitzero"`
	Files      int       `json:"files,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	Problems   []string  `json:"problems,omitempty"`
	Hashed     []string  `json:"hashed,omitempty"`
}

// Summary is what a state record keeps of a build's content.
type Summary struct {
	Files  int
	Bytes  int64
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
	r := s.Builds[v]
	switch {
	case r == nil:
		return Unknown
	case v == s.Current:
		return Current
	case !r.Retired.IsZero():
		return Retired
	case !r.Superseded.IsZero():
		return Live
	case len(r.Problems) > 0:
		return Invalid
	}
	return Pending
}

// served reports whether v was ever current or live; a nil-safe record
// lookup for builds that never were.
func (s *History) served(v string) bool {
	r := s.Builds[v]
	return r != nil && (v == s.Current || !r.Activated.IsZero() || !r.Superseded.IsZero())
}

// Activate makes v current at now with the next sequence number; the
// previous current build becomes live (superseded at now). A retired v
// becomes live again first, so its paths leave the retired index.
func (s *History) Activate(v string, sum Summary, now time.Time) uint64 {
	if prev := s.Builds[s.Current]; prev != nil && s.Current != v {
		prev.Superseded = now
	}
	r := s.record(v)
	s.Seq++
	*r = Record{Seq: s.Seq, Activated: now, Files: sum.Files, Bytes: sum.Bytes, Hashed: sum.Hashed}
	s.Current = v
	return s.Seq
}

// Supersede records v as a build that was live as of now without being
// activated (found beside the chosen current on a first start).
func (s *History) Supersede(v string, sum Summary, now time.Time) {
	r := s.record(v)
	*r = Record{Superseded: now, Files: sum.Files, Bytes: sum.Bytes, Hashed: sum.Hashed}
}

// Retire marks v retired at now. Retiring the current build leaves none.
func (s *History) Retire(v string, now time.Time) {
	r := s.record(v)
	if v == s.Current {
		s.Current = ""
		r.Superseded = now
	}
	if r.Superseded.IsZero() {
		r.Superseded = now
	}
	r.Retired = now
}

// MarkInvalid records why v cannot be served.
func (s *History) MarkInvalid(v string, problems []string) {
	r := s.record(v)
	if v == s.Current || !r.Superseded.IsZero() {
		return // a build that served keeps its history
	}
	r.Problems = problems
}

// Forget drops the record of a build that never served.
func (s *History) Forget(v string) {
	if r := s.Builds[v]; r != nil && r.Activated.IsZero() && r.Superseded.IsZero() {
		delete(s.Builds, v)
	}
}

func statePath(buildsDir string) string { return filepath.Join(buildsDir, StateDir, "state.json") }

// ReadHistory reads the persisted state. A missing file is an empty state; a
// corrupt one returns an error wrapping ErrCorruptState with an empty state
// so the caller can report it and rebuild from the folders.
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
	return s, nil
}

// UpdateHistory applies fn to the freshest state under an exclusive lock and
// writes the result atomically (temp file, fsync, rename, fsync folder), so
// the server and the sub-commands never lose each other's changes. A corrupt
// state file is replaced: fn then starts from a copy of known (the caller's
// last good state; nil: an empty one), and the error is reported through
// corrupt.
func UpdateHistory(buildsDir string, known *History, fn func(*History) error) (s *History, corrupt error, err error) {
	dir := filepath.Join(buildsDir, StateDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create state folder: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	s, rerr := ReadHistory(buildsDir)
	if errors.Is(rerr, ErrCorruptState) {
		corrupt = rerr
		if known != nil {
			s = known.clone()
		}
	} else if rerr != nil {
		return nil, nil, rerr
	}
	if err := fn(s); err != nil {
		return nil, corrupt, err
	}
	s.Rev++
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, corrupt, fmt.Errorf("encode state: %w", err)
	}
	if err := writeFileAtomic(statePath(buildsDir), append(b, '\n')); err != nil {
		return nil, corrupt, err
	}
	return s, corrupt, nil
}

// clone returns a deep copy: a published history is never mutated.
func (s *History) clone() *History {
	c := *s
	c.Builds = make(map[string]*Record, len(s.Builds))
	for v, r := range s.Builds {
		rc := *r
		c.Builds[v] = &rc
	}
	return &c
}

func lockFile(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// writeFileAtomic writes p through a temp file in the same folder: readers
// see the old file or the new one, never a part.
func writeFileAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("rename %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
