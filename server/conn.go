package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// connTimeout is how long the server waits for a request: idle time on a
// kept-alive connection and the request head together (nginx: 75s
// keepalive_timeout, then 60s client_header_timeout).
const connTimeout = 60 * time.Second

// sendTimeout is how long a response may go without the client taking a
// byte of it (nginx's send_timeout).
const sendTimeout = 60 * time.Second

func (c serveConfig) timeout() time.Duration {
	if c.connTimeout > 0 {
		return c.connTimeout
	}
	return connTimeout
}

func (c serveConfig) sendTimeoutOrDefault() time.Duration {
	if c.sendTimeout > 0 {
		return c.sendTimeout
	}
	return sendTimeout
}

// After an answer given before the request was read whole (a head too
// large, a malformed one), the connection is closed as nginx's lingering
// close does: the write side first, then what the client still sends is
// read and dropped, for up to lingeringTime and while it comes at least
// every lingeringTimeout. Closing at once with unread bytes would reset
// the connection, and a reset can destroy the answer before the client
// reads it.
const (
	lingeringTime    = 30 * time.Second
	lingeringTimeout = 5 * time.Second
)

// timeoutListener hands out connections that bound how long the server
// waits for a request and for a client to take its answer:
//   - reads: from the first read after accepting, or after a response, the
//     whole next request head must arrive within the timeout. A client that
//     sends a byte now and then does not extend it.
//   - writes: a write that makes no progress for the send timeout fails
//     (so does one whose progress stops for between one and two send
//     timeouts); a slow but steady reader is never cut off.
//
// fasthttp can set these deadlines itself, but reads the clock four times
// per request to do so and moves a runtime timer each time: a measurable
// share of a keep-alive hit. Here the deadlines come from a clock that
// advances in steps of a sixtieth of the shorter timeout, so a connection
// moves its timers at most once a step, and a deadline may come a step
// early (more if the machine is too busy to advance the clock on time).
type timeoutListener struct {
	net.Listener
	timeout time.Duration // for a request head
	send    time.Duration // for progress of a write
	now     atomic.Int64  // Unix nanoseconds, as of the last step
	stop    chan struct{}
	once    sync.Once
}

func newTimeoutListener(ln net.Listener, timeout, send time.Duration) *timeoutListener {
	l := &timeoutListener{Listener: ln, timeout: timeout, send: send, stop: make(chan struct{})}
	l.now.Store(time.Now().UnixNano())
	go l.tick(min(timeout, send) / 60)
	return l
}

func (l *timeoutListener) tick(step time.Duration) {
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			l.now.Store(now.UnixNano())
		}
	}
}

func (l *timeoutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &timeoutConn{Conn: c, l: l}, nil
}

// Close stops the clock and closes the listener.
func (l *timeoutListener) Close() error {
	l.once.Do(func() { close(l.stop) })
	return l.Listener.Close()
}

// timeoutConn is one connection of a timeoutListener. fasthttp reads and
// writes it from one goroutine at a time: the connection's server, then
// the handler that took it over.
type timeoutConn struct {
	net.Conn
	l         *timeoutListener
	armed     bool  // a deadline bounds the request being read
	deadline  int64 // the read deadline set, Unix nanoseconds; 0: none
	wdeadline int64 // the write deadline set, Unix nanoseconds; 0: none

	// lineOpen: the request line being read has not ended yet. A head too
	// large for the read buffer whose first line is still open is a
	// request target too long (414), not header fields (431).
	lineOpen bool
	// linger: the answer was given before the request was read whole;
	// Close reads what the client still sends first.
	linger bool
	// ahead is what was read ahead and not yet asked for, in aheadBuf.
	ahead, aheadBuf []byte
}

// readAhead is what a connection reads at once when asked for less. While
// it waits for a request, fasthttp holds no buffer (ReduceMemoryUsage) and
// reads the first byte alone, then the rest into a pooled buffer: two
// reads where one did. Reading ahead into a small buffer of the
// connection's own makes that one read again for any head that fits.
const readAhead = 1 << 10

func (c *timeoutConn) Read(p []byte) (int, error) {
	if !c.armed {
		c.armed, c.lineOpen = true, true
		if d := c.l.now.Load() + int64(c.l.timeout); d != c.deadline {
			c.deadline = d
			if err := c.Conn.SetReadDeadline(time.Unix(0, d)); err != nil {
				return 0, err
			}
		}
	}
	n, err := c.read(p)
	if c.lineOpen && bytes.IndexByte(p[:n], '\n') >= 0 {
		c.lineOpen = false
	}
	return n, err
}

// read serves p from what was read ahead, or reads.
func (c *timeoutConn) read(p []byte) (int, error) {
	if len(c.ahead) == 0 && len(p) < readAhead {
		if c.aheadBuf == nil {
			c.aheadBuf = make([]byte, readAhead)
		}
		n, err := c.Conn.Read(c.aheadBuf)
		if n == 0 {
			return 0, err
		}
		c.ahead = c.aheadBuf[:n]
	}
	if len(c.ahead) > 0 {
		n := copy(p, c.ahead)
		c.ahead = c.ahead[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Write sends (part of) a response: the next read waits for a new
// request. A write that times out having sent something is continued
// under a new deadline: only a client that takes nothing is cut off.
func (c *timeoutConn) Write(p []byte) (int, error) {
	c.armed = false
	sent := 0
	for {
		if d := c.l.now.Load() + int64(c.l.send); d != c.wdeadline {
			c.wdeadline = d
			if err := c.Conn.SetWriteDeadline(time.Unix(0, d)); err != nil {
				return sent, err
			}
		}
		n, err := c.Conn.Write(p[sent:])
		sent += n
		if err == nil || n == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return sent, err
		}
		c.wdeadline = 0 // expired: set a new one
	}
}

func (c *timeoutConn) SetDeadline(t time.Time) error {
	c.deadline, c.wdeadline = 0, 0
	return c.Conn.SetDeadline(t)
}

func (c *timeoutConn) SetReadDeadline(t time.Time) error {
	c.deadline = 0
	return c.Conn.SetReadDeadline(t)
}

func (c *timeoutConn) SetWriteDeadline(t time.Time) error {
	c.wdeadline = 0
	return c.Conn.SetWriteDeadline(t)
}

// Close closes the connection, lingering first when it must.
func (c *timeoutConn) Close() error {
	if c.linger {
		c.linger = false
		lingerClose(c.Conn)
	}
	return c.Conn.Close()
}

// lingerClose ends the write side (the answer is followed by a FIN, not
// a reset) and reads and drops what the client still sends, until it
// closes its side or the lingering times run out.
func lingerClose(conn net.Conn) {
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	end := time.Now().Add(lingeringTime)
	buf := make([]byte, 4<<10)
	for now := time.Now(); now.Before(end); now = time.Now() {
		d := now.Add(lingeringTimeout)
		if d.After(end) {
			d = end
		}
		if conn.SetReadDeadline(d) != nil {
			return
		}
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

// rawConn returns the network connection under a connection fasthttp
// handed to a hijack handler, bypassing the request timeouts: an event
// stream reads and writes it under deadlines of its own.
func rawConn(c net.Conn) net.Conn {
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		c = u.UnsafeConn()
	}
	if tc, ok := c.(*timeoutConn); ok {
		return tc.Conn
	}
	return c
}
