package main

import (
	"net"
	"time"
)

// connTimeout is how long a request head may take to arrive and how long a
// keep-alive connection may sit idle: nginx's client_header_timeout, close
// to its keepalive_timeout (75s).
const connTimeout = 60 * time.Second

func (c serveConfig) timeout() time.Duration {
	if c.connTimeout > 0 {
		return c.connTimeout
	}
	return connTimeout
}

// deadlineListener hands out connections whose read deadline moves in
// steps. fasthttp sets it twice per request (idle, then reading), and each
// set reads the clock twice more and moves a runtime timer under a lock: a
// measurable share of a keep-alive hit. A deadline is moved only when the
// new one comes earlier than the one in force, or more than step later; so
// it may fire up to step early.
type deadlineListener struct {
	net.Listener
	step time.Duration
}

// newDeadlineListener moves deadlines in steps of a sixtieth of the
// timeout: a second for the default minute.
func newDeadlineListener(ln net.Listener, timeout time.Duration) deadlineListener {
	return deadlineListener{Listener: ln, step: timeout / 60}
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, step: l.step}, nil
}

// deadlineConn is one connection of a deadlineListener. Its deadlines are
// set from one goroutine at a time: the connection's server, then the
// handler that took it over.
type deadlineConn struct {
	net.Conn
	step time.Duration
	read time.Time // the read deadline in force; zero: none
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !c.read.IsZero() && !t.Before(c.read) && t.Sub(c.read) < c.step {
		return nil
	}
	c.read = t
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.read = t
	return c.Conn.SetDeadline(t)
}
