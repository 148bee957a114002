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

// writeFile sends f (or a 304/206/416 for it) with the caching headers the
// contract gives hashed and unhashed files. Bytes were prepared at load;
// nothing here reads the disk for an in-memory file or compresses.
func (s *server) writeFile(c *fiber.Ctx, f *manifest.File, out outcome) outcome {
	req, h := &c.Request().Header, &c.Response().Header
	if f.Hashed && out == outServed {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheRevalidate)
	}
	rangeHdr := utils.UnsafeString(req.Peek("Range"))
	enc := manifest.Identity
	if f.Brotli != nil || f.Gzip != nil {
		h.Set("Vary", "Accept-Encoding")
		// A range is of the identity bytes: clients resume downloads
		// against the length they saw, whatever the coding.
		if rangeHdr == "" {
			enc = negotiate(req.Peek("Accept-Encoding"), f.Brotli != nil, f.Gzip != nil)
		}
	}
	rep := f.Variant(enc)
	h.Set("ETag", rep.ETag)
	var lm [len(timeFormat)]byte
	h.SetBytesV("Last-Modified", fasthttp.AppendHTTPDate(lm[:0], f.ModTime))
	h.Set("X-Content-Type-Options", "nosniff")

	inm := checkIfNoneMatch(utils.UnsafeString(req.Peek("If-None-Match")), f.Content)
	if inm == condFalse || (inm == condNone && checkIfModifiedSince(utils.UnsafeString(req.Peek("If-Modified-Since")), f.ModTime) == condFalse) {
		c.Status(fiber.StatusNotModified)
		return outNotModified
	}
	h.SetContentType(f.ContentType)
	if enc != manifest.Identity {
		h.Set("Content-Encoding", enc.Token())
	} else {
		h.Set("Accept-Ranges", "bytes")
	}
	start, n, status := int64(0), rep.Size, fiber.StatusOK
	if rangeHdr != "" && checkIfRange(utils.UnsafeString(req.Peek("If-Range")), rep, f.ModTime) {
		var res rangeResult
		if start, n, res = parseRange(rangeHdr, rep.Size); res == rangeUnsatisfiable {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(rep.Size, 10))
			h.Del("ETag")
			return s.writeStatus(c, fiber.StatusRequestedRangeNotSatisfiable, out)
		} else if res == rangeSatisfiable {
			status = fiber.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(rep.Size, 10))
		} else {
			start, n = 0, rep.Size
		}
	}
	c.Status(status)
	writeBody(c, rep, start, n)
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
	body := utils.StatusMessage(code) + "\n"
	if c.Request().Header.IsHead() {
		c.Response().SkipBody = true
		h.SetContentLength(len(body))
		return out
	}
	c.Response().SetBodyString(body)
	return out
}
