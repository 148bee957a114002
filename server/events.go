package main

import (
	"bufio"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/skewless/skewless/manifest"
)

// changeSource is what the event stream follows.
type changeSource interface {
	snapshotSource
	Changed() <-chan struct{}
}

// hub serves the Server-Sent Events streams. Each stream writes from its
// own goroutine and wakes on the registry's broadcast (a closed channel),
// so a slow client only ever delays itself.
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
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer h.open.Add(-1)
		h.stream(w, lastID)
	})
	return outEndpoint
}

// stream writes the first event at once (headers leave only with the first
// flush), then one per activation and a comment every heartbeat; it ends on
// shutdown or when a flush fails (the only sign of a gone client).
func (h *hub) stream(w *bufio.Writer, lastID uint64) {
	changed := h.builds.Changed()
	snap := h.builds.Snapshot()
	fmt.Fprintf(w, "retry: %d\n\n", retryMillis)
	sent := lastID
	if snap.Current != nil && snap.Seq != lastID {
		sent = h.writeVersion(w, snap)
	}
	if w.Flush() != nil {
		return
	}
	hb := time.NewTicker(h.heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-changed:
			changed = h.builds.Changed()
			if snap = h.builds.Snapshot(); snap.Current != nil && snap.Seq != sent {
				sent = h.writeVersion(w, snap)
			}
		case <-hb.C:
			_, _ = w.WriteString(": heartbeat\n\n")
		}
		if w.Flush() != nil {
			return
		}
	}
}

func (h *hub) writeVersion(w *bufio.Writer, snap *manifest.Snapshot) uint64 {
	h.sent.Add(1)
	fmt.Fprintf(w, "event: version\nid: %d\ndata: {\"version\": %q}\n\n", snap.Seq, snap.Version())
	return snap.Seq
}
