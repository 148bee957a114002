package main

// Connection timeouts: an idle keep-alive connection and a request head
// that never ends are closed after the timeout (not much before, not much
// after), and a connection in use stays open however long it is used.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testConnTimeout = 600 * time.Millisecond

// timeoutServer starts a server with testConnTimeout and returns a
// connection to it.
func timeoutServer(t *testing.T) net.Conn {
	t.Helper()
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.connTimeout = testConnTimeout
	conn, err := net.Dial("tcp", strings.TrimPrefix(startServer(t, cfg).URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedAfter reads from conn until the server closes it and returns how
// long that took from start; what arrives before the close is discarded.
func closedAfter(t *testing.T, conn net.Conn, start time.Time) time.Duration {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for 10s")
	}
	return time.Since(start)
}

// checkClosedOnTime: closed after about the timeout. Not before half of it:
// the deadline comes from a clock that advances in steps (a busy machine
// can hold a step back), so it may come somewhat early, but never at once.
// Not more than a second (a loaded machine) after it.
func checkClosedOnTime(t *testing.T, what string, took time.Duration) {
	t.Helper()
	t.Logf("%s: closed after %s (timeout %s)", what, took.Round(time.Millisecond), testConnTimeout)
	if took < testConnTimeout/2 {
		t.Errorf("%s: closed after %s, long before the %s timeout", what, took, testConnTimeout)
	}
	if took > testConnTimeout+time.Second {
		t.Errorf("%s: closed after %s, long past the %s timeout", what, took, testConnTimeout)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	conn := timeoutServer(t)
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	idleSince := time.Now()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	checkClosedOnTime(t, "idle keep-alive connection", closedAfter(t, conn, idleSince))
}

func TestUnfinishedRequestHeadClosed(t *testing.T) {
	t.Parallel()
	conn := timeoutServer(t)
	start := time.Now()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil { // no blank line
		t.Fatal(err)
	}
	checkClosedOnTime(t, "request head never finished", closedAfter(t, conn, start))
}

// TestDribbledRequestHeadClosed: a client that sends its request head a
// byte at a time does not extend the timeout.
func TestDribbledRequestHeadClosed(t *testing.T) {
	t.Parallel()
	conn := timeoutServer(t)
	start := time.Now()
	go func() {
		head := []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100))
		for _, b := range head {
			if _, err := conn.Write([]byte{b}); err != nil {
				return // closed by the server, or by the test
			}
			time.Sleep(testConnTimeout / 10)
		}
	}()
	checkClosedOnTime(t, "request head dribbled a byte at a time", closedAfter(t, conn, start))
}

// TestBusyConnectionKept: requests on one connection for three times the
// timeout, each well within it of the last, all answered on that
// connection.
func TestBusyConnectionKept(t *testing.T) {
	t.Parallel()
	conn := timeoutServer(t)
	br := bufio.NewReader(conn)
	n := 0
	for start := time.Now(); time.Since(start) < 3*testConnTimeout; n++ {
		if _, err := conn.Write([]byte("GET " + viteV1Entry + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatalf("request %d after %s: %v", n, time.Since(start), err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d after %s: %v", n, time.Since(start), err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d, body %v", n, resp.StatusCode, err)
		}
		// A pause that is a fair part of the timeout, so the deadline must move.
		time.Sleep(testConnTimeout / 4)
	}
	t.Logf("%d requests over %s on one connection", n, 3*testConnTimeout)
}
