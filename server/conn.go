package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connTimeout is how long the server waits for a request: idle time on a
// kept-alive connection and the request head together (nginx: 75s
// keepalive_timeout, then 60s client_header_timeout).
const connTimeout = 60 * time.Second

func (c serveConfig) timeout() time.Duration {
	if c.connTimeout > 0 {
		return c.connTimeout
	}
	return connTimeout
}

// timeoutListener hands out connections that bound how long the server
// waits for a request: from the first read after accepting, or after a
// response, the whole next request head must arrive within the timeout. A
// client that sends a byte now and then does not extend it.
//
// fasthttp can set these deadlines itself, but reads the clock four times
// per request to do so and moves a runtime timer each time: a measurable
// share of a keep-alive hit. Here the deadline comes from a clock that
// advances in steps of a sixtieth of the timeout, so a connection moves its
// timer at most once a step, and a deadline may come a step early (more if
// the machine is too busy to advance the clock on time).
type timeoutListener struct {
	net.Listener
	timeout time.Duration
	now     atomic.Int64 // Unix nanoseconds, as of the last step
	stop    chan struct{}
	once    sync.Once
}

func newTimeoutListener(ln net.Listener, timeout time.Duration) *timeoutListener {
	l := &timeoutListener{Listener: ln, timeout: timeout, stop: make(chan struct{})}
	l.now.Store(time.Now().UnixNano())
	go l.tick(timeout / 60)
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
	l        *timeoutListener
	armed    bool  // a deadline bounds the request being read
	deadline int64 // the read deadline set, Unix nanoseconds; 0: none
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if !c.armed {
		c.armed = true
		if d := c.l.now.Load() + int64(c.l.timeout); d != c.deadline {
			c.deadline = d
			if err := c.Conn.SetReadDeadline(time.Unix(0, d)); err != nil {
				return 0, err
			}
		}
	}
	return c.Conn.Read(p)
}

// Write sends a response: the next read waits for a new request.
func (c *timeoutConn) Write(p []byte) (int, error) {
	c.armed = false
	return c.Conn.Write(p)
}

func (c *timeoutConn) SetDeadline(t time.Time) error {
	c.deadline = 0
	return c.Conn.SetDeadline(t)
}

func (c *timeoutConn) SetReadDeadline(t time.Time) error {
	c.deadline = 0
	return c.Conn.SetReadDeadline(t)
}
