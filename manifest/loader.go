package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// TransformHTML rewrites every HTML document of a build once, at load
	// (the server injects its helper there). Optional. Default: none.
	TransformHTML func(version string, doc []byte) []byte
	// Annotate computes what the caller wants kept with each new content
	// (the server: its response header values), stored in Content.Meta.
	// It runs once per content, not once per build that shares it.
	// Optional. Default: none.
	Annotate func(*Content) any
	// ReadyFile, when set, must exist in a build before it is valid.
	// Optional. Default: "" (not required).
	ReadyFile string
	// MaxMemoryFile is the largest file kept in memory; larger ones are
	// served from an open handle and not compressed at load.
	// Optional. Default: 8 MiB.
	MaxMemoryFile int64
	// Immutable adds paths to cache for a year (--immutable).
	// Optional. Default: none.
	Immutable Globs
}

func (c LoaderConfig) withDefaults() LoaderConfig {
	if c.MaxMemoryFile <= 0 {
		c.MaxMemoryFile = 8 << 20
	}
	return c
}

// Build is an immutable snapshot of one loaded build: every URL path it
// serves, prepared. It is never mutated after Load returns.
type Build struct {
	Version string
	Dir     string
	// Files maps URL paths ("/assets/index-BRh8Y3xK.js") to files.
	Files map[string]*File
	// Hashed lists the URL paths of hashed files, sorted.
	Hashed   []string
	Bytes    int64
	LoadTime time.Duration
	// Reused counts files whose content an earlier build had prepared.
	Reused int
}

// Loader turns build folders into Builds. It remembers the content of the
// builds it loaded so a new build only reads and compresses what changed;
// Retain lets go of builds no longer in use. Safe for concurrent use.
type Loader struct {
	cfg LoaderConfig

	mu     sync.Mutex
	byStat map[statKey]*Content // same path, size and mtime: not even read
	byHash map[string]*Content  // same bytes: not compressed again
}

type statKey struct {
	rel     string
	size    int64
	modTime int64
}

// NewLoader returns a Loader for cfg.
func NewLoader(cfg LoaderConfig) *Loader {
	return &Loader{cfg: cfg.withDefaults(), byStat: map[statKey]*Content{}, byHash: map[string]*Content{}}
}

// Inspect validates the build in dir without reading its files (beyond
// index.html and build manifests) and summarises it: an *InvalidError
// listing every problem when it is not ready.
func (l *Loader) Inspect(version, dir string) (Summary, error) {
	s, err := scanBuild(dir)
	if err != nil {
		return Summary{}, err
	}
	facts, problems := validate(s, l.cfg.ReadyFile)
	sum := Summary{}
	for rel, f := range s.files {
		if !Servable(rel) || isSibling(s, rel) {
			continue
		}
		sum.Files++
		sum.Bytes += f.size
		if isHashed(rel, facts, l.cfg.Immutable) {
			sum.Hashed = append(sum.Hashed, "/"+rel)
		}
	}
	sort.Strings(sum.Hashed)
	if len(problems) > 0 {
		return sum, &InvalidError{Version: version, Problems: problems}
	}
	return sum, nil
}

func isHashed(rel string, facts buildFacts, globs Globs) bool {
	hashed, _ := Classify(rel, Facts{Listed: facts.manifestOutputs, Immutable: globs})
	return hashed
}

