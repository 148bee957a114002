package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/skewless/skewless/manifest"
)

// changeSource is what the event stream follows.
type changeSource interface {
	snapshotSource
	Changed() <-chan struct{}
}

// hub serves the Server-Sent Events streams. Each stream writes from a
// goroutine of its own and wakes on the registry's broadcast (a closed
// channel), so a slow client only ever delays itself; the hub's close
// watcher tells it when its client has gone.
type hub struct {
	builds    changeSource
	heartbeat time.Duration
	max       int64
	open      atomic.Int64
	sent      atomic.Uint64 // version events written
	done      chan struct{} // closed at shutdown: every stream ends
	closes    *closeWatcher // nil where there is none: heartbeats find gone clients

	mu      sync.Mutex // guards closed and adding to streams
	closed  bool
	streams sync.WaitGroup // open streams' goroutines
}

func newHub(builds changeSource, heartbeat time.Duration, max int) *hub {
	h := &hub{builds: builds, heartbeat: heartbeat, max: int64(max), done: make(chan struct{})}
	// Without a watcher (not Linux, or no epoll) a gone client is still
	// found, by the next heartbeat's failing write.
	h.closes, _ = newCloseWatcher()
	return h
}

// Close ends every open stream and waits for their goroutines (the
// server cannot shut down while they are open: fasthttp waits for
// active connections).
func (h *hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.streams.Wait()
	if h.closes != nil {
		h.closes.Close()
	}
}

// start counts a stream's goroutine in, unless the hub is closed.
func (h *hub) start() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.streams.Add(1)
	return true
}

// Open returns the number of open streams.
func (h *hub) Open() int64 { return h.open.Load() }

// retryMillis is the reconnection delay the stream suggests to browsers.
const retryMillis = 3000

// serve opens a stream, or returns false past the most open streams (the
// caller answers 503). The count is taken once the stream owns its
// connection, which fasthttp hands over only when nothing failed in
// between: counted here, a stream fasthttp never started would hold its
// slot forever. A stream that finds the last slot taken then (a race with
// another) answers the 503 itself. version is the Skewless-Version the
// stream's own head carries.
func (h *hub) serve(c *fiber.Ctx, version string) bool {
	if h.open.Load() >= h.max || h.isClosed() {
		return false
	}
	rh := &c.Response().Header
	rh.SetContentType("text/event-stream")
	rh.AddBytesKV(hdrCacheControl, valNever)
	rh.Set("X-Accel-Buffering", "no")
	rh.AddBytesKV(hdrNoSniff, valNoSniff)
	if c.Request().Header.IsHead() {
		c.Response().SkipBody = true
		return true
	}
	// c is recycled when the handler returns: copy what the stream needs.
	lastID, _ := strconv.ParseUint(string(c.Request().Header.Peek("Last-Event-ID")), 10, 64)
	// HTTP/1.0 has no chunked coding: the body ends when the connection
	// does (RFC 9112 §6.3, item 8).
	chunked := c.Request().Header.IsHTTP11()
	setVersion(rh, version)
	head := streamHead(rh, chunked)
	// The stream takes the connection over and hands fasthttp's request
	// state, buffers included, back to its pools: an open stream holds
	// little more than its goroutine (scripts/bench/memory.sh).
	ctx := c.Context()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		conn = rawConn(conn)
		if h.open.Add(1) > h.max || !h.start() {
			h.open.Add(-1)
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = conn.Write(busyHead(version))
			_ = conn.Close()
			return
		}
		go h.run(conn, head, lastID, chunked)
	})
	return true
}

