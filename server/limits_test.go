package main

// Request heads and framing, over raw TCP so no client library trims,
// splits or refuses what is sent.
//
// Behaviours covered:
//   - CONTRACT "Headers": request heads up to --max-header-bytes (32 KiB by
//     default, as nginx's large_client_header_buffers 4 8k) are accepted: an
//     8.5 KiB head with a 5 KB cookie, as a CDN forwards it, is served.
//     Larger heads get 431 (RFC 6585 §5); a request line that alone does
//     not fit gets 414 (RFC 9110 §15.5.15).
//   - Either answer reaches the client whole, followed by the end of the
//     connection (a FIN, not a reset): the server reads and drops what the
//     client still sends before closing, as nginx's lingering close does.
//   - RFC 9112 §6.3: a request with both Content-Length and
//     Transfer-Encoding gets 400 and its connection is closed, so nothing
//     after it on the connection (a smuggled request) is answered.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawExchange writes raw on a new connection to addr, then reads answers
// until the connection ends, and returns them (bodies read) and what ended
// the connection (io.EOF for a clean close by the server).
func rawExchange(t *testing.T, addr string, raw string) ([]*http.Response, []string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Logf("write: %v", err)
	}
	br := bufio.NewReader(conn)
	var resps []*http.Response
	var bodies []string
	for {
		if _, err := br.Peek(1); err != nil {
			return resps, bodies, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return resps, bodies, err
		}
		b, err := io.ReadAll(resp.Body)
		resps, bodies = append(resps, resp), append(bodies, string(b))
		if err != nil {
			return resps, bodies, err
		}
	}
}

// headWith returns a GET request head for target with the given extra
// header lines, closed by a blank line.
func headWith(target string, lines ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + strings.Join(append(lines, ""), "\r\n") + "\r\n"
}

// browserHead is a request head as a CDN forwards a browser's: 8.5 KiB,
// 5 KB of it cookie.
func browserHead(target string) string {
	h := headWith(target,
		"User-Agent: "+browserUA,
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language: en-GB,en;q=0.9,fr;q=0.8",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Cookie: session="+strings.Repeat("s", 5000),
		"X-Forwarded-For: 203.0.113.7, 198.51.100.2",
		"X-Request-Id: "+strings.Repeat("r", 36),
		"Traceparent: 00-"+strings.Repeat("a", 32)+"-"+strings.Repeat("b", 16)+"-01",
		"X-Amz-Cf-Id: "+strings.Repeat("c", 56),
		"Cdn-Loop: cloudflare; loops=1",
		"X-Cdn-Meta: "+strings.Repeat("m", 3100),
	)
	return h
}

// checkClosedCleanly: the server ended the connection with a FIN after
// its answer, not with a reset that can destroy the answer in flight.
func checkClosedCleanly(t *testing.T, what string, resps []*http.Response, end error) {
	t.Helper()
	if errors.Is(end, syscall.ECONNRESET) {
		t.Errorf("%s: connection reset after %d answers", what, len(resps))
	} else if end != io.EOF {
		t.Errorf("%s: connection ended with %v, want the server's close", what, end)
	}
	if n := len(resps); n > 0 && !resps[n-1].Close {
		t.Errorf("%s: last answer without Connection: close", what)
	}
}

