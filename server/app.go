package main

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

// snapshotSource is where the server reads what to serve.
type snapshotSource interface {
	Snapshot() *manifest.Snapshot
}

// server answers HTTP requests from the current snapshot.
type server struct {
	cfg     serveConfig
	builds  snapshotSource
	log     *zap.Logger
	access  *accessLog        // nil: no access lines
	client  *manifest.Content // /_skewless/client.js, prepared at start
	events  *hub
	metrics *metrics
	bodies  atomic.Pointer[snapshotBodies] // /_skewless/ JSON of the last snapshot asked about
	cluster *manifest.RedisStore           // cluster mode's store (nil: not a cluster)
	headers headerCache                    // response header values of the files served
}

const reservedPrefix = "/_skewless/"

// readBufferSize bounds a request head: up to 8 KiB, nginx's usual limit
// for a header line, and a larger one gets 431. Each open connection holds
// this buffer, event streams included.
const readBufferSize = 8 << 10

// newApp returns the Fiber app. One handler serves everything: the
// resolution order is the contract's, not a router's, and it reads the
// snapshot once per request so a response never mixes two builds.
func newApp(s *server) *fiber.App {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		// No ReadTimeout or IdleTimeout: timeoutListener bounds the wait
		// for a request at less cost (conn.go).
		ReadBufferSize: readBufferSize,
		// Large enough for the head and body of a typical chunk to leave in
		// one write: with fasthttp's 4 KiB, a 10 KB asset took two syscalls.
		// Event streams give this buffer back (events.go).
		WriteBufferSize: 32 << 10,
	})
	app.Server().Logger = zap.NewStdLog(s.log.Named("fasthttp"))
	app.Use(s.handle)
	// Fiber answers a method it does not know ("FOO", "PROPFIND") with a
	// 400 of its own before any handler runs; the contract wants 405 for
	// every method but GET and HEAD, so those are answered first.
	fiberHandler := app.Server().Handler
	app.Server().Handler = func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			s.methodNotAllowed(ctx)
			return
		}
		fiberHandler(ctx)
	}
	return app
}

// methodNotAllowed answers 405 with Allow: GET, HEAD.
func (s *server) methodNotAllowed(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	h.Set("Allow", "GET, HEAD")
	h.Set("Cache-Control", cacheNever)
	h.SetContentType("text/plain; charset=utf-8")
	ctx.SetStatusCode(fiber.StatusMethodNotAllowed)
	ctx.SetBodyString(statusBody(fiber.StatusMethodNotAllowed))
	s.finish(ctx, outNotAllowed, ctx.Time())
}

func (s *server) handle(c *fiber.Ctx) error {
	snap := s.builds.Snapshot()
	h := &c.Response().Header
	h.DisableNormalizing() // keep "ETag" spelled as RFC 9110 does
	// The reserved prefix is checked on the decoded path, the one files are
	// looked up by: "//_skewless/version" and "/_skewless%2Fversion" are
	// the endpoint too, never a build's file or the SPA fallback.
	var out outcome
	switch p, ok := decodePath(utils.UnsafeString(c.Request().URI().PathOriginal())); {
	case !ok:
		out = s.writeStatus(c, fiber.StatusBadRequest, outBadRequest)
	case strings.HasPrefix(p, reservedPrefix):
		out = s.endpoint(c, snap, p)
	default:
		out = s.asset(c, snap, p)
	}
	// Last: a prepared header set copied into the response replaces all.
	setVersion(h, snap.Version())
	s.finish(c.Context(), out, c.Context().Time())
	return nil
}

// finish counts the answer in the metrics and writes its access line,
// timed from start.
func (s *server) finish(ctx *fasthttp.RequestCtx, out outcome, start time.Time) {
	bytes := bodyBytes(&ctx.Response)
	s.metrics.count(out, sentEncoding(&ctx.Response.Header), bytes)
	if s.access != nil {
		s.access.write(ctx.Request.Header.Method(), ctx.Request.URI().PathOriginal(), ctx.Response.StatusCode(), bytes, start, out)
	}
}

// bodyBytes is the size of the body about to be sent.
func bodyBytes(resp *fasthttp.Response) int {
	switch {
	case resp.SkipBody:
		return 0
	case resp.IsBodyStream():
		return max(resp.Header.ContentLength(), 0)
	}
	return len(resp.Body())
}

func sentEncoding(h *fasthttp.ResponseHeader) manifest.Encoding {
	switch string(h.ContentEncoding()) {
	case "br":
		return manifest.Brotli
	case "gzip":
		return manifest.Gzip
	}
	return manifest.Identity
}

// asset serves a build file, the SPA fallback, or the right 4xx/503.
func (s *server) asset(c *fiber.Ctx, snap *manifest.Snapshot, p string) outcome {
	if snap.Current == nil {
		// A cluster instance that lacks the cluster's current build still
		// serves the files of the builds it has to the tabs that run them.
		if f := snap.LiveFile(p); f != nil {
			return s.writeFile(c, snap, f, outServed)
		}
		c.Set("Retry-After", "5")
		return s.writeStatus(c, fiber.StatusServiceUnavailable, outUnavailable)
	}
	res := resolve(snap, p, request{spa: s.cfg.SPA, header: &c.Request().Header})
	switch {
	case res.file == nil:
		if res.outcome == outRetired || res.outcome == outUnknown {
			c.Set("Skewless-Asset", res.outcome.String())
		}
		return s.writeStatus(c, res.status, res.outcome)
	case res.status == fiber.StatusNotFound:
		return writeNotFoundPage(c, res.file, res.outcome)
	}
	return s.writeFile(c, snap, res.file, res.outcome)
}

// errorHandler answers errors Fiber raises itself (a malformed request
// line, a head over readBufferSize, a body too large) with their status
// and its standard text only: error text is for logs, never for clients.
// They are counted and logged as bad requests, untimed: the request may
// never have been read.
func (s *server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	if e, ok := err.(*fiber.Error); ok {
		code = e.Code
	} else {
		s.log.Error("request failed", zap.ByteString("path", c.Request().URI().PathOriginal()), zap.Error(err))
	}
	h := &c.Response().Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	h.Set("Cache-Control", cacheNever)
	err = c.Status(code).SendString(utils.StatusMessage(code))
	s.finish(c.Context(), outBadRequest, time.Now())
	return err
}
