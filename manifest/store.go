package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// StateStore keeps the History where every process that serves or edits a
// builds folder finds it: a file beside the builds today (FileStore), Redis
// for a cluster. The registry reads it at start, writes every decision
// through Update, and follows changes other processes make.
type StateStore interface {
	// Read returns the freshest state. A state that is corrupt or was lost
	// comes back rebuilt as far as the store can (never reusing a sequence
	// number it handed out) with an error wrapping ErrCorruptState.
	Read(ctx context.Context) (*History, error)
	// Update runs fn on the freshest state, excluding every other writer
	// meanwhile, stores the result and returns it. When fn fails nothing is
	// stored. The result is never mutated afterwards, by anyone.
	Update(ctx context.Context, fn func(*History) error) (*History, error)
	// Changes is signalled (coalesced) when another process may have
	// changed the state: Read it. Nil when the store does not watch.
	Changes() <-chan struct{}
	// SavePaths stores the non-HTML path list of build v (the retired
	// marker's memory of it) and returns its digest, for Record.Paths.
	SavePaths(ctx context.Context, v string, paths []string) (string, error)
	// LoadPaths returns the path list stored for v.
	LoadPaths(ctx context.Context, v string) ([]string, error)
	// Close stops watching and waits for the store's goroutine.
	Close() error
}

// FileStoreConfig configures a FileStore.
type FileStoreConfig struct {
	// Poll, when set, watches the state file for changes other processes
	// make (fsnotify on the state folder, and a look every Poll where
	// events do not arrive). Optional. Default: 0 (not watched).
	Poll time.Duration
	// OnCorrupt is told when Update replaced a corrupt or lost state file.
	// Optional. Default: none.
	OnCorrupt func(error)
}

// FileStore keeps the state in <builds>/.skewless/: state.json (written
// atomically under a flock on "lock"), "seq" (a mark at or above every
// activation sequence number ever handed out, written before the state
// that uses a number beyond it) and paths/<version> (each build's path
// list, written once per content).
//
// A corrupt state.json, or a missing one where "seq" shows an earlier
// life, is rebuilt: its sequence starts at the mark, or at the Unix time
// in seconds when the mark is unreadable too (above any count of
// activations a tab can have seen); the path lists of builds whose folder
// is gone come back as retired builds, so their marker survives. With
// neither state.json nor the mark, it is a first start.
type FileStore struct {
	dir string // the builds folder
	cfg FileStoreConfig

	mu       sync.Mutex
	last     *History    // the last good state read or written
	lastStat os.FileInfo // state.json as last read or written here
	// statFailed: the last look could not stat state.json.
	statFailed bool

	changes chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

var _ StateStore = (*FileStore)(nil)

// OpenFileStore opens the state of the builds folder dir, creating its
// state folder.
func OpenFileStore(dir string, cfg FileStoreConfig) (*FileStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o755); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	if cfg.OnCorrupt == nil {
		cfg.OnCorrupt = func(error) {}
	}
	s := &FileStore{dir: dir, cfg: cfg}
	if cfg.Poll > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.changes, s.cancel, s.done = make(chan struct{}, 1), cancel, make(chan struct{})
		go s.watch(ctx)
	}
	return s, nil
}

func (s *FileStore) statePath() string { return statePath(s.dir) }
func (s *FileStore) path(name ...string) string {
	return filepath.Join(append([]string{s.dir, StateDir}, name...)...)
}

// Changes implements StateStore.
func (s *FileStore) Changes() <-chan struct{} { return s.changes }

// Close implements StateStore.
func (s *FileStore) Close() error {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return nil
}

// Read implements StateStore.
func (s *FileStore) Read(context.Context) (*History, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, info, err := s.read()
	if info != nil {
		s.lastStat = info
	}
	switch {
	case err == nil:
		s.last = h
		return h, nil
	case errors.Is(err, ErrCorruptState) && s.last != nil:
		return s.last, err
	}
	return h, err
}