func TestRequestHeadLimits(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	if n := len(browserHead("/")); n < 8600 || n > 8800 {
		t.Fatalf("the browser head is %d bytes, want about 8.5 KiB", n)
	}
	for _, tt := range []struct {
		name   string
		head   string
		status int
	}{
		{"8.5 KiB head with a 5 KB cookie", browserHead("/about"), 200},
		{"8.5 KiB head for an asset", browserHead(viteV1Entry), 200},
		{"31 KiB head", headWith("/about", "X-Big: "+strings.Repeat("a", 31<<10)), 200},
		{"16 KB request target", headWith("/about?q=" + strings.Repeat("q", 16000)), 200},
		{"40 KiB of header fields", headWith("/about", "X-Big: "+strings.Repeat("a", 40<<10)), 431},
		{"many header fields", headWith("/about", manyHeaders(5000, "X-H%d: v")...), 431},
		{"40 KiB request target", headWith("/about?q=" + strings.Repeat("q", 40<<10)), 414},
		{"40 KiB request target and fields", headWith("/?"+strings.Repeat("q", 40<<10), "X-Big: "+strings.Repeat("a", 40<<10)), 414},
		{"HEAD with 40 KiB of header fields", strings.Replace(headWith("/", "X-Big: "+strings.Repeat("a", 40<<10)), "GET", "HEAD", 1), 431},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if strings.HasPrefix(tt.head, "HEAD") {
				method = "HEAD"
			}
			resps, bodies, end := rawExchange(t, addr, tt.head+headWith("/robots.txt", "Connection: close"))
			if len(resps) == 0 {
				t.Fatalf("no answer (%v)", end)
			}
			resp := resps[0]
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 {
				// The next request on the connection is answered too.
				if len(resps) != 2 || resps[1].StatusCode != 200 {
					t.Errorf("%d answers on the connection, want 2", len(resps))
				}
				return
			}
			// Refused: the answer whole, then the end of the connection;
			// the request after it is never read.
			if want := http.StatusText(tt.status) + "\n"; method == "GET" && bodies[0] != want {
				t.Errorf("body %q, want %q", bodies[0], want)
			}
			for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Skewless-Version": "v1"} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if len(resps) != 1 {
				t.Errorf("%d answers, want only the refusal", len(resps))
			}
			checkClosedCleanly(t, tt.name, resps, end)
		})
	}
}

// TestMaxHeaderBytesFlag: --max-header-bytes moves the limit.
func TestMaxHeaderBytesFlag(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MaxHeaderBytes = 4096
	addr := strings.TrimPrefix(startServer(t, cfg).URL, "http://")
	for _, tt := range []struct {
		head   string
		status int
	}{
		{headWith("/", "X-A: "+strings.Repeat("a", 3500)), 200},
		{headWith("/", "X-A: "+strings.Repeat("a", 5000)), 431},
		{headWith("/?q="+strings.Repeat("q", 5000), "X-A: a"), 414},
	} {
		resps, _, end := rawExchange(t, addr, tt.head)
		if len(resps) == 0 || resps[0].StatusCode != tt.status {
			t.Errorf("%d-byte head: %d answers (%v), want %d", len(tt.head), len(resps), end, tt.status)
		}
	}
}

// TestFramingConflictClosesTheConnection: a request framed both by
// Content-Length and Transfer-Encoding gets 400 and its connection is
// closed: the request pipelined after it (which a proxy in front may have
// seen as part of its body) is never answered.
func TestFramingConflictClosesTheConnection(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	next := headWith("/robots.txt")
	for _, tt := range []struct {
		name    string
		request string
	}{
		{"chunked and length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"length then chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n"},
		{"identity and length", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n"},
		{"lower-case names", "GET / HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"post", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resps, _, end := rawExchange(t, addr, tt.request+next)
			if len(resps) == 0 || resps[0].StatusCode != 400 {
				t.Fatalf("%d answers (%v); want a 400", len(resps), end)
			}
			if len(resps) > 1 {
				t.Errorf("the request after it was answered: %d", resps[1].StatusCode)
			}
			checkClosedCleanly(t, tt.name, resps, end)
		})
	}
	// Either field alone frames a body, and the connection goes on.
	for _, request := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	} {
		resps, _, end := rawExchange(t, addr, request+headWith("/robots.txt", "Connection: close"))
		if len(resps) != 2 || resps[0].StatusCode != 200 || resps[1].StatusCode != 200 {
			t.Errorf("%q: %d answers (%v), want two 200s", request, len(resps), end)
		}
	}
}
