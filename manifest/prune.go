package manifest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// PrunedBuild is a build folder prune deleted (or would delete).
type PrunedBuild struct {
	Version string
	Files   int
	Bytes   int64
	// Err is why the folder could not be deleted (it stays).
	Err error
}

// Prunable reports whether the folder of build v may be deleted: only a
// retired build's. A current, live, ready, pending or invalid build's
// folder is what serves or will; a blocked build's is evidence an
// operator kept on purpose.
func Prunable(h *History, v string) bool {
	return h.StateOf(v) == Retired
}

// trashDir is where prune moves folders before deleting them: the move
// is one rename under the state lock, the deletion is not.
func trashDir(buildsDir string) string { return filepath.Join(buildsDir, StateDir, "trash") }

// PruneCandidates lists the present folders of buildsDir that Prunable
// allows, sorted, with their sizes, reading the state as it is (for a dry
// run; Prune decides again under the lock).
func PruneCandidates(buildsDir string) ([]PrunedBuild, error) {
	h, err := ReadHistory(buildsDir)
	if err != nil {
		return nil, err
	}
	var out []PrunedBuild
	vs, _ := versionFolders(buildsDir) // as the watcher sees them: symlinked folders too
	for _, v := range vs {
		if Prunable(h, v) {
			out = append(out, sizeOf(buildsDir, v))
		}
	}
	return out, nil
}

// Prune deletes the folders of retired builds in buildsDir. It decides
// and moves them out of the builds folder while holding the state's lock,
// so no activation (`skewless activate`, a server's decision) can make one
// of them current meanwhile; their retired markers stay (a build whose
// path list was never kept gets it from its folder first). It deletes the
// moved folders after releasing the lock, and what an interrupted prune
// left.
func Prune(ctx context.Context, buildsDir string) ([]PrunedBuild, error) {
	if _, err := os.Stat(filepath.Join(buildsDir, StateDir)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // never served: nothing is retired
	}
	store, err := OpenFileStore(buildsDir, FileStoreConfig{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var out []PrunedBuild
	_, err = store.Update(ctx, func(h *History) error {
		out = nil
		vs, _ := versionFolders(buildsDir)
		for _, v := range vs {
			if Prunable(h, v) {
				p := sizeOf(buildsDir, v)
				p.Err = retireFolder(ctx, store, h, buildsDir, v)
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	emptyTrash(buildsDir)
	return out, nil
}

// retireFolder keeps v's path list (reading it from the folder when the
// store has none) and moves the folder into the trash.
func retireFolder(ctx context.Context, store StateStore, h *History, buildsDir, v string) error {
	r := h.Builds[v]
	if kept, err := store.LoadPaths(ctx, v); err == nil {
		if r.Paths == "" {
			r.Paths, r.Hashed = pathsDigest(encodePaths(kept)), nil
		}
	} else {
		paths, err := folderPaths(filepath.Join(buildsDir, v))
		if err != nil {
			return fmt.Errorf("read its path list (kept for the retired marker): %w", err)
		}
		digest, err := store.SavePaths(ctx, v, paths)
		if err != nil {
			return err
		}
		r.Paths, r.Hashed = digest, nil
	}
	if err := os.MkdirAll(trashDir(buildsDir), 0o755); err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	to := filepath.Join(trashDir(buildsDir), v+"-"+hex.EncodeToString(rnd[:]))
	return os.Rename(filepath.Join(buildsDir, v), to)
}

// emptyTrash deletes what prune moved aside, now and by earlier runs.
func emptyTrash(buildsDir string) {
	entries, _ := os.ReadDir(trashDir(buildsDir))
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(trashDir(buildsDir), e.Name()))
	}
	_ = os.Remove(trashDir(buildsDir))
}

// folderPaths lists the non-HTML URL paths the build in dir serves, as a
// load would record them.
func folderPaths(dir string) ([]string, error) {
	s, err := scanBuild(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range servedFiles(s) {
		if !IsHTML(f.rel) {
			out = append(out, "/"+f.rel)
		}
	}
	sort.Strings(out)
	return out, nil
}

// sizeOf counts the files and bytes of folder v, as it is on disk.
func sizeOf(buildsDir, v string) PrunedBuild {
	p := PrunedBuild{Version: v}
	_ = filepath.WalkDir(filepath.Join(buildsDir, v), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			p.Files++
			p.Bytes += info.Size()
		}
		return nil
	})
	return p
}