// read reads state.json. A missing or corrupt one gives a rebuilt state,
// with an error wrapping ErrCorruptState unless it is a first start.
func (s *FileStore) read() (*History, os.FileInfo, error) {
	b, info, err := readWithInfo(s.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		if _, ok := s.highWater(); s.lastStat == nil && !ok {
			return newHistory(), nil, nil // a first start
		}
		return s.rebuilt(), nil, fmt.Errorf("%w: %s is missing", ErrCorruptState, s.statePath())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	h, err := decodeHistory(b)
	if err != nil {
		return s.rebuilt(), info, err
	}
	return h, info, nil
}

// Update implements StateStore.
func (s *FileStore) Update(_ context.Context, fn func(*History) error) (*History, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.path("lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	h, _, err := s.read()
	if errors.Is(err, ErrCorruptState) {
		if s.last != nil {
			h = s.last.clone() // what this process knew beats a rebuild
		}
		s.cfg.OnCorrupt(err)
	} else if err != nil {
		return nil, err
	}
	if err := fn(h); err != nil {
		return nil, err
	}
	h.Rev++
	if err := s.write(h); err != nil {
		return nil, err
	}
	s.last = h
	s.lastStat, _ = os.Stat(s.statePath())
	return h, nil
}

// seqReserve is how far the sequence mark runs ahead of the sequence, so
// the mark is written once per seqReserve activations, not with each.
const seqReserve = 64

// write stores h: first the sequence high-water mark when h reaches it,
// then state.json, so no sequence number is ever in a state without the
// mark being at least as high.
func (s *FileStore) write(h *History) error {
	if hw, _ := s.highWater(); h.Seq > hw {
		mark := strconv.FormatUint(h.Seq+seqReserve, 10)
		if err := writeFileAtomic(s.path("seq"), []byte(mark+"\n")); err != nil {
			return err
		}
	}
	b, err := jsonIndent(h)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(s.statePath(), b)
}

// highWater reads the highest sequence number ever handed out.
func (s *FileStore) highWater() (uint64, bool) {
	b, err := os.ReadFile(s.path("seq"))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// rebuilt is the state that replaces a lost or corrupt one: no current
// build (the registry adopts the folders), the sequence above any number
// handed out, and the builds whose folder is gone but whose path list is
// kept, retired.
func (s *FileStore) rebuilt() *History {
	h := newHistory()
	if hw, ok := s.highWater(); ok {
		h.Seq = hw
	} else {
		h.Seq = uint64(max(time.Now().Unix(), 0))
	}
	entries, _ := os.ReadDir(s.path("paths"))
	now := time.Now().UTC()
	for _, e := range entries {
		v := e.Name()
		if !ValidVersion(v) {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.dir, v)); err == nil {
			continue // present: adopted from its folder
		}
		if b, err := os.ReadFile(s.path("paths", v)); err == nil {
			h.Builds[v] = &Record{Superseded: now, Retired: now, Paths: pathsDigest(b)}
		}
	}
	return h
}

// SavePaths implements StateStore: paths/<v>, one path a line, rewritten
// only when it changed.
func (s *FileStore) SavePaths(_ context.Context, v string, paths []string) (string, error) {
	if !ValidVersion(v) {
		return "", fmt.Errorf("save paths: bad version %q", v)
	}
	data := encodePaths(paths)
	digest := pathsDigest(data)
	p := s.path("paths", v)
	if old, err := os.ReadFile(p); err == nil && pathsDigest(old) == digest {
		return digest, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("save paths of %q: %w", v, err)
	}
	if err := writeFileAtomic(p, data); err != nil {
		return "", fmt.Errorf("save paths of %q: %w", v, err)
	}
	return digest, nil
}

// LoadPaths implements StateStore.
func (s *FileStore) LoadPaths(_ context.Context, v string) ([]string, error) {
	if !ValidVersion(v) {
		return nil, fmt.Errorf("load paths: bad version %q", v)
	}
	b, err := os.ReadFile(s.path("paths", v))
	if err != nil {
		return nil, fmt.Errorf("load paths of %q: %w", v, err)
	}
	return decodePaths(b), nil
}

// watch signals Changes when state.json is no longer what this store last
// read or wrote: on the state folder's events, and every Poll.
func (s *FileStore) watch(ctx context.Context) {
	defer close(s.done)
	var events <-chan fsnotify.Event
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		if w.Add(s.path()) == nil {
			events = w.Events
		}
	}
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Base(ev.Name) != "state.json" {
				continue
			}
		case <-tick.C:
		}
		if s.foreign() {
			select {
			case s.changes <- struct{}{}:
			default:
			}
		}
	}
}

// foreign reports whether state.json differs from what this store last saw.
func (s *FileStore) foreign() bool {
	info, err := os.Stat(s.statePath())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Deleted or unreachable under us: said once (Read reports the
		// loss), not on every look while it lasts.
		was := s.statFailed
		s.statFailed = true
		return s.lastStat != nil && !was
	}
	s.statFailed = false
	l := s.lastStat
	return l == nil || !os.SameFile(info, l) || !info.ModTime().Equal(l.ModTime()) || info.Size() != l.Size()
}

// readWithInfo reads a file and stats it through one open handle: the
// bytes and the info are of the same file, even if another process renames
// a new one into place meanwhile.
func readWithInfo(p string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(f)
	return b, info, err
}
