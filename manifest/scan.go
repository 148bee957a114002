package manifest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// scannedFile is a regular file found in a build folder.
type scannedFile struct {
	rel     string // slash-separated, relative to the build root
	abs     string // where to read it (a symlink's target inside the build)
	size    int64
	modTime time.Time
}

// scan is one walk of a build folder: its files by relative path.
type scan struct {
	files map[string]scannedFile
}

// scanBuild walks root once. Symlinks are followed only to regular files
// inside the build; a symlink that leaves the folder is not part of the
// build (a request can then never reach outside it).
func scanBuild(root string) (*scan, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("resolve build folder %q: %w", root, err)
	}
	s := &scan{files: make(map[string]scannedFile)}
	err = filepath.WalkDir(realRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == realRoot {
				return err
			}
			return fmt.Errorf("read %q: %w", p, err)
		}
		if p == realRoot || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(realRoot, p)
		rel = filepath.ToSlash(rel)
		abs := p
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil || !within(realRoot, target) {
				return nil // leaves the build
			}
			if trel, _ := filepath.Rel(realRoot, target); !Servable(filepath.ToSlash(trel)) {
				return nil // a link must not publish what the build keeps private
			}
			abs = target
		}
		info, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("stat %q: %w", p, err)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		s.files[rel] = scannedFile{rel: rel, abs: abs, size: info.Size(), modTime: info.ModTime()}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan build %q: %w", root, err)
	}
	return s, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// Servable reports whether a build file (a slash-separated path relative
// to the build) may be served. Dotfiles and dot-folders
// (.vite/manifest.json, .env, .git/) are private to the build;
// /.well-known/ is public by design (RFC 8615).
func Servable(rel string) bool {
	if rulesFile(rel) {
		return false // _headers and _redirects are read, never served
	}
	rel = strings.TrimPrefix(rel, ".well-known/")
	return !strings.HasPrefix(rel, ".") && !strings.Contains(rel, "/.")
}

// Fingerprint summarises a folder tree cheaply (names, sizes, times) so a
// build can be seen to have settled even where no file events arrive.
type Fingerprint struct {
	Files   int
	Bytes   int64
	Newest  time.Time
	NameSum uint64
}

// TakeFingerprint walks dir with lstat only.
func TakeFingerprint(dir string) (Fingerprint, error) {
	var f Fingerprint
	h := fnv.New64a()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dir {
				return nil // removed while walking: the next look sees it
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		f.Files++
		f.Bytes += info.Size()
		if info.ModTime().After(f.Newest) {
			f.Newest = info.ModTime()
		}
		_, _ = h.Write([]byte(p))
		return nil
	})
	f.NameSum = h.Sum64()
	if err != nil {
		return f, fmt.Errorf("fingerprint %q: %w", dir, err)
	}
	return f, nil
}
