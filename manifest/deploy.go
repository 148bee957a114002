package manifest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrExists is returned when a version is already in the builds folder.
var ErrExists = errors.New("version already exists")

// Deploy validates the build in src and moves a copy of it into buildsDir
// as version v atomically: it is copied into <builds>/.skewless/incoming/
// (same filesystem), files and folders fsynced, modification times kept
// (so content reuse and precompressed siblings stay valid), then renamed
// into place in one step. A watcher never sees a half-copied build. Nothing
// is created for an invalid build or an existing version.
func Deploy(l *Loader, src, buildsDir, v string) (Summary, error) {
	if !ValidVersion(v) {
		return Summary{}, fmt.Errorf("version %q is not a valid build name (letters, digits, '.', '_', '-'; starting with a letter or digit)", v)
	}
	sum, err := l.Inspect(v, src)
	if err != nil {
		return sum, err
	}
	dst := filepath.Join(buildsDir, v)
	if _, err := os.Lstat(dst); err == nil {
		return sum, fmt.Errorf("%w: %s is there already (deploy under another --version, or activate %s)", ErrExists, dst, v)
	}
	if h, err := ReadHistory(buildsDir); err == nil && h.Builds[v] != nil && h.served(v) {
		return sum, fmt.Errorf("%w: %q is in the history of %s (deploy under another --version)", ErrExists, v, buildsDir)
	}
	s, err := scanBuild(src)
	if err != nil {
		return sum, err
	}
	incoming := filepath.Join(buildsDir, StateDir, "incoming")
	made, err := mkdirAllMade(incoming)
	if err != nil {
		return sum, fmt.Errorf("create %s: %w", incoming, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(incoming, v+"-"+hex.EncodeToString(rnd[:]))
	err = copyTree(s, tmp)
	if err == nil {
		if err = os.Rename(tmp, dst); err != nil {
			err = fmt.Errorf("move build into place: %w", err)
		}
	}
	if err != nil {
		// A failed deploy leaves nothing behind: not its copy, nor the
		// folders it made for it.
		_ = os.RemoveAll(tmp)
		for i := len(made) - 1; i >= 0; i-- {
			_ = os.Remove(made[i])
		}
		return sum, err
	}
	return sum, syncDir(buildsDir)
}

// mkdirAllMade is os.MkdirAll that returns the folders it created,
// outermost first, so a failure can remove them again.
func mkdirAllMade(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return missing, nil
}

// copyTree copies the scanned files of a build under dst, keeping
// modification times and permission bits, and fsyncs everything.
func copyTree(s *scan, dst string) error {
	dirs := map[string]bool{dst: true}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	for rel, f := range s.files {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
		}
		for d := filepath.Dir(p); d != dst && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		if err := copyFile(f, p); err != nil {
			return err
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(f scannedFile, dst string) error {
	in, err := os.Open(f.abs)
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.rel, err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.rel, err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm()|0o400)
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.rel, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", f.rel, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sync %s: %w", f.rel, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", f.rel, err)
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// PresentFolders inspects every version folder of buildsDir that the
// history does not know as served: pending (valid, waiting for the server),
// ready, or invalid with its problems. For `skewless status`.
func PresentFolders(l *Loader, buildsDir string, h *History) (map[string]FolderStatus, error) {
	entries, err := os.ReadDir(buildsDir)
	if err != nil {
		return nil, fmt.Errorf("builds folder %q: %w", buildsDir, err)
	}
	out := map[string]FolderStatus{}
	for _, e := range entries {
		v := e.Name()
		if !ValidVersion(v) {
			continue
		}
		if info, err := os.Stat(filepath.Join(buildsDir, v)); err != nil || !info.IsDir() {
			continue
		}
		if h.served(v) {
			out[v] = FolderStatus{}
			continue
		}
		// A ready build (passed over) is decided: valid, it is not pending.
		sum, err := l.Inspect(v, filepath.Join(buildsDir, v))
		out[v] = FolderStatus{Pending: err == nil && !h.decided(v), Files: sum.Files, Bytes: sum.Bytes, Problems: Problems(err)}
	}
	return out, nil
}
