package main

import (
	"github.com/gofiber/fiber/v2"

	"github.com/skewless/skewless/manifest"
)

// writeNotFoundPage answers a document navigation to a missing page with
// the build's 404.html and status 404, as the static hosting guides of
// Next.js, Nuxt and Astro have their hosts do. Like every 404 it is
// no-store: the page may exist after the next deploy. It carries no
// validators, so no cache revalidates an error into a 304.
func writeNotFoundPage(c *fiber.Ctx, f *manifest.File, out outcome) outcome {
	req, h := &c.Request().Header, &c.Response().Header
	vs := f.Variants()
	enc := negotiate(req.PeekCanonical(hdrAcceptEncoding), vs.Brotli != nil, vs.Gzip != nil)
	rep := vs.Get(enc)
	h.Set(fiber.HeaderCacheControl, cacheNever)
	h.SetContentType(f.ContentType)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
	if f.Negotiated {
		h.AddBytesKV(hdrVary, valAcceptEncoding)
	}
	if enc != manifest.Identity {
		h.AddBytesKV(hdrContentEncoding, valCodings[enc])
	}
	c.Status(fiber.StatusNotFound)
	writeBody(c, rep, 0, rep.Size)
	return out
}
