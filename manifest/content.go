package manifest

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"sync/atomic"
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
	// ETag is a strong entity tag, quoted; it differs per encoding, and
	// between a fast interim coding and the final one, as RFC 9110 §8.8.3
	// requires of strong validators.
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

// Content is a file's content prepared for serving, shared by every build
// whose file has the same bytes (the same SHA-256) and type, so a deploy
// that changes three files costs three files of work.
//
// Everything but its compressed variants is fixed when it is made. The
// variants are one immutable Variants value behind an atomic pointer: a
// build goes live with what was quick to make, and the best codings are
// swapped in whole once the background has made them. A request reads the
// set once (Variants) and answers from that one value, so its coding,
// ETag and body always agree.
type Content struct {
	ContentType  string
	Compressible bool
	// Negotiated is true when responses depend on Accept-Encoding: the
	// content has compressed variants or will have them. It never
	// changes, so Vary does not either when a variant arrives.
	Negotiated bool
	// ModTime is the file's modification time, never later than the
	// moment it was loaded.
	ModTime time.Time
	// Hash is the base64url SHA-256 prefix of the identity bytes.
	Hash string
	// Identity is always present.
	Identity *Representation

	sum      [sha256.Size]byte
	variants atomic.Pointer[Variants]
}

// Variants are a content's representations at one moment. A value is never
// changed; a better set replaces it whole.
type Variants struct {
	Identity *Representation
	// Brotli and Gzip are present when smaller than the identity.
	Brotli *Representation
	Gzip   *Representation
	// Final is true when no better set will follow.
	Final bool
}

// Variants returns the content's current representations. Never nil.
func (c *Content) Variants() *Variants {
	if v := c.variants.Load(); v != nil {
		return v
	}
	return &Variants{Identity: c.Identity, Final: true}
}

// Variant returns the representation for e now, or nil when there is none.
func (c *Content) Variant(e Encoding) *Representation { return c.Variants().Get(e) }

// Get returns the representation for e, or nil when there is none.
func (v *Variants) Get(e Encoding) *Representation {
	switch e {
	case Brotli:
		return v.Brotli
	case Gzip:
		return v.Gzip
	}
	return v.Identity
}

// Compressed reports whether any compressed representation is present.
func (v *Variants) Compressed() bool { return v.Brotli != nil || v.Gzip != nil }

// MatchesETag reports whether tag (an entity tag as a client sent it,
// quoted, possibly W/-prefixed) names any representation this content has
// had. All of them decode to the same bytes, so a cache that holds one may
// revalidate it whatever coding the request negotiates now.
func (c *Content) MatchesETag(tag string) bool {
	if len(tag) > 2 && tag[0] == 'W' && tag[1] == '/' {
		tag = tag[2:]
	}
	if len(tag) < 2+len(c.Hash) || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return false
	}
	inner := tag[1 : len(tag)-1]
	if inner[:len(c.Hash)] != c.Hash {
		return false
	}
	switch inner[len(c.Hash):] {
	case "", ".br", ".gz", fastGzipSuffix:
		return true
	}
	return false
}

// File is one URL path of a build.
type File struct {
	*Content
	// Hashed files are immutable: their name or a build manifest ties
	// them to their content.
	Hashed bool
}

func contentHash(sum [sha256.Size]byte) string {
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// fastGzipSuffix tags the interim gzip made at load: its bytes differ from
// the final gzip's, so its strong ETag must too.
const fastGzipSuffix = ".gz1"

func etag(hash string, e Encoding) string {
	switch e {
	case Brotli:
		return `"` + hash + `.br"`
	case Gzip:
		return `"` + hash + `.gz"`
	}
	return `"` + hash + `"`
}
