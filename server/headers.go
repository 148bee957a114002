package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/skewless/skewless/manifest"
)

// Header names and fixed values, as bytes once, so the hot path appends
// them without converting strings.
var (
	hdrCacheControl    = []byte("Cache-Control")
	hdrVary            = []byte("Vary")
	hdrETag            = []byte("ETag")
	hdrLastModified    = []byte("Last-Modified")
	hdrNoSniff         = []byte("X-Content-Type-Options")
	hdrContentEncoding = []byte("Content-Encoding")
	hdrAcceptRanges    = []byte("Accept-Ranges")
	hdrVersion         = []byte("Skewless-Version")

	// Request header names as fasthttp stores them (it normalizes what
	// clients send), for PeekCanonical: Peek would copy and normalize the
	// name on every call.
	hdrRange           = []byte("Range")
	hdrAcceptEncoding  = []byte("Accept-Encoding")
	hdrIfNoneMatch     = []byte("If-None-Match")
	hdrIfModifiedSince = []byte("If-Modified-Since")
	hdrIfRange         = []byte("If-Range")

	valImmutable      = []byte(cacheImmutable)
	valRevalidate     = []byte(cacheRevalidate)
	valAcceptEncoding = []byte("Accept-Encoding")
	valNoSniff        = []byte("nosniff")
	valBytes          = []byte("bytes")
	valCodings        = [...][]byte{manifest.Brotli: []byte("br"), manifest.Gzip: []byte("gzip")}
)

// fileHeaders are the response header values of one file as one build
// serves it, formatted once rather than on every request.
type fileHeaders struct {
	// path is the file's own URL path in its build ("" for the helper).
	path         string
	contentType  []byte
	lastModified []byte
	// extra are the headers the build's _headers rules give the file.
	extra []manifest.Header
	// modTime is what Last-Modified says, for the conditional headers.
	modTime time.Time

	// Whole response headers of a 200, by coding and by immutable (0 or
	// 1), made on first use: copying one into a response is a third of
	// the cost of adding its fields one by one, which fasthttp checks and
	// copies each time. Each names the representation it was made for: a
	// better variant swapped in later gets a header set of its own.
	full [3][2]atomic.Pointer[preparedHeader]
}

type preparedHeader struct {
	rep *manifest.Representation
	h   fasthttp.ResponseHeader
}

// headerCache holds the fileHeaders of every file the last snapshot seen
// serves. They depend on the build's activation (Last-Modified), not only
// on the content, so the server owns them, per build and activation: the
// first request that sees a new snapshot makes the tables of the builds
// it activated, and reuses the others. Requests then only read.
type headerCache struct {
	cur atomic.Pointer[servedHeaders]

	mu     sync.Mutex // held while making tables
	types  map[string][]byte
	client atomic.Pointer[clientHeaders]
}

// servedHeaders are the tables of one snapshot: current build first.
type servedHeaders struct {
	snap   *manifest.Snapshot
	builds []*buildHeaders
}

type buildHeaders struct {
	build     *manifest.Build
	activated time.Time
	files     map[*manifest.File]*fileHeaders
}

type clientHeaders struct {
	content *manifest.Content
	p       *fileHeaders
}

// fileHeaders returns the header values of f as snap serves it.
func (s *server) fileHeaders(snap *manifest.Snapshot, f *manifest.File) *fileHeaders {
	sh := s.headers.cur.Load()
	if sh == nil || sh.snap != snap {
		sh = s.headers.prepare(snap, s.builds.Snapshot())
	}
	for _, b := range sh.builds {
		if p := b.files[f]; p != nil {
			return p
		}
	}
	if f.Content == s.client {
		return s.headers.clientHeaders(s.client)
	}
	// Not a file of snap: nothing resolves such a file; answer right,
	// if slowly.
	s.headers.mu.Lock()
	defer s.headers.mu.Unlock()
	return s.headers.newFileHeaders(f, time.Time{}, time.Now(), map[int64][]byte{})
}

// prepare makes the tables of snap, reusing those of the previous snapshot
// for builds whose activation has not changed. Only the tables of latest,
// the snapshot the registry publishes now, are kept: a request still on an
// older one during a switch gets its tables without replacing the newer
// ones (which the next request would otherwise build again).
func (hc *headerCache) prepare(snap, latest *manifest.Snapshot) *servedHeaders {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	prev := hc.cur.Load()
	if prev != nil && prev.snap == snap {
		return prev
	}
	sh := &servedHeaders{snap: snap}
	now := time.Now()
	builds := append([]*manifest.Build(nil), snap.Live...)
	if snap.Current != nil {
		builds = append([]*manifest.Build{snap.Current}, builds...)
	}
	for _, b := range builds {
		sh.builds = append(sh.builds, hc.buildTable(prev, b, snap.Activated(b.Version), now))
	}
	if snap == latest {
		hc.cur.Store(sh)
	}
	return sh
}

