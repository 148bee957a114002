package manifest

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"time"
)

// Encoding names a content coding a representation is stored in.
type Encoding uint8

// The codings the loader prepares, in order of preference.
const (
	Identity Encoding = iota
	Brotli
	Gzip
)

// Token is the coding's name as used in Accept-Encoding/Content-Encoding.
func (e Encoding) Token() string {
	switch e {
	case Brotli:
		return "br"
	case Gzip:
		return "gzip"
	}
	return "identity"
}

// Representation is one encoding of a file's content, ready to write: the
// bytes in memory or, for files over Config.MaxMemoryFile, an open handle.
type Representation struct {
	Encoding Encoding
	// ETag is a strong entity tag, quoted; it differs per encoding, as
	// RFC 9110 §8.8.3 requires of strong validators.
	ETag string
	Size int64
	data []byte
	file *os.File
}

// Bytes returns the representation's bytes, or nil when it is backed by a
// file handle (use Reader then). The slice must not be modified.
func (r *Representation) Bytes() []byte { return r.data }

// Reader returns a reader over n bytes from offset off. Safe for concurrent
// use: file-backed representations read with ReadAt.
func (r *Representation) Reader(off, n int64) io.Reader {
	if r.file == nil {
		return &byteSection{b: r.data[off : off+n]}
	}
	return io.NewSectionReader(r.file, off, n)
}

type byteSection struct{ b []byte }

func (s *byteSection) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// Content is a file's content prepared for serving. It is immutable once
// built and shared by every build whose file has the same content, so a
// deploy that changes three files costs three files of work.
type Content struct {
	ContentType  string
	Compressible bool
	ModTime      time.Time
	// Hash is the base64url SHA-256 prefix of the identity bytes.
	Hash string
	// Identity is always present; Brotli and Gzip only when they are
	// smaller than it (a build's own siblings, or compressed at load).
	Identity *Representation
	Brotli   *Representation
	Gzip     *Representation
	// Meta is what LoaderConfig.Annotate computed for this content.
	Meta any
}

// Variant returns the representation for e, or nil when there is none.
func (c *Content) Variant(e Encoding) *Representation {
	switch e {
	case Brotli:
		return c.Brotli
	case Gzip:
		return c.Gzip
	}
	return c.Identity
}

// File is one URL path of a build.
type File struct {
	*Content
	// Hashed files are immutable: their name or a build manifest ties
	// them to their content.
	Hashed bool
}

func contentHash(h []byte) string {
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

func newHasher() interface {
	io.Writer
	Sum([]byte) []byte
} {
	return sha256.New()
}

func etag(hash string, e Encoding) string {
	switch e {
	case Brotli:
		return `"` + hash + `.br"`
	case Gzip:
		return `"` + hash + `.gz"`
	}
	return `"` + hash + `"`
}