// Load scans, validates and prepares the build in dir. An invalid build
// returns an *InvalidError and nothing else is read.
func (l *Loader) Load(ctx context.Context, version, dir string) (*Build, error) {
	start := time.Now()
	s, err := scanBuild(dir)
	if err != nil {
		return nil, err
	}
	facts, problems := validate(s, l.cfg.ReadyFile)
	if len(problems) > 0 {
		return nil, &InvalidError{Version: version, Problems: problems}
	}
	b := &Build{Version: version, Dir: dir, Files: make(map[string]*File, len(s.files))}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for rel, f := range s.files {
		if !Servable(rel) || isSibling(s, rel) {
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, reused, err := l.content(version, s, f)
			if err != nil {
				return err
			}
			hashed := isHashed(rel, facts, l.cfg.Immutable)
			mu.Lock()
			defer mu.Unlock()
			b.Files["/"+rel] = &File{Content: c, Hashed: hashed}
			b.Bytes += c.Identity.Size
			if reused {
				b.Reused++
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("load build %q: %w", version, err)
	}
	for p, f := range b.Files {
		if f.Hashed {
			b.Hashed = append(b.Hashed, p)
		}
	}
	sort.Strings(b.Hashed)
	b.LoadTime = time.Since(start)
	return b, nil
}

// isSibling reports whether rel is a precompressed copy (x.br, x.gz) of a
// file the build also has: it becomes a variant of that file, not a URL.
func isSibling(s *scan, rel string) bool {
	for _, ext := range []string{".br", ".gz"} {
		if base, ok := strings.CutSuffix(rel, ext); ok {
			if _, ok := s.files[base]; ok {
				return true
			}
		}
	}
	return false
}

// content returns the prepared content of f, from memory when an earlier
// build had the same file (by path, size and time, without reading it) or
// the same bytes (read, but not compressed again).
func (l *Loader) content(version string, s *scan, f scannedFile) (*Content, bool, error) {
	html := IsHTML(f.rel) && l.cfg.TransformHTML != nil
	key := statKey{f.rel, f.size, f.modTime.UnixNano()}
	if !html {
		l.mu.Lock()
		c := l.byStat[key]
		l.mu.Unlock()
		if c != nil {
			return c, true, nil
		}
	}
	id, hash, err := l.readIdentity(version, f, html)
	if err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	known := l.byHash[hash]
	l.mu.Unlock()
	// Same bytes: the same prepared content, Last-Modified included (the
	// bytes have not changed since then), so caches holding the earlier
	// build's copy stay valid.
	if known != nil && known.ContentType == typeOf(f.rel).contentType {
		if !html {
			l.remember(key, known)
		}
		return known, true, nil
	}
	mt := typeOf(f.rel)
	c := &Content{ContentType: mt.contentType, Compressible: mt.compressible, ModTime: f.modTime, Hash: hash, Identity: id}
	if err := l.prepareVariants(c, s, f, html); err != nil {
		return nil, false, err
	}
	if l.cfg.Annotate != nil {
		c.Meta = l.cfg.Annotate(c)
	}
	if !html {
		l.remember(key, c)
	}
	l.mu.Lock()
	l.byHash[hash] = c
	l.mu.Unlock()
	return c, false, nil
}

func (l *Loader) remember(key statKey, c *Content) {
	l.mu.Lock()
	l.byStat[key] = c
	l.mu.Unlock()
}

// readIdentity reads f (transforming HTML) and hashes it. Files over
// MaxMemoryFile stay on disk behind an open handle, hashed by streaming.
func (l *Loader) readIdentity(version string, f scannedFile, html bool) (*Representation, string, error) {
	if f.size > l.cfg.MaxMemoryFile && !html {
		return openLarge(f)
	}
	data, err := os.ReadFile(f.abs)
	if err != nil {
		return nil, "", fmt.Errorf("read %q: %w", f.rel, err)
	}
	if html {
		data = l.cfg.TransformHTML(version, data)
	}
	h := newHasher()
	_, _ = h.Write(data)
	hash := contentHash(h.Sum(nil))
	return &Representation{Encoding: Identity, ETag: etag(hash, Identity), Size: int64(len(data)), data: data}, hash, nil
}

func openLarge(f scannedFile) (*Representation, string, error) {
	fh, err := os.Open(f.abs)
	if err != nil {
		return nil, "", fmt.Errorf("open %q: %w", f.rel, err)
	}
	h := newHasher()
	n, err := io.Copy(h, io.NewSectionReader(fh, 0, f.size))
	if err == nil && n != f.size {
		err = errors.New("file changed while reading")
	}
	if err != nil {
		fh.Close()
		return nil, "", fmt.Errorf("hash %q: %w", f.rel, err)
	}
	// The handle stays open for as long as a build refers to it; the
	// runtime closes it once the last snapshot holding it is collected,
	// so a request in flight never reads from a closed file.
	hash := contentHash(h.Sum(nil))
	return &Representation{Encoding: Identity, ETag: etag(hash, Identity), Size: f.size, file: fh}, hash, nil
}

// Retain forgets prepared content that none of builds uses any more.
func (l *Loader) Retain(builds []*Build) {
	keep := map[*Content]bool{}
	for _, b := range builds {
		for _, f := range b.Files {
			keep[f.Content] = true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range l.byStat {
		if !keep[c] {
			delete(l.byStat, k)
		}
	}
	for k, c := range l.byHash {
		if !keep[c] {
			delete(l.byHash, k)
		}
	}
}
