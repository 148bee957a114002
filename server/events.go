package main

import (
	"fmt"
	"io"
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

func (h *hub) serve(c *fiber.Ctx) outcome {
	if h.open.Add(1) > h.max || h.closed.Load() {
		h.open.Add(-1)
		c.Set("Retry-After", "10")
		c.Set("Cache-Control", cacheNever)
		c.Status(fiber.StatusServiceUnavailable)
		return outUnavailable
	}
	rh := &c.Response().Header
	rh.SetContentType("text/event-stream")
	rh.Set("Cache-Control", cacheNever)
	rh.Set("X-Accel-Buffering", "no")
	// c is recycled when the handler returns: copy what the writer needs.
	lastID, _ := strconv.ParseUint(string(c.Request().Header.Peek("Last-Event-ID")), 10, 64)
	if c.Request().Header.IsHead() {
		h.open.Add(-1)
		c.Response().SkipBody = true
		return outEndpoint
	}
	c.Response().SetBodyStream(&eventStream{h: h, lastID: lastID}, -1)
	return outEndpoint
}

// eventStream is the body of one event stream. As a fasthttp.BodyWriterTo
// it is written by the connection's own goroutine, straight into the
// connection's buffer, each Write framed as one chunk and flushed.
// SetBodyStreamWriter would cost every open stream a second goroutine, a
// pipe, a 4 KiB bufio.Writer and a 4 KiB copy buffer, and every event two
// goroutine wake-ups and a copy.
type eventStream struct {
	h      *hub
	lastID uint64
	closed atomic.Bool
}

var _ fasthttp.BodyWriterTo = (*eventStream)(nil)

// SupportsBodyWriteTo tells fasthttp to call WriteTo, never Read.
func (s *eventStream) SupportsBodyWriteTo() bool { return true }

// WriteTo streams until shutdown or until a write fails.
func (s *eventStream) WriteTo(w io.Writer) (int64, error) { return s.h.stream(w, s.lastID) }

// Read answers code that reads a body instead of streaming it (a
// middleware calling Response.Body()) with an empty one, never a hang.
func (s *eventStream) Read([]byte) (int, error) { return 0, io.EOF }

// Close is fasthttp's sign that the response is done, or dropped unsent:
// the stream no longer counts as open.
func (s *eventStream) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.h.open.Add(-1)
	}
	return nil
}

// stream writes the first event at once (headers leave only with the first
// write), then one per activation and a comment every heartbeat; it ends on
// shutdown or when a write fails (the only sign of a gone client). Each
// Write reaches the socket at once, as one chunk.
func (h *hub) stream(w io.Writer, lastID uint64) (int64, error) {
	changed := h.builds.Changed()
	snap := h.builds.Snapshot()
	buf := fmt.Appendf(make([]byte, 0, 128), "retry: %d\n\n", retryMillis)
	sent := lastID
	if snap.Current != nil && snap.Seq != lastID {
		buf, sent = h.appendVersion(buf, snap)
	}
	total, err := w.Write(buf)
	if err != nil {
		return int64(total), err
	}
	hb := time.NewTicker(h.heartbeat)
	defer hb.Stop()
	for {
		buf = buf[:0]
		select {
		case <-h.done:
			return int64(total), nil
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
		n, err := w.Write(buf)
		total += n
		if err != nil {
			return int64(total), err
		}
	}
}

func (h *hub) appendVersion(buf []byte, snap *manifest.Snapshot) ([]byte, uint64) {
	h.sent.Add(1)
	buf = fmt.Appendf(buf, "event: version\nid: %d\ndata: {\"version\": %q}\n\n", snap.Seq, snap.Version())
	return buf, snap.Seq
}
