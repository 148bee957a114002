package manifest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// TransformHTML rewrites every HTML document of a build once, at load
	// (the server injects its helper there). It must be a pure function
	// of its arguments: its output is hashed, compressed and cached like
	// any file's bytes. Optional. Default: none.
	TransformHTML func(version string, doc []byte) []byte
	// Base is the URL path the builds are served under ("/app/"): the
	// local URLs index.html loads must be under it, and name files of the
	// build below it. Optional. Default: "/".
	Base string
	// ReadyFile, when set, must exist in a build before it is valid.
	// Optional. Default: "" (not required).
	ReadyFile string
	// MaxMemoryFile is the largest file kept in memory; larger ones are
	// served from an open handle and not compressed.
	// Optional. Default: 8 MiB.
	MaxMemoryFile int64
	// Immutable adds paths to cache for a year (--immutable).
	// Optional. Default: none.
	Immutable Globs
	// FastGzipMax is the largest file given a gzip level 1 variant at
	// load, so it is served compressed before the background has made its
	// best variants. Optional. Default: MaxMemoryFile; negative: none.
	FastGzipMax int64
	// CacheDir keeps the variants the background makes, so a restart
	// serves them at once (the server uses CacheDir(buildsDir)).
	// Optional. Default: "" (no disk cache).
	CacheDir string
	// CacheMaxBytes bounds CacheDir; what builds in use need is kept even
	// beyond it. Optional. Default: 1 GiB.
	CacheMaxBytes int64
	// Compressors is how many goroutines make variants in the background.
	// Optional. Default: GOMAXPROCS-1, at least 1 (a core stays free for
	// requests).
	Compressors int
	// Log receives load progress and results. Optional. Default: none.
	Log *zap.Logger
	// ProgressEvery is how often a long load logs its progress.
	// Optional. Default: 2s.
	ProgressEvery time.Duration
}

func (c LoaderConfig) withDefaults() LoaderConfig {
	if c.Base == "" {
		c.Base = "/"
	}
	if c.MaxMemoryFile <= 0 {
		c.MaxMemoryFile = 8 << 20
	}
	if c.FastGzipMax == 0 {
		c.FastGzipMax = c.MaxMemoryFile
	}
	if c.CacheMaxBytes <= 0 {
		c.CacheMaxBytes = 1 << 30
	}
	if c.Compressors <= 0 {
		c.Compressors = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 2 * time.Second
	}
	return c
}

// Build is an immutable snapshot of one loaded build: every URL path it
// serves, prepared. It is never mutated after Load returns (its contents
// gain compressed variants; see Content).
type Build struct {
	Version string
	Dir     string
	// Files maps URL paths ("/assets/index-BRh8Y3xK.js") to files.
	Files map[string]*File
	// Hashed lists the URL paths of hashed files, sorted.
	Hashed   []string
	Bytes    int64
	LoadTime time.Duration
	// Reused counts files whose content (same bytes, same type) an
	// earlier build had prepared.
	Reused int
	// Cached counts new contents whose variants came from the disk cache.
	Cached int
	// Deferred counts new contents whose best variants are being made in
	// the background.
	Deferred int
	// Rules are the build's _headers and _redirects, compiled (nil: it
	// has neither).
	Rules *Rules
}

// Loader turns build folders into Builds. It shares the content of the
// builds it loaded with the next ones (by SHA-256, never by name, size or
// time), compresses in the background, and keeps what it compressed on
// disk. Safe for concurrent use; Close stops its background work.
type Loader struct {
	cfg   LoaderConfig
	log   *zap.Logger
	cache *diskCache
	bg    *compressor

	mu    sync.Mutex
	byKey map[contentKey]*Content

	cacheHits atomic.Int64
}

// contentKey identifies prepared content: the same bytes served as another
// type are another content.
type contentKey struct {
	sum         [sha256.Size]byte
	contentType string
}

// NewLoader returns a Loader for cfg.
func NewLoader(cfg LoaderConfig) *Loader {
	cfg = cfg.withDefaults()
	l := &Loader{cfg: cfg, log: cfg.Log, byKey: map[contentKey]*Content{}}
	if cfg.CacheDir != "" {
		l.cache = newDiskCache(cfg.CacheDir, cfg.CacheMaxBytes, cfg.Log)
	}
	l.bg = newCompressor(cfg.Log, l.cache, cfg.Compressors, 5*cfg.ProgressEvery)
	return l
}

// Close stops background compression and waits for it. Builds already
// loaded keep serving with the variants they have.
func (l *Loader) Close() { l.bg.close() }

// WaitCompressed returns once every loaded content has its best variants
// (or ctx ends): for tests and benchmarks.
func (l *Loader) WaitCompressed(ctx context.Context) error { return l.bg.waitIdle(ctx) }

// LoaderStats counts a Loader's work since it was made.
type LoaderStats struct {
	// Compressed counts contents whose best variants the background made.
	Compressed int64
	// CacheHits counts contents whose variants a load read from disk.
	CacheHits int64
	// CacheWrites counts variant sets written to the disk cache.
	CacheWrites int64
	// Queued is how many contents wait for, or are in, compression now.
	Queued int
}

// Stats returns the counts so far.
func (l *Loader) Stats() LoaderStats {
	return LoaderStats{Compressed: l.bg.compressed.Load(), CacheHits: l.cacheHits.Load(),
		CacheWrites: l.bg.cacheWrites.Load(), Queued: l.bg.queued()}
}

