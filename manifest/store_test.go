package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// openStore opens a FileStore on builds for the test, collecting what it
// reports as corrupt.
func openStore(t *testing.T, builds string) (*FileStore, *[]error) {
	t.Helper()
	var corrupt []error
	s, err := OpenFileStore(builds, FileStoreConfig{OnCorrupt: func(err error) { corrupt = append(corrupt, err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &corrupt
}

// stateFiles lists what the store left in the state folder.
func stateFiles(t *testing.T, builds string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(builds, StateDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFileStoreWritesAtomically(t *testing.T) {
	builds := t.TempDir()
	st, corrupt := openStore(t, builds)
	t0 := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		s, err := st.Update(t.Context(), func(s *History) error {
			s.Activate(fmt.Sprintf("v%d", i+1), Summary{Files: i}, t0.Add(time.Duration(i)*time.Minute))
			return nil
		})
		if err != nil || len(*corrupt) > 0 {
			t.Fatalf("Update: %v, corrupt %v", err, *corrupt)
		}
		if s.Rev != uint64(i+1) {
			t.Errorf("Rev = %d, want %d", s.Rev, i+1)
		}
	}
	if got := stateFiles(t, builds); !slices.Equal(got, []string{"lock", "seq", "state.json"}) {
		t.Errorf("state folder holds %q, want lock, seq and state.json (no temp files)", got)
	}
	raw, err := os.ReadFile(filepath.Join(builds, StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) || !strings.HasSuffix(string(raw), "}\n") {
		t.Errorf("state.json is not one JSON document ending in a newline: %q", raw)
	}
	s, err := ReadHistory(builds)
	if err != nil {
		t.Fatal(err)
	}
	if s.Current != "v3" || s.Seq != 3 || s.Rev != 3 || s.StateOf("v1") != Live || !s.Builds["v2"].Superseded.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("read back %+v", s)
	}
}

func TestFileStoreFnError(t *testing.T) {
	builds := t.TempDir()
	st, _ := openStore(t, builds)
	if _, err := st.Update(t.Context(), func(s *History) error { s.Activate("v1", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := st.Update(t.Context(), func(s *History) error {
		s.Activate("v2", Summary{}, time.Now())
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want fn's error", err)
	}
	s, err := ReadHistory(builds)
	if err != nil || s.Current != "v1" || s.Rev != 1 {
		t.Errorf("after a failed update: %+v, %v; want the earlier state", s, err)
	}
}

// A corrupt state file is replaced; a store with no good state in memory
// (a sub-command) starts from a rebuilt one whose sequence is above any
// number handed out (the "seq" mark).
func TestFileStoreReplacesCorrupt(t *testing.T) {
	builds := t.TempDir()
	st, _ := openStore(t, builds)
	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := st.Update(t.Context(), func(s *History) error { s.Activate(v, Summary{}, time.Now()); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	writeState(t, builds, `{"format": 1, "current": "gone"`)
	if _, err := ReadHistory(builds); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("ReadHistory of a corrupt file: %v", err)
	}
	other, corrupt := openStore(t, builds)
	var seen *History
	s, err := other.Update(t.Context(), func(s *History) error {
		seen = s
		s.Activate("v9", Summary{}, time.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(*corrupt) != 1 || !errors.Is((*corrupt)[0], ErrCorruptState) {
		t.Errorf("corrupt = %v, want one ErrCorruptState", *corrupt)
	}
	if seen == nil || s.Current != "v9" || len(s.Builds) != 1 || s.Seq <= 3 {
		t.Errorf("fn did not start from a rebuilt state above seq 3: %+v", s)
	}
	if _, err := ReadHistory(builds); err != nil {
		t.Errorf("the state file is still unusable: %v", err)
	}
}

// A store that knows the last good state (the server's) puts it back when
// the file turns corrupt or goes missing.
func TestFileStoreRewritesWhatItKnew(t *testing.T) {
	for _, damage := range []string{"corrupt", "deleted"} {
		t.Run(damage, func(t *testing.T) {
			builds := t.TempDir()
			st, corrupt := openStore(t, builds)
			for _, v := range []string{"v1", "v2"} {
				if _, err := st.Update(t.Context(), func(s *History) error { s.Activate(v, Summary{}, time.Now()); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if damage == "corrupt" {
				writeState(t, builds, "\x00garbage")
			} else if err := os.Remove(filepath.Join(builds, StateDir, "state.json")); err != nil {
				t.Fatal(err)
			}
			if h, err := st.Read(t.Context()); !errors.Is(err, ErrCorruptState) || h == nil || h.Current != "v2" {
				t.Fatalf("Read: %v, %v; want the last good state and ErrCorruptState", h, err)
			}
			h, err := st.Update(t.Context(), func(*History) error { return nil })
			if err != nil || h.Current != "v2" || h.Seq != 2 || h.StateOf("v1") != Live || len(*corrupt) != 1 {
				t.Fatalf("Update: %+v, %v (corrupt %v)", h, err, *corrupt)
			}
		})
	}
}

func writeState(t *testing.T, builds, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(builds, StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(builds, StateDir, "state.json"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The sequence of a rebuilt state never goes back to a number a tab may
// have seen: the "seq" mark when it survives, the clock when it does not.
func TestFileStoreRebuiltSequence(t *testing.T) {
	unix := func() uint64 { return uint64(time.Now().Unix()) }
	tests := []struct {
		name   string
		damage func(t *testing.T, builds string)
		above  func() uint64 // the rebuilt sequence is at least this
		exact  bool          // and no more
	}{
		{"state.json deleted", func(t *testing.T, b string) { removeState(t, b, "state.json") }, func() uint64 { return 7 }, false},
		{"state.json corrupt", func(t *testing.T, b string) { writeState(t, b, "{") }, func() uint64 { return 7 }, false},
		{"state.json corrupt and seq lost", func(t *testing.T, b string) { writeState(t, b, "{"); removeState(t, b, "seq") }, unix, false},
		{"everything lost: a first start", func(t *testing.T, b string) { removeState(t, b, "state.json"); removeState(t, b, "seq") },
			func() uint64 { return 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			builds := t.TempDir()
			st, _ := openStore(t, builds)
			for i := range 7 {
				if _, err := st.Update(t.Context(), func(s *History) error { s.Activate(fmt.Sprint("v", i%2), Summary{}, time.Now()); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			tt.damage(t, builds)
			floor := tt.above()
			fresh, _ := openStore(t, builds)
			h, _ := fresh.Read(t.Context())
			if h.Seq < floor || tt.exact && h.Seq != floor {
				t.Fatalf("rebuilt Seq = %d, want at least %d (exactly: %v)", h.Seq, floor, tt.exact)
			}
		})
	}
}

func removeState(t *testing.T, builds, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(builds, StateDir, name)); err != nil {
		t.Fatal(err)
	}
}

// A rebuilt state keeps the retired marker of builds whose folder is gone:
// their path lists survive in the state folder.
func TestFileStoreRebuildKeepsRetiredPaths(t *testing.T) {
	builds := t.TempDir()
	st, _ := openStore(t, builds)
	if _, err := st.SavePaths(t.Context(), "gone", []string{"/a.js", "/old-config.json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SavePaths(t.Context(), "here", []string{"/b.js"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(builds, "here"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(t.Context(), func(s *History) error { s.Activate("here", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	writeState(t, builds, "not json")
	fresh, _ := openStore(t, builds)
	h, err := fresh.Read(t.Context())
	if !errors.Is(err, ErrCorruptState) {
		t.Fatalf("Read: %v", err)
	}
	if h.StateOf("gone") != Retired || h.Builds["gone"].Paths == "" || h.Builds["here"] != nil {
		t.Fatalf("rebuilt: %+v", h.Builds)
	}
	paths, err := fresh.LoadPaths(t.Context(), "gone")
	if err != nil || !slices.Equal(paths, []string{"/a.js", "/old-config.json"}) {
		t.Fatalf("LoadPaths: %q, %v", paths, err)
	}
}

// Path lists are written once per content: saving the same list again
// does not rewrite the file.
func TestFileStoreSavePathsOnce(t *testing.T) {
	builds := t.TempDir()
	st, _ := openStore(t, builds)
	d1, err := st.SavePaths(t.Context(), "v1", []string{"/a.js"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(builds, StateDir, "paths", "v1")
	before, _ := os.Stat(p)
	d2, err := st.SavePaths(t.Context(), "v1", []string{"/a.js"})
	if err != nil || d2 != d1 {
		t.Fatalf("digest %q then %q (%v)", d1, d2, err)
	}
	if after, _ := os.Stat(p); !os.SameFile(before, after) {
		t.Error("the same list was written again")
	}
	if d3, _ := st.SavePaths(t.Context(), "v1", []string{"/a.js", "/b.js"}); d3 == d1 {
		t.Error("another list has the same digest")
	}
	if _, err := st.SavePaths(t.Context(), "../x", nil); err == nil {
		t.Error("a bad version was accepted")
	}
}

// Updates from many goroutines, each through its own store (as processes
// would), each see the result of the ones before: the lock is a flock on a
// file each update opens itself.
func TestFileStoreConcurrent(t *testing.T) {
	builds := t.TempDir()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := OpenFileStore(builds, FileStoreConfig{})
			if err == nil {
				_, err = st.Update(context.Background(), func(s *History) error {
					s.record("counter").Files++
					return nil
				})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := ReadHistory(builds)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Builds["counter"].Files; got != n || s.Rev != n {
		t.Errorf("counter = %d, Rev = %d after %d updates: updates were lost", got, s.Rev, n)
	}
}

// Changes is signalled when another process writes the state, not when
// the store itself does.
func TestFileStoreChanges(t *testing.T) {
	builds := t.TempDir()
	st, err := OpenFileStore(builds, FileStoreConfig{Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(t.Context(), func(s *History) error { s.Activate("v1", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.Changes():
		t.Fatal("the store's own write was signalled")
	case <-time.After(300 * time.Millisecond):
	}
	other, _ := openStore(t, builds)
	if _, err := other.Update(t.Context(), func(s *History) error { s.Activate("v2", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("another store's write was not signalled within 5s")
	}
	if h, err := st.Read(t.Context()); err != nil || h.Current != "v2" {
		t.Fatalf("Read after the change: %+v, %v", h, err)
	}
}
