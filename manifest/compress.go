package manifest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"os"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// A compressed variant is kept only when it saves at least this share of
// the identity size; otherwise clients are better off with identity.
const minSavingPercent = 5

// minCompressSize: below this, a coding's own overhead eats the saving.
const minCompressSize = 128

// compressPolicy names the codings compressFinal makes (brotli quality by
// size, window, gzip level, minimum saving). Cached variants are stored
// under it, so a change of policy never serves an older policy's bytes as
// if they were the new ones.
const compressPolicy = "b11w-g9-s5"

// negotiable reports whether a content of this type and identity gets
// compressed variants of its own (when the build has no siblings).
func negotiable(compressible bool, id *Representation) bool {
	return compressible && id.data != nil && len(id.data) >= minCompressSize
}

// siblingVariants returns the build's own x.br/x.gz for f as variants, or
// nil when it has neither. They are used as they are: the build's author
// chose them, and a lone .gz means no brotli.
func (l *Loader) siblingVariants(s *scan, f scannedFile, hash string, id *Representation) (*Variants, error) {
	v := &Variants{Identity: id, Final: true}
	for _, sib := range []struct {
		ext string
		enc Encoding
		dst **Representation
	}{{".br", Brotli, &v.Brotli}, {".gz", Gzip, &v.Gzip}} {
		sf, ok := s.files[f.rel+sib.ext]
		if !ok {
			continue
		}
		r, err := l.readSibling(sf, hash, sib.enc)
		if err != nil {
			return nil, err
		}
		*sib.dst = r
	}
	if !v.Compressed() {
		return nil, nil
	}
	return v, nil
}

func (l *Loader) readSibling(sib scannedFile, hash string, enc Encoding) (*Representation, error) {
	if sib.size > l.cfg.MaxMemoryFile {
		fh, err := os.Open(sib.abs)
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", sib.rel, err)
		}
		// Closed by the runtime once no build refers to it (see openLarge).
		return &Representation{Encoding: enc, ETag: etag(hash, enc), Size: sib.size, file: fh}, nil
	}
	data, err := os.ReadFile(sib.abs)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", sib.rel, err)
	}
	return &Representation{Encoding: enc, ETag: etag(hash, enc), Size: int64(len(data)), data: data}, nil
}

// variant wraps compressed bytes as a representation, or returns nil when
// they do not save enough.
func variant(hash string, enc Encoding, data []byte, identitySize int) *Representation {
	if data == nil || len(data)*100 > identitySize*(100-minSavingPercent) {
		return nil
	}
	return &Representation{Encoding: enc, ETag: etag(hash, enc), Size: int64(len(data)), data: data}
}

// fastGzippers are reused: a gzip writer's tables cost more to allocate
// than compressing a small file at level 1 does.
var fastGzippers = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// fastGzip compresses at gzip level 1: ~70 MB/s per core on the small
// files SPAs are made of, and never the pathological slowness of level 9
// (1.5 MB/s on some inputs), so a build goes live with a compressed
// variant already while the best ones are made in the background.
func fastGzip(hash string, data []byte) *Representation {
	var buf bytes.Buffer
	buf.Grow(len(data)/2 + 64)
	w := fastGzippers.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, err := w.Write(data)
	if err == nil {
		err = w.Close()
	}
	fastGzippers.Put(w)
	r := variant(hash, Gzip, bytes.Clone(buf.Bytes()), len(data))
	if err != nil || r == nil {
		return nil
	}
	r.ETag = `"` + hash + fastGzipSuffix + `"`
	return r
}

// brotliQuality trades time for size: the best quality for the files SPAs
// are made of, a faster one for the rare multi-megabyte bundle.
func brotliQuality(n int) int {
	if n <= 1<<20 {
		return brotli.BestCompression
	}
	return 7
}

// brotliWindow fits the sliding window to the file: a window larger than
// the input compresses no better, and at quality 11 its hash tables cost
// more than the compression itself (megabytes cleared per small file).
func brotliWindow(n int) int {
	return min(max(bits.Len(uint(n)), 10), 24)
}

// compressChunk is how much input the compressors take between two
// checkpoints (cancellation, and a pause while a build loads).
const compressChunk = 64 << 10

// feed writes data to w in chunks, calling checkpoint before each.
func feed(w interface{ Write([]byte) (int, error) }, data []byte, checkpoint func() error) error {
	for len(data) > 0 {
		if err := checkpoint(); err != nil {
			return err
		}
		n := min(len(data), compressChunk)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func compressBrotli(data []byte, checkpoint func() error) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: brotliQuality(len(data)), LGWin: brotliWindow(len(data))})
	if err := feed(w, data, checkpoint); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

func compressGzip(data []byte, checkpoint func() error) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := feed(w, data, checkpoint); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// compressFinal makes the best brotli and gzip of data (nil for a coding
// that does not save enough).
func compressFinal(data []byte, checkpoint func() error) (br, gz []byte, err error) {
	br, err = compressBrotli(data, checkpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("brotli: %w", err)
	}
	gz, err = compressGzip(data, checkpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("gzip: %w", err)
	}
	return keepIfSmaller(br, len(data)), keepIfSmaller(gz, len(data)), nil
}

func keepIfSmaller(b []byte, identitySize int) []byte {
	if len(b)*100 > identitySize*(100-minSavingPercent) {
		return nil
	}
	return b
}

// finalVariants wraps compressFinal's output for content c.
func finalVariants(c *Content, br, gz []byte) *Variants {
	n := int(c.Identity.Size)
	return &Variants{Identity: c.Identity, Brotli: variant(c.Hash, Brotli, br, n), Gzip: variant(c.Hash, Gzip, gz, n), Final: true}
}

// NewContent prepares bytes that do not come from a build (the server's
// own helper script) as a build file's content is prepared, with its best
// variants made at once: it is small and made once per process.
func NewContent(name string, data []byte, modTime time.Time) (*Content, error) {
	mt := typeOf(name)
	c := newContent(mt, modTime, sha256.Sum256(data), int64(len(data)), data, nil)
	if !negotiable(mt.compressible, c.Identity) {
		return c, nil
	}
	c.Negotiated = true
	br, gz, err := compressFinal(data, noCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("compress %s: %w", name, err)
	}
	c.variants.Store(finalVariants(c, br, gz))
	return c, nil
}

// newContent makes a content whose only representation so far is the
// identity (in memory, or behind file).
func newContent(mt mediaType, modTime time.Time, sum [sha256.Size]byte, size int64, data []byte, file *os.File) *Content {
	hash := contentHash(sum)
	c := &Content{ContentType: mt.contentType, Compressible: mt.compressible, ModTime: modTime, Hash: hash, sum: sum,
		Identity: &Representation{Encoding: Identity, ETag: etag(hash, Identity), Size: size, data: data, file: file}}
	c.variants.Store(&Variants{Identity: c.Identity, Final: true})
	return c
}

// noCheckpoint is the checkpoint of work nothing pauses or cancels.
func noCheckpoint() error { return nil }
