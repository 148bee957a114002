package manifest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// loadJob is what every file of one load shares.
type loadJob struct {
	version string
	scan    *scan
	index   []byte // index.html as validation read it
	start   time.Time
}

// preparedFile is one file's content, and where it came from.
type preparedFile struct {
	c         *Content
	reused    bool // an earlier build's content
	fromCache bool // its variants came from the disk cache
}

// prepareAll prepares files on every core and returns their contents in
// the same order. The first error (or ctx's end) stops the others.
func (l *Loader) prepareAll(ctx context.Context, j *loadJob, files []scannedFile, prog *progress) ([]preparedFile, error) {
	out := make([]preparedFile, len(files))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	// Twice the cores: reads block in the kernel (a cold page cache, a slow
	// disk), and another file is hashed meanwhile.
	for range min(2*runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(files) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				p, err := l.prepareFile(j, files[i])
				if err != nil {
					cancel(err)
					return
				}
				out[i] = p
				prog.add(files[i].size)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// prepareFile reads and hashes one file and gives it the variants that
// are quick to have: the build's siblings, the disk cache's, or a fast
// gzip. Content an earlier build prepared is shared, not prepared again.
func (l *Loader) prepareFile(j *loadJob, f scannedFile) (preparedFile, error) {
	html := IsHTML(f.rel) && l.cfg.TransformHTML != nil
	data, sum, fh, err := l.readIdentity(j, f, html)
	if err != nil {
		return preparedFile{}, err
	}
	mt := typeOf(f.rel)
	if c := l.known(contentKey{sum, mt.contentType}); c != nil {
		if fh != nil {
			fh.Close()
		}
		return preparedFile{c: c, reused: true}, nil
	}
	size := int64(len(data))
	if fh != nil {
		size = f.size
	}
	// A file dated in the future (a clock ahead, an archive from one)
	// must not be announced as modified later than now.
	mod := f.modTime
	if mod.After(j.start) {
		mod = j.start
	}
	c := newContent(mt, mod, sum, size, data, fh)
	if !html {
		sib, err := l.siblingVariants(j.scan, f, c.Hash, c.Identity)
		if err != nil {
			return preparedFile{}, err
		}
		if sib != nil {
			c.Negotiated = true
			c.variants.Store(sib)
			return preparedFile{c: c}, nil
		}
	}
	if !negotiable(c.Compressible, c.Identity) {
		return preparedFile{c: c}, nil
	}
	c.Negotiated = true
	if l.cache != nil {
		if br, gz, ok := l.cache.read(sum, size); ok {
			l.cacheHits.Add(1)
			c.variants.Store(finalVariants(c, br, gz))
			return preparedFile{c: c, fromCache: true}, nil
		}
	}
	v := &Variants{Identity: c.Identity}
	if size <= l.cfg.FastGzipMax {
		v.Gzip = fastGzip(c.Hash, data)
	}
	c.variants.Store(v)
	return preparedFile{c: c}, nil
}

// readIdentity reads f (transforming HTML; index.html was read by
// validation already) and hashes it. Files over MaxMemoryFile stay on disk
// behind an open handle, hashed by streaming.
func (l *Loader) readIdentity(j *loadJob, f scannedFile, html bool) ([]byte, [sha256.Size]byte, *os.File, error) {
	if f.size > l.cfg.MaxMemoryFile && !html {
		fh, sum, err := openLarge(f)
		return nil, sum, fh, err
	}
	data := j.index
	if f.rel != indexHTML || data == nil {
		var err error
		if data, err = readFile(f.abs, f.size); err != nil {
			return nil, [sha256.Size]byte{}, nil, fmt.Errorf("read %q: %w", f.rel, err)
		}
	}
	if html {
		data = l.cfg.TransformHTML(j.version, data)
	}
	return data, sha256.Sum256(data), nil, nil
}

func openLarge(f scannedFile) (*os.File, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	fh, err := os.Open(f.abs)
	if err != nil {
		return nil, sum, fmt.Errorf("open %q: %w", f.rel, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(fh, 0, f.size))
	if err == nil && n != f.size {
		err = errors.New("file changed while reading")
	}
	if err != nil {
		fh.Close()
		return nil, sum, fmt.Errorf("hash %q: %w", f.rel, err)
	}
	// The handle stays open for as long as a build refers to it; the
	// runtime closes it once the last snapshot holding it is collected,
	// so a request in flight never reads from a closed file.
	h.Sum(sum[:0])
	return fh, sum, nil
}

// progress logs how far a long load is, every few seconds, from a
// goroutine that stop ends and waits for.
type progress struct {
	files      atomic.Int64
	bytes      atomic.Int64
	totalFiles int
	totalBytes int64
	stopc      chan struct{}
	done       chan struct{}
}

func startProgress(log *zap.Logger, every time.Duration, version string, files []scannedFile) *progress {
	p := &progress{totalFiles: len(files), stopc: make(chan struct{}), done: make(chan struct{})}
	for _, f := range files {
		p.totalBytes += f.size
	}
	start := time.Now()
	line := func() {
		log.Info("loading build", zap.String("version", version),
			zap.Int64("files", p.files.Load()), zap.Int("files_total", p.totalFiles),
			zap.Int64("bytes", p.bytes.Load()), zap.Int64("bytes_total", p.totalBytes),
			zap.Duration("elapsed", time.Since(start)))
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		logged := false
		for {
			select {
			case <-p.stopc:
				if !logged && time.Since(start) >= every {
					line() // a load longer than every says so, however busy the machine
				}
				return
			case <-t.C:
				line()
				logged = true
			}
		}
	}()
	return p
}

func (p *progress) add(size int64) {
	p.files.Add(1)
	p.bytes.Add(size)
}

func (p *progress) stop() {
	close(p.stopc)
	<-p.done
}