func (hc *headerCache) buildTable(prev *servedHeaders, b *manifest.Build, activated, now time.Time) *buildHeaders {
	if prev != nil {
		for _, t := range prev.builds {
			if t.build == b && t.activated.Equal(activated) {
				return t
			}
		}
	}
	t := &buildHeaders{build: b, activated: activated, files: make(map[*manifest.File]*fileHeaders, len(b.Files))}
	dates := map[int64][]byte{}
	for p, f := range b.Files {
		fh := hc.newFileHeaders(f, activated, now, dates)
		var ct string
		if ct, fh.extra = ruleHeaders(b, p); ct != "" {
			fh.contentType = []byte(ct)
		}
		fh.path = p
		t.files[f] = fh
	}
	return t
}

// lastModified is what a file says it was last modified: its time, never
// later than now, and for HTML and unhashed files never before their
// build last became current (cp -a, deploy and rollbacks keep or lower
// file times, and a cache revalidating by date alone must get the new
// file). A file dated in the future (or seconds ago) is dated two seconds
// back: fasthttp's Date lags the clock by up to a second, and
// Last-Modified must not be later than Date (RFC 9110 §8.8.2.1). The
// activation wins over that margin: in the second after it, a Date that
// has not caught up yet is a lesser harm than a 304 for a changed page.
func lastModified(f *manifest.File, activated, now time.Time) time.Time {
	t := f.ModTime
	if limit := now.Add(-2 * time.Second); t.After(limit) {
		t = limit
	}
	if !f.Hashed && activated.After(t) {
		t = activated
		if t.After(now) {
			t = now // a state file written by a clock ahead of ours
		}
	}
	return t.Truncate(time.Second)
}

// newFileHeaders formats f's values; dates shares the formatted dates of
// one table.
func (hc *headerCache) newFileHeaders(f *manifest.File, activated, now time.Time, dates map[int64][]byte) *fileHeaders {
	lm := lastModified(f, activated, now)
	date, ok := dates[lm.Unix()]
	if !ok {
		date = fasthttp.AppendHTTPDate(nil, lm)
		dates[lm.Unix()] = date
	}
	return &fileHeaders{contentType: hc.typeBytes(f.ContentType), lastModified: date, modTime: lm}
}

func (hc *headerCache) typeBytes(t string) []byte {
	if hc.types == nil {
		hc.types = map[string][]byte{}
	}
	b, ok := hc.types[t]
	if !ok {
		b = []byte(t)
		hc.types[t] = b
	}
	return b
}

// clientHeaders returns the helper script's values, made once: it changes
// with the binary, so its date is when this process prepared it.
func (hc *headerCache) clientHeaders(c *manifest.Content) *fileHeaders {
	if ch := hc.client.Load(); ch != nil && ch.content == c {
		return ch.p
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	p := hc.newFileHeaders(&manifest.File{Content: c}, time.Time{}, time.Now(), map[int64][]byte{})
	hc.client.Store(&clientHeaders{content: c, p: p})
	return p
}

// setFileHeaders writes the headers every answer about f carries, 304s
// included: caching, validators, and Vary when the coding is negotiated.
// Vary depends on the content only, never on which variants exist yet, so
// a cache sees the same Vary before and after a variant arrives. Each is
// added once to a fresh response, so no lookup of an existing value is
// needed.
func setFileHeaders(h *fasthttp.ResponseHeader, f *manifest.File, p *fileHeaders, rep *manifest.Representation, immutable bool) {
	if immutable {
		h.AddBytesKV(hdrCacheControl, valImmutable)
	} else {
		h.AddBytesKV(hdrCacheControl, valRevalidate)
	}
	if f.Negotiated {
		h.AddBytesKV(hdrVary, valAcceptEncoding)
	}
	h.AddBytesKV(hdrETag, utils.UnsafeBytes(rep.ETag))
	h.AddBytesKV(hdrLastModified, p.lastModified)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
	addRuleHeaders(h, p.extra)
}

// setFullHeaders replaces whatever h held with the headers of a 200 with
// the whole representation rep of f.
func setFullHeaders(h *fasthttp.ResponseHeader, f *manifest.File, p *fileHeaders, rep *manifest.Representation, immutable bool) {
	imm := 0
	if immutable {
		imm = 1
	}
	slot := &p.full[rep.Encoding][imm]
	full := slot.Load()
	if full == nil || full.rep != rep {
		full = &preparedHeader{rep: rep}
		full.h.DisableNormalizing()
		setFileHeaders(&full.h, f, p, rep, immutable)
		setRepresentationHeaders(&full.h, p, rep.Encoding)
		slot.Store(full) // a racing request may store its own: the same
	}
	full.h.CopyTo(h)
}

// setVersion adds Skewless-Version: v, unless no build is current.
func setVersion(h *fasthttp.ResponseHeader, v string) {
	if v != "" {
		h.AddBytesKV(hdrVersion, utils.UnsafeBytes(v))
	}
}

// setRepresentationHeaders writes what a response with a body of f in
// coding enc says about it: its type and coding, and that ranges (of the
// identity bytes) are served.
func setRepresentationHeaders(h *fasthttp.ResponseHeader, p *fileHeaders, enc manifest.Encoding) {
	h.SetContentTypeBytes(p.contentType)
	if enc != manifest.Identity {
		h.AddBytesKV(hdrContentEncoding, valCodings[enc])
	} else {
		h.AddBytesKV(hdrAcceptRanges, valBytes)
	}
}
