package main

import (
	"sync/atomic"

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

// fileHeaders are a content's response header values, formatted once when
// the content is loaded (the loader's Annotate hook) rather than on every
// request.
type fileHeaders struct {
	contentType  []byte
	lastModified []byte
	etag         [3][]byte // by manifest.Encoding

	// Whole response headers of a 200, by coding and by immutable (0 or
	// 1), made on first use: copying one into a response is a third of
	// the cost of adding its fields one by one, which fasthttp checks and
	// copies each time.
	full [3][2]atomic.Pointer[fasthttp.ResponseHeader]
}

// prepareHeaders is the loader's Annotate hook.
func prepareHeaders(c *manifest.Content) any {
	p := &fileHeaders{contentType: []byte(c.ContentType), lastModified: fasthttp.AppendHTTPDate(nil, c.ModTime)}
	for _, e := range []manifest.Encoding{manifest.Identity, manifest.Brotli, manifest.Gzip} {
		if r := c.Variant(e); r != nil {
			p.etag[e] = []byte(r.ETag)
		}
	}
	return p
}

// headersOf returns the prepared header values of c: every content the
// server holds is loaded with prepareHeaders as its Annotate hook.
func headersOf(c *manifest.Content) *fileHeaders { return c.Meta.(*fileHeaders) }

// setFileHeaders writes the headers every answer about f carries, 304s
// included: caching, validators, and Vary when the coding was negotiated.
// Each is added once to a fresh response, so no lookup of an existing
// value is needed.
func setFileHeaders(h *fasthttp.ResponseHeader, f *manifest.File, p *fileHeaders, enc manifest.Encoding, immutable bool) {
	if immutable {
		h.AddBytesKV(hdrCacheControl, valImmutable)
	} else {
		h.AddBytesKV(hdrCacheControl, valRevalidate)
	}
	if f.Brotli != nil || f.Gzip != nil {
		h.AddBytesKV(hdrVary, valAcceptEncoding)
	}
	h.AddBytesKV(hdrETag, p.etag[enc])
	h.AddBytesKV(hdrLastModified, p.lastModified)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
}

// setFullHeaders replaces whatever h held with the headers of a 200 with
// the whole representation of f in coding enc.
func setFullHeaders(h *fasthttp.ResponseHeader, f *manifest.File, p *fileHeaders, enc manifest.Encoding, immutable bool) {
	imm := 0
	if immutable {
		imm = 1
	}
	full := p.full[enc][imm].Load()
	if full == nil {
		full = new(fasthttp.ResponseHeader)
		full.DisableNormalizing()
		setFileHeaders(full, f, p, enc, immutable)
		setRepresentationHeaders(full, p, enc)
		p.full[enc][imm].Store(full) // a racing request may store its own: the same
	}
	full.CopyTo(h)
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
