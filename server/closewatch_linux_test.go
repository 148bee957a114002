package main

// The close watcher (Linux, epoll): a registration fires when the peer
// closes (FIN) or resets (RST) its connection, and only then; once ended,
// it never fires, even when a new connection gets the same descriptor;
// Close ends the watcher's goroutine.

import (
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func fired(ch <-chan struct{}, within time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(within):
		return false
	}
}

func TestCloseWatcher(t *testing.T) {
	w, err := newCloseWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, tt := range []struct {
		name string
		end  func(c *net.TCPConn)
	}{
		{"close", func(c *net.TCPConn) { c.Close() }},
		{"reset", func(c *net.TCPConn) { _ = c.SetLinger(0); c.Close() }},
		{"half close", func(c *net.TCPConn) { _ = c.CloseWrite() }},
		{"data then close", func(c *net.TCPConn) { _, _ = c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); c.Close() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c := tcpPair(t)
			gone, stop := w.watch(s)
			defer stop()
			if fired(gone, 100*time.Millisecond) {
				t.Fatal("fired while the client is there")
			}
			tt.end(c)
			if !fired(gone, 5*time.Second) {
				t.Fatal("not fired within 5s of the client's end")
			}
		})
	}
	t.Run("data alone", func(t *testing.T) {
		s, c := tcpPair(t)
		gone, stop := w.watch(s)
		defer stop()
		_, _ = c.Write([]byte("x"))
		if fired(gone, 300*time.Millisecond) {
			t.Fatal("fired on data from a client still there")
		}
	})
	t.Run("ended watch on a reused descriptor", func(t *testing.T) {
		s, c := tcpPair(t)
		gone, stop := w.watch(s)
		stop()
		s.Close()
		c.Close()
		// The next connection likely gets the same descriptor.
		s2, c2 := tcpPair(t)
		gone2, stop2 := w.watch(s2)
		defer stop2()
		if fired(gone, 300*time.Millisecond) || fired(gone2, 300*time.Millisecond) {
			t.Fatal("an ended watch, or its stale event, fired")
		}
		c2.Close()
		if !fired(gone2, 5*time.Second) {
			t.Fatal("the new connection's watch did not fire")
		}
	})
}
