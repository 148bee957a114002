package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
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

// hub serves the Server-Sent Events streams. Each stream writes from its
// connection's goroutine and wakes on the registry's broadcast (a closed
// channel), so a slow client only ever delays itself.
type hub struct {
	builds    changeSource
	heartbeat time.Duration
	max       int64
	open      atomic.Int64
	sent      atomic.Uint64 // version events written
	done      chan struct{} // closed at shutdown: every stream ends
	closed    atomic.Bool
}

func newHub(builds changeSource, heartbeat time.Duration, max int) *hub {
	return &hub{builds: builds, heartbeat: heartbeat, max: int64(max), done: make(chan struct{})}
}

// Close ends every open stream (the server cannot shut down while they
// are open: fasthttp waits for active connections).
func (h *hub) Close() {
	if h.closed.CompareAndSwap(false, true) {
		close(h.done)
	}
}

// Open returns the number of open streams.
func (h *hub) Open() int64 { return h.open.Load() }

// retryMillis is the reconnection delay the stream suggests to browsers.
const retryMillis = 3000

// serve opens a stream, or answers 503 past the most open streams. The
// count is taken by the goroutine that writes the stream, which fasthttp
// starts only when nothing failed in between: counted here, a stream
// fasthttp never started would hold its slot forever. A stream that finds
// the last slot taken there (a race with another) answers the 503 itself.
// version is the Skewless-Version the stream's own head carries.
func (h *hub) serve(c *fiber.Ctx, version string) outcome {
	if h.open.Load() >= h.max || h.closed.Load() {
		c.Set("Retry-After", "10")
		c.Set("Cache-Control", cacheNever)
		c.Status(fiber.StatusServiceUnavailable)
		return outUnavailable
	}
	rh := &c.Response().Header
	rh.SetContentType("text/event-stream")
	rh.Set("Cache-Control", cacheNever)
	rh.Set("X-Accel-Buffering", "no")
	if c.Request().Header.IsHead() {
		c.Response().SkipBody = true
		return outEndpoint
	}
	// c is recycled when the handler returns: copy what the stream needs.
	lastID, _ := strconv.ParseUint(string(c.Request().Header.Peek("Last-Event-ID")), 10, 64)
	setVersion(rh, version)
	head := streamHead(rh)
	// The stream takes the connection over: fasthttp's write buffer and
	// its body pipe are given back, and one goroutine writes the events
	// straight to the socket. An open stream then holds little more than
	// that goroutine and the connection's read buffer (scripts/fanout.sh).
	ctx := c.Context()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		if h.open.Add(1) > h.max {
			h.open.Add(-1)
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = conn.Write(busyHead(version))
			return
		}
		defer h.open.Add(-1)
		w := &chunkWriter{conn: conn}
		if _, err := conn.Write(head); err == nil {
			h.stream(w, lastID)
			w.end()
		}
	})
	return outEndpoint
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
	rh.Set("Cache-Control", cacheNever)
	rh.SetContentType("text/plain; charset=utf-8")
	rh.SetContentLength(len(statusBody(fiber.StatusServiceUnavailable)))
	rh.SetConnectionClose()
	rh.Set("Date", string(fasthttp.AppendHTTPDate(nil, time.Now())))
	return append(rh.AppendBytes(nil), statusBody(fiber.StatusServiceUnavailable)...)
}

// streamHead renders the response head the stream sends itself: the
// status line and the headers set so far, framed as chunked.
func streamHead(rh *fasthttp.ResponseHeader) []byte {
	rh.SetContentLength(-1) // chunked
	rh.Set("Date", string(fasthttp.AppendHTTPDate(nil, time.Now())))
	return rh.AppendBytes(nil)
}

// streamWriteTimeout bounds one write to a stream: a client that stops
// reading (its socket buffer full) is dropped instead of holding a
// goroutine forever.
const streamWriteTimeout = 30 * time.Second

// chunkWriter writes each Write as one HTTP/1.1 chunk (RFC 9112 §7.1),
// straight to the connection.
type chunkWriter struct {
	conn net.Conn
	buf  []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf = strconv.AppendInt(w.buf[:0], int64(len(p)), 16)
	w.buf = append(append(append(w.buf, "\r\n"...), p...), "\r\n"...)
	_ = w.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := w.conn.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// end writes the last chunk, so the response ends cleanly.
func (w *chunkWriter) end() {
	_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = w.conn.Write([]byte("0\r\n\r\n"))
}

// stream writes the first event at once (headers leave only with the first
// write), then one per activation and a comment every heartbeat; it ends on
// shutdown or when a write fails (the only sign of a gone client). Each
// Write reaches the socket at once, as one chunk.
func (h *hub) stream(w io.Writer, lastID uint64) {
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
