package main

import (
	"bytes"
	"errors"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// refuse answers a request fasthttp could not read (its ErrorHandler):
// a head over --max-header-bytes gets 431, or 414 when its request line
// alone does not fit (nginx: a request line over its buffer is 414); a
// head that never arrives whole in time 408; a body over fasthttp's limit
// 413; anything malformed 400. The answer is the status and its text:
// error text is for logs, never for clients. fasthttp closes the
// connection after it; unless the client was too slow, the connection
// lingers first, so the answer reaches the client (conn.go). Counted and
// logged as a bad request, untimed: the request may never have been read.
func (s *server) refuse(ctx *fasthttp.RequestCtx, err error) {
	tc, _ := ctx.Conn().(*timeoutConn)
	code := refusalStatus(err, tc != nil && tc.lineOpen)
	if tc != nil && code != fiber.StatusRequestTimeout {
		tc.linger = true
	}
	h := &ctx.Response.Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	writeStatusAnswer(ctx, code)
	s.finish(ctx, outBadRequest, time.Now())
}

// refusalStatus is the status for a request fasthttp could not read;
// lineOpen tells that its request line had not ended.
func refusalStatus(err error, lineOpen bool) int {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small) && lineOpen:
		return fiber.StatusRequestURITooLong
	case errors.As(err, &small):
		return fiber.StatusRequestHeaderFieldsTooLarge
	case errors.As(err, &ne) && ne.Timeout():
		return fiber.StatusRequestTimeout
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fiber.StatusRequestEntityTooLarge
	}
	return fiber.StatusBadRequest
}

// framingConflict reports a request that carries both Content-Length and
// Transfer-Encoding. RFC 9112 §6.3: such a message may be an attempt at
// request smuggling (a proxy in front may have framed it by the other
// field); the server must close the connection after answering it.
func framingConflict(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() == -2 {
		return false // neither field framed a body: nothing to look for
	}
	var cl, te bool
	for raw := h.RawHeaders(); len(raw) > 0; {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte("\n"))
		cl = cl || hasFieldName(line, "content-length")
		te = te || hasFieldName(line, "transfer-encoding")
	}
	return cl && te
}

// hasFieldName reports whether a header line is field name's (lower-case).
func hasFieldName(line []byte, name string) bool {
	return len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name))
}

// refuseFraming answers a request framed both ways with 400 and closes
// the connection (lingering: the body may still be arriving).
func (s *server) refuseFraming(ctx *fasthttp.RequestCtx) {
	if tc, ok := ctx.Conn().(*timeoutConn); ok {
		tc.linger = true
	}
	h := &ctx.Response.Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	writeStatusAnswer(ctx, fiber.StatusBadRequest)
	ctx.SetConnectionClose()
	s.finish(ctx, outBadRequest, ctx.Time())
}