// Inspect validates the build in dir without reading its files (beyond
// index.html and build manifests) and summarises it: an *InvalidError
// listing every problem when it is not ready.
func (l *Loader) Inspect(version, dir string) (Summary, error) {
	s, err := scanBuild(dir)
	if err != nil {
		return Summary{}, err
	}
	idx := readIndex(s)
	facts, problems := validate(s, l.cfg.ReadyFile, l.cfg.Base, idx)
	sum := Summary{}
	for _, f := range servedFiles(s) {
		sum.Files++
		sum.Bytes += f.size
		if isHashed(f.rel, facts, l.cfg.Immutable) {
			sum.Hashed = append(sum.Hashed, "/"+f.rel)
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

// servedFiles lists the files of a scan that become URLs, sorted: not
// private, not a precompressed sibling.
func servedFiles(s *scan) []scannedFile {
	var out []scannedFile
	for rel, f := range s.files {
		if Servable(rel) && !isSibling(s, rel) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
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

// Load scans, validates and prepares the build in dir. An invalid build
// returns an *InvalidError and nothing else is read. The build is ready
// to serve when Load returns: every file read and hashed, compressed
// variants from the build's siblings, the disk cache or a fast gzip; the
// best variants follow in the background. Canceling ctx abandons the load.
func (l *Loader) Load(ctx context.Context, version, dir string) (*Build, error) {
	start := time.Now()
	l.bg.loadStarted()
	defer l.bg.loadEnded()
	s, err := scanBuild(dir)
	if err != nil {
		return nil, err
	}
	idx := readIndex(s)
	facts, problems := validate(s, l.cfg.ReadyFile, l.cfg.Base, idx)
	if len(problems) > 0 {
		return nil, &InvalidError{Version: version, Problems: problems}
	}
	files := servedFiles(s)
	checked := time.Now()
	prog := startProgress(l.log, l.cfg.ProgressEvery, version, files)
	prepared, err := l.prepareAll(ctx, &loadJob{version: version, scan: s, index: idx.doc, start: start}, files, prog)
	prog.stop()
	if err != nil {
		return nil, fmt.Errorf("load build %q: %w", version, err)
	}
	b, deferred := l.commit(version, dir, files, prepared, facts)
	b.Rules = loadRules(s, l.cfg.Base)
	if b.Rules != nil && len(b.Rules.Problems) > 0 {
		l.log.Warn("build rules: lines left out", zap.String("version", version), zap.Strings("problems", b.Rules.Problems))
	}
	b.LoadTime = time.Since(start)
	l.bg.enqueue(version, deferred)
	l.log.Info("build loaded", zap.String("version", version), zap.Int("files", len(b.Files)), zap.Int64("bytes", b.Bytes),
		zap.Int("reused", b.Reused), zap.Int("cached", b.Cached), zap.Int("deferred", b.Deferred),
		zap.Duration("scan", checked.Sub(start)), zap.Duration("read_hash", time.Since(checked)), zap.Duration("took", b.LoadTime))
	return b, nil
}

// commit builds the Build from the prepared files, sharing content another
// load made meanwhile, and returns the new contents that wait for their
// best variants: HTML first, then what index.html loads, then the rest.
func (l *Loader) commit(version, dir string, files []scannedFile, prepared []preparedFile, facts buildFacts) (*Build, []*Content) {
	b := &Build{Version: version, Dir: dir, Files: make(map[string]*File, len(files))}
	var first, rest []*Content
	l.mu.Lock()
	for i, f := range files {
		p := prepared[i]
		key := contentKey{p.c.sum, p.c.ContentType}
		if known := l.byKey[key]; known != nil && known != p.c {
			p.c, p.reused, p.fromCache = known, true, false
		}
		l.byKey[key] = p.c
		hashed := isHashed(f.rel, facts, l.cfg.Immutable)
		b.Files["/"+f.rel] = &File{Content: p.c, Hashed: hashed}
		b.Bytes += p.c.Identity.Size
		switch {
		case p.reused:
			b.Reused++
		case p.fromCache:
			b.Cached++
		case !p.c.Variants().Final:
			b.Deferred++
			if IsHTML(f.rel) || facts.indexRefs[f.rel] {
				first = append(first, p.c)
			} else {
				rest = append(rest, p.c)
			}
		}
		if hashed {
			b.Hashed = append(b.Hashed, "/"+f.rel)
		}
	}
	l.mu.Unlock()
	return b, append(first, rest...)
}

// known returns the prepared content for key, if a load made it.
func (l *Loader) known(key contentKey) *Content {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byKey[key]
}

// Retain tells the loader which builds are in use: content only other
// builds had is no longer shared with the next loads (and is freed with
// them), and the disk cache may delete the variants of such content once
// it is over its budget. The registry calls it after every change.
func (l *Loader) Retain(builds []*Build) {
	keep := map[contentKey]*Content{}
	for _, b := range builds {
		for _, f := range b.Files {
			keep[contentKey{f.sum, f.ContentType}] = f.Content
		}
	}
	l.mu.Lock()
	l.byKey = keep
	l.mu.Unlock()
	if l.cache == nil || !l.cache.startPrune() {
		return
	}
	inUse := make(map[[sha256.Size]byte]bool, len(keep))
	for k := range keep {
		inUse[k.sum] = true
	}
	l.bg.goOwned(func() { l.cache.prune(inUse) })
}
