package main

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/skewless/skewless/manifest"
)

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	cacheNever      = "no-store"
)

// writeFile sends f (or a 304/206/416 for it) with the caching headers the
// contract gives hashed and unhashed files. Bytes were prepared at load,
// header values when the snapshot was first seen: nothing here reads the
// disk for an in-memory file, compresses or formats a date.
func (s *server) writeFile(c *fiber.Ctx, snap *manifest.Snapshot, f *manifest.File, out outcome) outcome {
	req, h := &c.Request().Header, &c.Response().Header
	rangeHdr := utils.UnsafeString(req.PeekCanonical(hdrRange))
	enc := manifest.Identity
	// One read of the variants: the coding, ETag and body all come from it
	// even if better variants are swapped in meanwhile.
	vs := f.Variants()
	// A range is of the identity bytes: clients resume downloads against
	// the length they saw, whatever the coding.
	if vs.Compressed() && rangeHdr == "" {
		enc = negotiate(req.PeekCanonical(hdrAcceptEncoding), vs.Brotli != nil, vs.Gzip != nil)
	}
	rep := vs.Get(enc)
	p := s.fileHeaders(snap, f)
	immutable := f.Hashed && out == outServed
	inm := checkIfNoneMatch(utils.UnsafeString(req.PeekCanonical(hdrIfNoneMatch)), f.Content)
	if inm == condFalse || (inm == condNone && checkIfModifiedSince(utils.UnsafeString(req.PeekCanonical(hdrIfModifiedSince)), p.modTime) == condFalse) {
		setFileHeaders(h, f, p, rep, immutable)
		c.Status(fiber.StatusNotModified)
		return outNotModified
	}
	// A Range is honoured only when If-Range (if any) still holds, and
	// answered as RFC 9110 §14.2 allows: 206, 416, or the whole file for a
	// range it ignores.
	res := rangeIgnore
	var start, n int64
	if rangeHdr != "" && checkIfRange(utils.UnsafeString(req.PeekCanonical(hdrIfRange)), rep, p.modTime) {
		start, n, res = parseRange(rangeHdr, rep.Size)
	}
	switch res {
	case rangeUnsatisfiable:
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(rep.Size, 10))
		return s.writeStatus(c, fiber.StatusRequestedRangeNotSatisfiable, out)
	case rangeSatisfiable:
		setFileHeaders(h, f, p, rep, immutable)
		setRepresentationHeaders(h, p, enc)
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(rep.Size, 10))
		c.Status(fiber.StatusPartialContent)
		writeBody(c, rep, start, n)
		return out
	}
	setFullHeaders(h, f, p, rep, immutable)
	writeBody(c, rep, 0, rep.Size)
	return out
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
	h := &c.Response().Header
	h.Set("Cache-Control", cacheNever)
	h.SetContentType("text/plain; charset=utf-8")
	c.Status(code)
	body := statusBody(code)
	if c.Request().Header.IsHead() {
		c.Response().SkipBody = true
		h.SetContentLength(len(body))
		return out
	}
	c.Response().SetBodyString(body)
	return out
}

// statusBodies are the short bodies of the statuses writeStatus sends,
// made once: 404s for missing chunks can be frequent.
var statusBodies = func() map[int]string {
	m := map[int]string{}
	for _, code := range []int{400, 404, 405, 416, 500, 503} {
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
