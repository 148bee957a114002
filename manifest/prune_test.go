package manifest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPrune: only the folders of retired builds go; the current, live,
// ready, pending and invalid ones stay, and so does each retired build's
// marker (its path list, made from its folder when none was kept).
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	build := func(v string, files map[string]string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
		for rel, body := range files {
			p := filepath.Join(dir, v, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	valid := map[string]string{"index.html": page(""), "assets/a-BRh8Y3xK.js": "a"}
	for _, v := range []string{"v1", "v2", "v3", "v4", "v5", "v6"} {
		build(v, valid)
	}
	build("v7", map[string]string{"assets/x.js": "no index"})
	store, err := OpenFileStore(dir, FileStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	if _, err := store.Update(context.Background(), func(h *History) error {
		h.Activate("v1", Summary{}, at) // retired, no path list kept
		h.Activate("v2", Summary{}, at.Add(time.Second))
		h.Activate("v3", Summary{}, at.Add(2*time.Second)) // v2 live, v3 current
		h.Retire("v1", at.Add(3*time.Second))
		h.PassOver("v4", at) // ready
		h.MarkInvalid("v7", []string{"index.html is missing"})
		h.Supersede("v6", Summary{}, at)
		h.Retire("v6", at.Add(4*time.Second)) // retired, path list kept
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SavePaths(context.Background(), "v6", []string{"/assets/kept-BRh8Y3xK.js"}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	dry, err := PruneCandidates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := versionsOf(dry); !slices.Equal(got, []string{"v1", "v6"}) {
		t.Fatalf("dry run lists %v, want v1 and v6", got)
	}
	if dry[0].Files != 2 || dry[0].Bytes != int64(len(valid["index.html"])+1) {
		t.Errorf("v1 measured %d files, %d bytes", dry[0].Files, dry[0].Bytes)
	}
	if _, err := os.Stat(filepath.Join(dir, "v1")); err != nil {
		t.Fatalf("a dry run deleted v1: %v", err)
	}

	pruned, err := Prune(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := versionsOf(pruned); !slices.Equal(got, []string{"v1", "v6"}) {
		t.Fatalf("pruned %v, want v1 and v6", got)
	}
	for _, p := range pruned {
		if p.Err != nil {
			t.Errorf("%s: %v", p.Version, p.Err)
		}
	}
	for v, want := range map[string]bool{"v1": false, "v2": true, "v3": true, "v4": true, "v5": true, "v6": false, "v7": true} {
		if _, err := os.Stat(filepath.Join(dir, v)); (err == nil) != want {
			t.Errorf("folder %s present: %v, want %v", v, err == nil, want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, StateDir)); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == "trash" }) {
		t.Error("the trash folder is left behind")
	}
	h, err := ReadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, _ = OpenFileStore(dir, FileStoreConfig{})
	defer store.Close()
	for v, want := range map[string][]string{"v1": {"/assets/a-BRh8Y3xK.js"}, "v6": {"/assets/kept-BRh8Y3xK.js"}} {
		if h.StateOf(v) != Retired || h.Builds[v].Paths == "" {
			t.Errorf("%s after prune: %v, paths digest %q", v, h.StateOf(v), h.Builds[v].Paths)
		}
		if got, err := store.LoadPaths(context.Background(), v); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s's retired marker: %v, %v; want %v", v, got, err, want)
		}
	}
	if again, err := Prune(context.Background(), dir); err != nil || len(again) != 0 {
		t.Errorf("a second prune: %v, %v", again, err)
	}
}

// TestPruneNeverServed: a builds folder no server ever used has nothing
// retired, and prune creates nothing in it.
func TestPruneNeverServed(t *testing.T) {
	dir := t.TempDir()
	got, err := Prune(context.Background(), dir)
	if err != nil || len(got) != 0 {
		t.Fatalf("Prune: %v, %v", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("prune created %v", entries)
	}
}

func versionsOf(list []PrunedBuild) []string {
	var out []string
	for _, p := range list {
		out = append(out, p.Version)
	}
	return out
}
