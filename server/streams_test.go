package main

// The event stream's connection (CONTRACT "Endpoints", /_skewless/events):
//   - a client that goes away, closing its connection (FIN) or resetting
//     it, is noticed at once (Linux: epoll), not at the next heartbeat's
//     write: skewless_event_streams and --max-sse never count it for long;
//   - an HTTP/1.0 client gets the stream without chunked coding, its end
//     marked by the end of the connection (RFC 9112 §6.3, §7.1: chunked is
//     HTTP/1.1's).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openRawStream opens an event stream over raw TCP with request line
// proto, reads up to the first version event and returns the connection,
// the answer's head and the reader positioned after that event.
func openRawStream(t *testing.T, addr, proto string) (net.Conn, *http.Response, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /_skewless/events %s\r\nHost: localhost\r\n\r\n", proto); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	return conn, resp, br
}

// readUntil reads r until it has seen want, or fails.
func readUntil(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), want) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read %q, then %v; want %q", got, err, want)
		}
	}
	return string(got)
}

// TestClosedStreamsAreNoticedAtOnce: with a heartbeat far away, streams
// whose clients closed or reset their connection leave the count within
// seconds, and their places under --max-sse are free again.
func TestClosedStreamsAreNoticedAtOnce(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	heartbeat, within := goneClientSeen()
	cfg.Heartbeat = heartbeat
	cfg.MaxSSE = 4
	cfg.MetricsAddr = "127.0.0.1:0"
	ts := startServer(t, cfg)
	addr := strings.TrimPrefix(ts.URL, "http://")
	metrics := ts.metricsURL(t)
	gauge := func(n int) bool {
		_, m := do(t, "GET", metrics)
		return strings.Contains(m, fmt.Sprintf("skewless_event_streams %d\n", n))
	}
	var conns []net.Conn
	for range cfg.MaxSSE {
		conn, resp, br := openRawStream(t, addr, "HTTP/1.1")
		readUntil(t, httpBody(resp, br), "event: version")
		conns = append(conns, conn)
	}
	eventually(t, 5*time.Second, "4 open streams counted", func() bool { return gauge(4) })
	if a := sendRaw(addr, hostileRequest{"GET", "/_skewless/events", "HTTP/1.1", nil}); a.status != 503 {
		t.Fatalf("a stream past --max-sse: %d, want 503", a.status)
	}
	// Two clients close their side (FIN), two reset (RST).
	for i, c := range conns {
		if i%2 == 1 {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}
	start := time.Now()
	eventually(t, within, "every closed stream uncounted (heartbeat: "+heartbeat.String()+")", func() bool { return gauge(0) })
	t.Logf("closed streams uncounted after %s", time.Since(start).Round(time.Millisecond))
	for range cfg.MaxSSE {
		conn, resp, br := openRawStream(t, addr, "HTTP/1.1")
		readUntil(t, httpBody(resp, br), "event: version")
		defer conn.Close()
	}
}

// goneClientSeen is the heartbeat a test of closed streams runs with, and
// how soon it expects a closed stream uncounted: at once on Linux (epoll
// watches the connection; the heartbeat is an hour away), elsewhere at the
// next heartbeat (a second).
func goneClientSeen() (heartbeat, within time.Duration) {
	if runtime.GOOS == "linux" {
		return time.Hour, 5 * time.Second
	}
	return time.Second, 10 * time.Second
}

// httpBody is the body of an answer read from br, decoded as its framing
// says.
func httpBody(resp *http.Response, br *bufio.Reader) io.Reader {
	if resp.Body != nil {
		return resp.Body
	}
	return br
}

// TestEventStreamOverHTTP10: no chunked coding for an HTTP/1.0 client;
// the events arrive as they are, and the stream ends with the connection.
func TestEventStreamOverHTTP10(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	conn, resp, br := openRawStream(t, strings.TrimPrefix(ts.URL, "http://"), "HTTP/1.0")
	if te := resp.TransferEncoding; len(te) > 0 {
		t.Fatalf("Transfer-Encoding %q for an HTTP/1.0 client", te)
	}
	if !resp.Close || resp.ContentLength != -1 {
		t.Errorf("close %v, Content-Length %d; want the body delimited by the connection's end", resp.Close, resp.ContentLength)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type %q", got)
	}
	// The raw bytes: events, no chunk sizes.
	first := readUntil(t, br, `data: {"version": "v1"}`+"\n\n")
	if !strings.HasPrefix(first, "retry: 3000\n\n") {
		t.Errorf("body starts %q, want the events themselves", first)
	}
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	readUntil(t, br, "event: version\nid: 2\n"+`data: {"version": "v2"}`+"\n\n")
	ts.Stop()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || strings.Contains(string(rest), "0\r\n") {
		t.Errorf("after shutdown: %q, %v; want the connection closed", rest, err)
	}
}