func (h *hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// run writes one stream until it ends, then closes its connection.
func (h *hub) run(conn net.Conn, head []byte, lastID uint64, chunked bool) {
	defer h.streams.Done()
	defer h.open.Add(-1)
	// A client that goes away is seen at once, not by the next
	// heartbeat's write failing: the stream count and --max-sse hold no
	// ghosts.
	var gone <-chan struct{}
	stop := func() {}
	if h.closes != nil {
		gone, stop = h.closes.watch(conn)
	}
	w := &streamWriter{conn: conn, chunked: chunked}
	_ = conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := conn.Write(head); err == nil {
		h.stream(w, lastID, gone)
		w.end()
	}
	stop()
	_ = conn.Close()
}

// busyHead is the whole 503 a stream answers when it lost the last slot.
func busyHead(version string) []byte {
	var rh fasthttp.ResponseHeader
	rh.DisableNormalizing()
	rh.SetStatusCode(fiber.StatusServiceUnavailable)
	if version != "" {
		rh.AddBytesKV(hdrVersion, []byte(version))
	}
	rh.Set("Retry-After", "10")
	rh.AddBytesKV(hdrCacheControl, valNever)
	rh.AddBytesKV(hdrNoSniff, valNoSniff)
	rh.SetContentType("text/plain; charset=utf-8")
	rh.SetContentLength(len(statusBody(fiber.StatusServiceUnavailable)))
	rh.SetConnectionClose()
	rh.Set("Date", string(fasthttp.AppendHTTPDate(nil, time.Now())))
	return append(rh.AppendBytes(nil), statusBody(fiber.StatusServiceUnavailable)...)
}

// streamHead renders the response head the stream sends itself: the
// status line and the headers set so far, framed as chunked or, for
// HTTP/1.0, by the end of the connection.
func streamHead(rh *fasthttp.ResponseHeader, chunked bool) []byte {
	if chunked {
		rh.SetContentLength(-1)
	} else {
		rh.SetContentLength(-2) // no length: Connection: close
	}
	rh.Set("Date", string(fasthttp.AppendHTTPDate(nil, time.Now())))
	return rh.AppendBytes(nil)
}

// streamWriteTimeout bounds one write to a stream: a client that stops
// reading (its socket buffer full) is dropped instead of holding a
// goroutine forever.
const streamWriteTimeout = 30 * time.Second

// streamWriter writes each Write straight to the connection, as one
// HTTP/1.1 chunk (RFC 9112 §7.1) or, for HTTP/1.0, as it is.
type streamWriter struct {
	conn    net.Conn
	chunked bool
	buf     []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	b := p
	if w.chunked {
		w.buf = strconv.AppendInt(w.buf[:0], int64(len(p)), 16)
		w.buf = append(append(append(w.buf, "\r\n"...), p...), "\r\n"...)
		b = w.buf
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := w.conn.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// end writes the last chunk, so the response ends cleanly; an HTTP/1.0
// stream ends with its connection.
func (w *streamWriter) end() {
	if !w.chunked {
		return
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = w.conn.Write([]byte("0\r\n\r\n"))
}

// stream writes the first event at once, then one per activation and a
// comment every heartbeat; it ends on shutdown, when the client is gone
// or when a write fails. Each Write reaches the socket at once.
func (h *hub) stream(w io.Writer, lastID uint64, gone <-chan struct{}) {
	changed := h.builds.Changed()
	snap := h.builds.Snapshot()
	buf := fmt.Appendf(make([]byte, 0, 128), "retry: %d\n\n", retryMillis)
	sent := lastID
	if snap.Current != nil && snap.Seq != lastID {
		buf, sent = h.appendVersion(buf, snap)
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	hb := time.NewTicker(h.heartbeat)
	defer hb.Stop()
	for {
		buf = buf[:0]
		select {
		case <-h.done:
			return
		case <-gone:
			return
		case <-changed:
			changed = h.builds.Changed()
			if snap = h.builds.Snapshot(); snap.Current != nil && snap.Seq != sent {
				buf, sent = h.appendVersion(buf, snap)
			}
		case <-hb.C:
			buf = append(buf, ": heartbeat\n\n"...)
		}
		if len(buf) == 0 {
			continue
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

func (h *hub) appendVersion(buf []byte, snap *manifest.Snapshot) ([]byte, uint64) {
	h.sent.Add(1)
	buf = fmt.Appendf(buf, "event: version\nid: %d\ndata: {\"version\": %q}\n\n", snap.Seq, snap.Version())
	return buf, snap.Seq
}
