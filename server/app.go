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

// newApp returns the Fiber app. One handler serves everything: the
// resolution order is the contract's, not a router's, and it reads the
// snapshot once per request so a response never mixes two builds.
func newApp(s *server) *fiber.App {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		// No ReadTimeout or IdleTimeout: timeoutListener bounds the wait
		// for a request at less cost (conn.go).
		//
		// The read buffer bounds a request head. Buffers are taken from a
		// pool while a request is read and answered, and given back while
		// a connection waits: an idle keep-alive connection or an event
		// stream holds none, whatever --max-header-bytes is
		// (scripts/bench/memory.sh).
		ReadBufferSize:    s.cfg.MaxHeaderBytes,
		ReduceMemoryUsage: true,
		// Large enough for the head and body of a typical chunk to leave in
		// one write: with fasthttp's 4 KiB, a 10 KB asset took two syscalls.
		WriteBufferSize: 32 << 10,
	})
	srv := app.Server()
	srv.Logger = zap.NewStdLog(s.log.Named("fasthttp"))
	srv.ErrorHandler = s.refuse
	// An event stream owns its connection once it starts: fasthttp's
	// request state goes back to its pool (events.go).
	srv.KeepHijackedConns = true
	app.Use(s.handle)
	// Fiber answers a method it does not know ("FOO", "PROPFIND") with a
	// 400 of its own before any handler runs; the contract wants 405 for
	// every method but GET, HEAD and OPTIONS, so those are answered first.
	fiberHandler := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		switch h := &ctx.Request.Header; {
		case framingConflict(h):
			s.refuseFraming(ctx)
		case h.IsGet() || h.IsHead():
			fiberHandler(ctx)
		case h.IsOptions():
			s.options(ctx)
		default:
			s.methodNotAllowed(ctx)
		}
	}
	return app
}

const allowedMethods = "GET, HEAD, OPTIONS"

// methodNotAllowed answers 405 with Allow.
func (s *server) methodNotAllowed(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	h.Set("Allow", allowedMethods)
	writeStatusAnswer(ctx, fiber.StatusMethodNotAllowed)
	s.finish(ctx, outNotAllowed, ctx.Time())
}

// options answers OPTIONS (for a path or "*", RFC 9110 §9.3.7) with 204
// and the methods served, as nginx does: HAProxy's default health check
// and some monitors send it.
func (s *server) options(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.DisableNormalizing()
	setVersion(h, s.builds.Snapshot().Version())
	h.Set("Allow", allowedMethods)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
	ctx.SetStatusCode(fiber.StatusNoContent) // no Content-Length (RFC 9110 §8.6)
	s.finish(ctx, outEndpoint, ctx.Time())
}

func (s *server) handle(c *fiber.Ctx) error {
	snap := s.builds.Snapshot()
	h := &c.Response().Header
	h.DisableNormalizing() // keep "ETag" spelled as RFC 9110 does
	// The reserved prefix is checked on the decoded path, the one files are
	// looked up by: "//_skewless/version" and "/_skewless%2Fversion" are
	// the endpoint too, never a build's file or the SPA fallback.
	var out outcome
	longCached := false
	switch p, ok := decodePath(utils.UnsafeString(c.Request().URI().PathOriginal())); {
	case !ok:
		out = s.writeStatus(c, fiber.StatusBadRequest, outBadRequest)
	case !strings.HasPrefix(p, s.cfg.Base):
		out = s.outsideBase(c, p)
	case strings.HasPrefix(p[len(s.cfg.Base)-1:], reservedPrefix): // paths below the base name build paths
		out = s.endpoint(c, snap, p[len(s.cfg.Base)-1:])
	default:
		out, longCached = s.asset(c, snap, p[len(s.cfg.Base)-1:])
	}
	// Last: a prepared header set copied into the response replaces all.
	// An answer caches may keep for a year does not name the current
	// version: weeks later, that copy would announce an old one.
	if !longCached {
		setVersion(h, snap.Version())
	}
	s.finish(c.Context(), out, c.Context().Time())
	return nil
}

// finish counts the answer in the metrics and writes its access line,
// timed from start.
func (s *server) finish(ctx *fasthttp.RequestCtx, out outcome, start time.Time) {
	bytes := bodyBytes(&ctx.Response)
	s.metrics.count(out, sentEncoding(&ctx.Response.Header), bytes)
	if s.access == nil {
		return
	}
	h, uri := &ctx.Request.Header, ctx.Request.URI()
	r := accessRecord{
		method: h.Method(), path: uri.PathOriginal(), status: ctx.Response.StatusCode(), bytes: bytes,
		outcome: out.String(), client: s.clientAddr(ctx), host: h.Host(), query: uri.QueryString(),
		referer: h.PeekCanonical(hdrReferer), ua: h.UserAgent(),
	}
	s.access.write(&r, start)
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

// asset serves a build file, the SPA fallback, or the right 4xx/503, and
// reports whether the answer may be cached for long.
func (s *server) asset(c *fiber.Ctx, snap *manifest.Snapshot, p string) (outcome, bool) {
	if snap.Current == nil {
		// A cluster instance that lacks the cluster's current build still
		// serves the files of the builds it has to the tabs that run them.
		if f := snap.LiveFile(p); f != nil {
			return s.writeFile(c, snap, f, outServed)
		}
		c.Set("Retry-After", "5")
		return s.writeStatus(c, fiber.StatusServiceUnavailable, outUnavailable), false
	}
	res := route(snap, p, request{spa: s.cfg.SPA, header: &c.Request().Header})
	switch {
	case res.redirect != nil:
		return s.writeRedirect(c, snap, p, res.redirect), false
	case res.file == nil:
		if res.outcome == outRetired || res.outcome == outUnknown || res.outcome == outBlocked {
			c.Set("Skewless-Asset", res.outcome.String())
		}
		return s.writeStatus(c, res.status, res.outcome), false
	case res.status == fiber.StatusNotFound:
		out := writeNotFoundPage(c, res.file, res.outcome)
		addRuleHeaders(&c.Response().Header, headerRules(snap).For(p))
		return out, false
	}
	out, long := s.writeFile(c, snap, res.file, res.outcome)
	if res.indirect || isHTMLFile(res.file) {
		s.pageRuleHeaders(c, snap, p, res.file)
	}
	return out, long
}

// errorHandler answers an error a handler returned (none does) with its
// status and standard text only: error text is for logs, never for
// clients.
func (s *server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	if e, ok := err.(*fiber.Error); ok {
		code = e.Code
	} else {
		s.log.Error("request failed", zap.ByteString("path", c.Request().URI().PathOriginal()), zap.Error(err))
	}
	ctx := c.Context()
	ctx.Response.Header.DisableNormalizing()
	setVersion(&ctx.Response.Header, s.builds.Snapshot().Version())
	writeStatusAnswer(ctx, code)
	s.finish(ctx, outBadRequest, time.Now())
	return nil
}
