package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

func TestClassifyFSEvent(t *testing.T) {
	for _, tt := range []struct {
		rel     string
		op      fsnotify.Op
		want    fsChange
		version string
	}{
		{".", fsnotify.Remove, fsBuildsDirGone, ""},
		{".", fsnotify.Rename, fsBuildsDirGone, ""},
		{".", fsnotify.Chmod, fsIgnore, ""}, // chmod 000 of the builds folder: the rescan says so
		{"v2", fsnotify.Create, fsFolderCreated, "v2"},
		{"v2", fsnotify.Remove, fsFolderRemoved, "v2"},
		{"v2", fsnotify.Rename, fsFolderRemoved, "v2"},
		{"v2", fsnotify.Chmod, fsIgnore, ""}, // mv from tmpfs: CREATE then CHMOD of the folder
		{"v2", fsnotify.Write, fsIgnore, ""},
		{"v2/index.html", fsnotify.Write, fsInside, "v2"},
		{"v2/index.html", fsnotify.Chmod, fsInside, "v2"}, // cp -a sets times: the fingerprint changes
		{"v2/index.html", fsnotify.Remove, fsInside, "v2"},
		{"v2/index.html", fsnotify.Rename, fsInside, "v2"},
		{"v2/assets", fsnotify.Create, fsInsideCreated, "v2"},
		{"v2/assets/a.js", fsnotify.Create | fsnotify.Write, fsInsideCreated, "v2"},
		{"v2/.vite/manifest.json", fsnotify.Write, fsInside, "v2"}, // private, but it decides validity
		{".skewless", fsnotify.Create, fsIgnore, ""},
		{".skewless/state.json", fsnotify.Write, fsIgnore, ""},
		{"_stage-v3", fsnotify.Create, fsIgnore, ""},
		{"_stage-v3/index.html", fsnotify.Write, fsIgnore, ""},
		{".tmp-v5", fsnotify.Rename, fsIgnore, ""},
		{"README.md", fsnotify.Create, fsFolderCreated, "README.md"}, // a valid name: the watcher's stat finds a file, no build
		{"../elsewhere", fsnotify.Create, fsIgnore, ""},
		{"-v", fsnotify.Create, fsIgnore, ""},
	} {
		got, v := classifyFSEvent(tt.rel, tt.op)
		if got != tt.want || v != tt.version {
			t.Errorf("classifyFSEvent(%q, %v) = %d %q, want %d %q", tt.rel, tt.op, got, v, tt.want, tt.version)
		}
	}
}

// A folder copied file by file is fingerprinted when its settle time runs
// out, not once per file: a walk per event made an n-file copy cost n²/2
// lstat calls.
func TestWatcherWalksPerSettleNotPerEvent(t *testing.T) {
	dir := t.TempDir()
	w, found, err := startWatcher(watcherConfig{Dir: dir, Settle: 200 * time.Millisecond, Rescan: time.Hour,
		Log: zap.NewNop(), Observer: nopObserver{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Fatalf("found %v in an empty folder", found)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go w.run(ctx)
	defer func() { cancel(); <-w.done }()

	const n = 400
	root := filepath.Join(dir, "v1")
	if err := os.MkdirAll(filepath.Join(root, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, "assets", fmt.Sprintf("chunk-%03d.js", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var settledFP Fingerprint
	deadline := time.After(20 * time.Second)
	for settledFP.Files == 0 {
		select {
		case ev := <-w.events():
			if ev.kind == folderSettled && ev.version == "v1" {
				settledFP = ev.fp
			}
		case <-deadline:
			t.Fatal("v1 did not settle within 20s")
		}
	}
	cancel()
	<-w.done
	want, _ := TakeFingerprint(root)
	if settledFP != want {
		t.Errorf("settled at %+v, the folder is %+v", settledFP, want)
	}
	t.Logf("%d files copied: %d walks of the folder", n, w.walks)
	if w.walks > 20 {
		t.Errorf("%d walks for a %d-file copy: the folder is walked per event", w.walks, n)
	}
}
