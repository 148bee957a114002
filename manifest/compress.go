package manifest

import (
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// A compressed variant is kept only when it saves at least this share of
// the identity size; otherwise clients are better off with identity.
const minSavingPercent = 5

// prepareVariants fills c's Brotli and Gzip representations, once per
// content: from the build's own x.br/x.gz siblings when present, otherwise
// by compressing the bytes in memory. Nothing is ever written to the build.
// HTML rewritten at load ignores siblings: they hold the old bytes.
func (l *Loader) prepareVariants(c *Content, s *scan, f scannedFile, transformed bool) error {
	if !transformed {
		for _, v := range []struct {
			ext string
			enc Encoding
			dst **Representation
		}{{".br", Brotli, &c.Brotli}, {".gz", Gzip, &c.Gzip}} {
			sib, ok := s.files[f.rel+v.ext]
			if !ok {
				continue
			}
			r, err := l.readSibling(sib, c.Hash, v.enc)
			if err != nil {
				return err
			}
			*v.dst = r
		}
		if c.Brotli != nil || c.Gzip != nil {
			return nil
		}
	}
	data := c.Identity.Bytes()
	if !c.Compressible || data == nil || len(data) < 128 {
		return nil
	}
	br, err := compressBrotli(data)
	if err != nil {
		return fmt.Errorf("brotli %q: %w", f.rel, err)
	}
	gz, err := compressGzip(data)
	if err != nil {
		return fmt.Errorf("gzip %q: %w", f.rel, err)
	}
	c.Brotli = variant(c.Hash, Brotli, br, len(data))
	c.Gzip = variant(c.Hash, Gzip, gz, len(data))
	return nil
}

func (l *Loader) readSibling(sib scannedFile, hash string, enc Encoding) (*Representation, error) {
	if sib.size > l.cfg.MaxMemoryFile {
		r, _, err := openLarge(sib)
		if err != nil {
			return nil, err
		}
		r.Encoding, r.ETag = enc, etag(hash, enc)
		return r, nil
	}
	data, err := os.ReadFile(sib.abs)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", sib.rel, err)
	}
	return &Representation{Encoding: enc, ETag: etag(hash, enc), Size: int64(len(data)), data: data}, nil
}

func variant(hash string, enc Encoding, data []byte, identitySize int) *Representation {
	if len(data)*100 > identitySize*(100-minSavingPercent) {
		return nil
	}
	return &Representation{Encoding: enc, ETag: etag(hash, enc), Size: int64(len(data)), data: data}
}

// brotliQuality trades load time for size: the best quality for the files
// SPAs are made of, a faster one for the rare multi-megabyte bundle.
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

func compressBrotli(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: brotliQuality(len(data)), LGWin: brotliWindow(len(data))})
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

func compressGzip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// NewContent prepares bytes that do not come from a build (the server's
// own helper script) the way the loader prepares a build file, annotate
// included.
func NewContent(name string, data []byte, modTime time.Time, annotate func(*Content) any) (*Content, error) {
	h := newHasher()
	_, _ = h.Write(data)
	hash := contentHash(h.Sum(nil))
	mt := typeOf(name)
	c := &Content{ContentType: mt.contentType, Compressible: mt.compressible, ModTime: modTime, Hash: hash,
		Identity: &Representation{Encoding: Identity, ETag: etag(hash, Identity), Size: int64(len(data)), data: data}}
	l := NewLoader(LoaderConfig{})
	if err := l.prepareVariants(c, &scan{files: map[string]scannedFile{}}, scannedFile{rel: name}, true); err != nil {
		return nil, err
	}
	if annotate != nil {
		c.Meta = annotate(c)
	}
	return c, nil
}
