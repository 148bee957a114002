package main

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/skewless/skewless/manifest"
)

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	cacheNever      = "no-store"
)

var valNever = []byte(cacheNever)

// writeFile sends f (or a 304/206/412/416 for it) with the caching
// headers the contract gives hashed and unhashed files, and reports
// whether the answer may be cached for long (an immutable file, whole, in
// part or not modified), which then carries no Skewless-Version. Bytes were
// prepared at load, header values when the snapshot was first seen:
// nothing here reads the disk for an in-memory file, compresses or formats
// a date.
func (s *server) writeFile(c *fiber.Ctx, snap *manifest.Snapshot, f *manifest.File, out outcome) (outcome, bool) {
	req, h := &c.Request().Header, &c.Response().Header
	rangeHdr := req.PeekCanonical(hdrRange)
	enc := manifest.Identity
	// One read of the variants: the coding, ETag and body all come from it
	// even if better variants are swapped in meanwhile.
	vs := f.Variants()
	// A range is of the identity bytes: clients resume downloads against
	// the length they saw, whatever the coding.
	if vs.Compressed() && len(rangeHdr) == 0 {
		enc = negotiate(req.PeekCanonical(hdrAcceptEncoding), vs.Brotli != nil, vs.Gzip != nil)
	}
	rep := vs.Get(enc)
	p := s.fileHeaders(snap, f)
	immutable := f.Hashed && out == outServed
	switch checkPreconditions((*fasthttpFields)(req), len(rangeHdr) > 0, rep.ETag, p.modTime) {
	case precondFailed:
		return s.writeStatus(c, fiber.StatusPreconditionFailed, outPrecondFail), false
	case precondNotModified:
		setFileHeaders(h, f, p, rep, immutable)
		c.Status(fiber.StatusNotModified)
		return outNotModified, immutable
	case precondIgnoreRange:
		rangeHdr = nil
	}
	// A Range is answered as RFC 9110 §14.2 allows: 206, 416, or the whole
	// file for a range it ignores.
	res := rangeIgnore
	var start, n int64
	if len(rangeHdr) > 0 {
		start, n, res = parseRange(utils.UnsafeString(rangeHdr), rep.Size)
	}
	switch res {
	case rangeUnsatisfiable:
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(rep.Size, 10))
		return s.writeStatus(c, fiber.StatusRequestedRangeNotSatisfiable, out), false
	case rangeSatisfiable:
		setFileHeaders(h, f, p, rep, immutable)
		setRepresentationHeaders(h, p, enc)
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(rep.Size, 10))
		c.Status(fiber.StatusPartialContent)
		writeBody(c, rep, start, n)
		return out, immutable
	}
	setFullHeaders(h, f, p, rep, immutable)
	writeBody(c, rep, 0, rep.Size)
	return out, immutable
}

// writeBody hands the prepared bytes to fasthttp without copying them, or
// streams a file-backed representation.
func writeBody(c *fiber.Ctx, rep *manifest.Representation, start, n int64) {
	resp := c.Response()
	if c.Request().Header.IsHead() {
		resp.SkipBody = true
		resp.Header.SetContentLength(int(n))
		return
	}
	if b := rep.Bytes(); b != nil {
		resp.SetBodyRaw(b[start : start+n])
		return
	}
	resp.SetBodyStream(rep.Reader(start, n), int(n))
}

// writeStatus sends a bodyless-in-spirit answer: the status and its text,
// never cached (a 404 today may be a file after the next deploy).
func (s *server) writeStatus(c *fiber.Ctx, code int, out outcome) outcome {
	writeStatusAnswer(c.Context(), code)
	return out
}

// writeStatusAnswer is writeStatus for answers made outside Fiber's
// handler: the status, its text (no body for HEAD), no-store and nosniff.
func writeStatusAnswer(ctx *fasthttp.RequestCtx, code int) {
	h := &ctx.Response.Header
	h.AddBytesKV(hdrCacheControl, valNever)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
	h.SetContentType("text/plain; charset=utf-8")
	ctx.SetStatusCode(code)
	body := statusBody(code)
	if ctx.Request.Header.IsHead() {
		ctx.Response.SkipBody = true
		h.SetContentLength(len(body))
		return
	}
	ctx.Response.SetBodyString(body)
}

// statusBodies are the short bodies of the statuses writeStatus sends,
// made once: 404s for missing chunks can be frequent.
var statusBodies = func() map[int]string {
	m := map[int]string{}
	for _, code := range []int{400, 404, 405, 412, 416, 500, 503} {
		m[code] = utils.StatusMessage(code) + "\n"
	}
	return m
}()

func statusBody(code int) string {
	if b, ok := statusBodies[code]; ok {
		return b
	}
	return utils.StatusMessage(code) + "\n"
}
