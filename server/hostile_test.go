package main

// Hostile requests: thousands over raw TCP and net/http (oversized and
// numerous headers, malformed Range, Accept-Encoding, If-None-Match and
// If-Modified-Since, long paths, percent garbage, NUL, unicode, odd methods
// and versions, header injection): no panic, no 5xx, an answer to every
// one (also to a head too large, read to its end before the connection
// closes), only statuses the contract gives (204 for OPTIONS, 405 for
// other methods than GET and HEAD, both with Allow, RFC 9110 §15.5.6),
// Skewless-Version on every response that is not cacheable for long,
// X-Content-Type-Options: nosniff on every one, no injected header, whole
// bodies, health 200 afterwards and no goroutine left behind.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Hostile requests. Each target is sent with each header set, method and
// protocol version below: a few thousand requests.
var (
	hostileTargets = []string{
		"/", "/index.html", viteV1Entry, "/robots.txt", "/about", "/assets/zz-AAAAAAAA.js",
		"/_skewless/version", "/_skewless/health", "/_skewless/client.js", "/_skewless/nope",
		"/" + strings.Repeat("a", 8000), "/" + strings.Repeat("deep/", 3000),
		"/%", "/%%", "/%zz", "/%u0041", "/%ff%fe%00", "/a%00b", "/%c0%af", "/a\x00b",
		"/日本語/ルート", "/%E2%80%AE.js", "/\xff\xfe.js", "/" + strings.Repeat("%2e", 1000),
		"/?%%%", "/index.html?" + strings.Repeat("a=b&", 1500), "/#frag",
		"/%0d%0aX-Injected:%20yes", "/%0aSet-Cookie:%20a=b", "/a\tb", "*", "//evil.example/x",
		"http://evil.example/index.html",
	}
	hostileHeaders = [][]string{
		{"X-Big: " + strings.Repeat("a", 12<<10)},
		{"X-Big: " + strings.Repeat("a", 64<<10)},
		manyHeaders(300, "X-H%d: v"),
		manyHeaders(10000, "X-H%d: v"),
		manyHeaders(100, "Range: bytes=0-%d"),
		{"Range: bytes="}, {"Range: bytes=-"}, {"Range: bytes=a-b"}, {"Range: bytes=9999999999999999999-"},
		{"Range: bytes=-9999999999999999999"}, {"Range: bytes=0-9999999999999999999"}, {"Range: bytes=18446744073709551616-"},
		{"Range: bytes=5-2"}, {"Range: bytes=--5"}, {"Range: bytes=-0"}, {"Range: bytes= 1 - 2 "}, {"Range: bytes=0x10-0x20"},
		{"Range: BYTES=0-1"}, {"Range: items=0-1"}, {"Range: bytes=" + strings.Repeat("0", 5000) + "1-"},
		{"Range: bytes=" + ranges(1000)}, {"Range: bytes=" + ranges(10000)},
		{"Range: bytes=0-9", `If-Range: "`}, {"Range: bytes=0-9", "If-Range: Mon, 99 Foo 0000 99:99:99 GMT"},
		{"Accept-Encoding: " + strings.Repeat("gzip;q=0.5, ", 1000)}, {"Accept-Encoding: " + strings.Repeat("br,", 10000)},
		{"Accept-Encoding: br;q=2"}, {"Accept-Encoding: gzip;q=-1"}, {"Accept-Encoding: br;q=0.99999"}, {"Accept-Encoding: gzip;q=NaN"},
		{"Accept-Encoding: br;q="}, {"Accept-Encoding: br;q"}, {"Accept-Encoding: ;;;;,,,,"}, {"Accept-Encoding: br;q=1e3, gzip;q=0x1"},
		{"Accept-Encoding: *;q=0"}, {"Accept-Encoding: identity;q=0, *;q=0"}, {"Accept-Encoding: br;q=0.5;q=1;;q=="},
		{"Accept-Encoding: g\xc5\xbcip, \xff\xfe"}, {"Accept-Encoding: " + strings.Repeat("x;q=0.1;", 1500)},
		{`If-None-Match: "`}, {"If-None-Match: W/"}, {`If-None-Match: W/"`}, {`If-None-Match: ""`}, {`If-None-Match: W/""`},
		{"If-None-Match: *, *"}, {"If-None-Match: " + strings.Repeat(",", 10000)}, {`If-None-Match: "` + strings.Repeat("a", 10000) + `"`},
		{`If-None-Match: "a" "b"`}, {"If-None-Match: " + strings.Repeat(`"x",`, 3000)},
		{"If-Modified-Since: garbage"}, {"If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT"}, {"If-Modified-Since: Mon, 01 Jan 0000 00:00:00 GMT"},
		{"If-Modified-Since: Sun, 32 Foo 2020 25:61:61 GMT"}, {"If-Modified-Since: -1"}, {"If-Modified-Since: " + strings.Repeat("Mon, ", 2000)},
		{"If-None-Match: garbage", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"},
		{"X-A: b\nX-Injected: yes"}, {"X-A: b\rX-Injected: yes"}, {"X-A: b", " X-Injected: yes"}, {"X-A: b\x00c"},
		{"X A: b"}, {"NoColon"}, {": b"}, {"Host: " + strings.Repeat("h", 10000)}, {"Host: a\x00b"},
		{"Content-Length: -1"}, {"Content-Length: 99999999999999999999"}, {"Content-Length: abc"},
		{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__"},
		{"Last-Event-ID: " + strings.Repeat("9", 5000)}, {"Cookie: " + strings.Repeat("a=b; ", 2000)},
	}
	hostileMethods = []string{"GET\x00", "get", "GeT", "FOO", "PROPFIND", "POST", "PUT", "DELETE", "OPTIONS", "TRACE",
		"CONNECT", "PATCH", "", "G E T", "GET\x7f", "G\xc3\x8bT", strings.Repeat("A", 20000)}
	hostileProtos = []string{"", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1x", "http/1.1", "HTTP/1.1 extra", "HTTP/01.01"}
)

func manyHeaders(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// ranges returns "0-0,2-2,4-4,..." with n ranges.
func ranges(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d-%d", 2*i, 2*i)
	}
	return strings.Join(parts, ",")
}

// hostileRequest is one request exactly as it goes on the wire.
type hostileRequest struct {
	method, target, proto string
	header                []string // "Name: value" lines, sent as they are
}

func (r hostileRequest) wire() []byte {
	var b bytes.Buffer
	b.WriteString(r.method + " " + r.target)
	if r.proto != "" {
		b.WriteString(" " + r.proto)
	}
	b.WriteString("\r\nHost: localhost\r\nConnection: close\r\n")
	for _, h := range r.header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func (r hostileRequest) String() string {
	s := fmt.Sprintf("%q %q %q %q", r.method, r.target, r.proto, r.header)
	if len(s) > 200 {
		s = s[:200] + fmt.Sprintf("... (%d bytes)", len(r.wire()))
	}
	return s
}

// hostileCoreTargets are sent with every header set; every target gets
// every method and protocol version and a share of the header sets.
var hostileCoreTargets = []string{"/", "/index.html", viteV1Entry, "/about", "/_skewless/version", "/assets/zz-AAAAAAAA.js"}

func hostileRequests() []hostileRequest {
	var out []hostileRequest
	for _, target := range hostileCoreTargets {
		for _, h := range hostileHeaders {
			out = append(out, hostileRequest{"GET", target, "HTTP/1.1", h})
		}
	}
	for i, target := range hostileTargets {
		for j := i % 8; j < len(hostileHeaders); j += 8 {
			out = append(out, hostileRequest{"GET", target, "HTTP/1.1", hostileHeaders[j]})
		}
		for _, m := range hostileMethods {
			out = append(out, hostileRequest{m, target, "HTTP/1.1", nil})
		}
		for _, p := range hostileProtos {
			out = append(out, hostileRequest{"HEAD", target, p, nil})
		}
	}
	return out
}

// hostileAnswer is what came back for one request.
type hostileAnswer struct {
	status int
	header http.Header
	err    error
}

// sendRaw writes r on a connection of its own and reads the answer.
func sendRaw(addr string, r hostileRequest) hostileAnswer {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return hostileAnswer{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, werr := conn.Write(r.wire())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: strings.TrimRight(r.method, "\x00")})
	if err != nil {
		return hostileAnswer{err: fmt.Errorf("%w (write: %v): %v", errNoAnswer, werr, err)}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return hostileAnswer{status: resp.StatusCode, header: resp.Header, err: fmt.Errorf("body: %w", err)}
	}
	return hostileAnswer{status: resp.StatusCode, header: resp.Header}
}

var errNoAnswer = errors.New("no answer")

// sendHTTP sends r through net/http when net/http can send it as it is
// (it refuses control characters, non-token methods and names, and writes
// its own Host and framing headers); ok is false when it cannot.
func sendHTTP(c *http.Client, addr string, r hostileRequest) (a hostileAnswer, ok bool) {
	if r.proto != "HTTP/1.1" || !isToken(r.method) || !strings.HasPrefix(r.target, "/") || strings.HasPrefix(r.target, "//") ||
		strings.IndexFunc(r.target, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
		return a, false
	}
	req := &http.Request{Method: r.method, URL: &url.URL{Scheme: "http", Host: addr, Opaque: r.target}, Header: http.Header{}, Host: addr}
	for _, line := range r.header {
		name, value, found := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case !found || !isToken(name) || strings.IndexFunc(value, isCTL) >= 0:
			return a, false
		case strings.EqualFold(name, "Host"), strings.EqualFold(name, "Content-Length"), strings.EqualFold(name, "Connection"):
			return a, false
		}
		req.Header[name] = append(req.Header[name], value)
	}
	resp, _, err := fetchAll(c, req)
	if err != nil {
		return hostileAnswer{err: err}, true
	}
	return hostileAnswer{status: resp.StatusCode, header: resp.Header}, true
}

// isToken reports an RFC 9110 §5.6.2 token: what a method or a field name
// must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c >= 0x80 || !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// isCTL reports a control character net/http refuses to send.
func isCTL(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }

// hostileResult tallies one run.
type hostileResult struct {
	mu       sync.Mutex
	sent     int
	statuses map[int]int
	problems map[string]int      // what was wrong → how often
	examples map[string][]string // what was wrong → a few of the requests
}

func (h *hostileResult) add(via string, r hostileRequest, a hostileAnswer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent++
	if p := hostileProblem(r, a); p != "" {
		h.problems[p]++
		if len(h.examples[p]) < 4 {
			h.examples[p] = append(h.examples[p], via+" "+r.String())
		}
		return
	}
	h.statuses[a.status]++
}

// hostileProblem says what is wrong with an answer, or "".
func hostileProblem(r hostileRequest, a hostileAnswer) string {
	switch {
	case a.err != nil:
		return a.err.Error()
	case a.status >= 500:
		return fmt.Sprintf("status %d", a.status)
	case a.header.Get("X-Injected") != "" || a.header.Get("Set-Cookie") != "":
		return fmt.Sprintf("status %d with an injected header: %v", a.status, a.header)
	}
	// CONTRACT "Serving": GET and HEAD; OPTIONS gets 204 with Allow;
	// other methods get 405 with Allow. Method names are case-sensitive
	// tokens (RFC 9110 §9.1), so "get" and "PROPFIND" are other methods
	// too. CONNECT needs an authority-form target (§9.3.6): "CONNECT /"
	// may be a 400.
	if r.target == "/" && len(r.header) == 0 && r.proto == "HTTP/1.1" && isToken(r.method) &&
		r.method != "GET" && r.method != "HEAD" && r.method != "CONNECT" {
		want := 405
		if r.method == "OPTIONS" {
			want = 204
		}
		if a.status != want || a.header.Get("Allow") != allowMethods {
			return fmt.Sprintf("method %s: status %d, Allow %q; want %d with Allow: %s", r.method, a.status, a.header.Get("Allow"), want, allowMethods)
		}
	}
	if v := a.header.Get("Skewless-Version"); v != "v1" && !strings.Contains(a.header.Get("Cache-Control"), "immutable") {
		return fmt.Sprintf("status %d without Skewless-Version: v1 (%q)", a.status, v)
	}
	if v := a.header.Get("X-Content-Type-Options"); v != "nosniff" {
		return fmt.Sprintf("status %d without X-Content-Type-Options: nosniff (%q)", a.status, v)
	}
	return ""
}

const hostileWorkers = 8

// hostileRun sends every request over raw TCP and, with a client c and when
// it can be, through net/http, from hostileWorkers goroutines.
func hostileRun(addr string, c *http.Client, reqs []hostileRequest) *hostileResult {
	res := &hostileResult{statuses: map[int]int{}, problems: map[string]int{}, examples: map[string][]string{}}
	work := make(chan hostileRequest)
	var wg sync.WaitGroup
	for range hostileWorkers {
		wg.Go(func() {
			for r := range work {
				res.add("raw", r, sendRaw(addr, r))
				if c == nil {
					continue
				}
				if a, ok := sendHTTP(c, addr, r); ok {
					res.add("net/http", r, a)
				}
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	return res
}

func (h *hostileResult) report(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d requests, statuses %v", what, h.sent, h.statuses)
	for p, n := range h.problems {
		t.Errorf("%d× %s; e.g.\n\t%s", n, p, strings.Join(h.examples[p], "\n\t"))
	}
}

// hostileSlack is how many more goroutines than before the burst may be
// left: fasthttp parks idle workers for a while and a worker or two may
// still be finishing a closed connection.
const hostileSlack = 5

func TestFaultHostileRequests(t *testing.T) {
	// Not parallel: the goroutine count is the whole process's.
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: hostileWorkers}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	idle := func() int {
		tr.CloseIdleConnections()
		httpClient.CloseIdleConnections()
		return runtime.NumGoroutine()
	}
	reqs := hostileRequests()
	// A warm-up brings fasthttp's worker pool to its working size first.
	hostileRun(addr, c, reqs[:len(reqs)/10]).report(t, "warm-up")
	before := idle()

	start := time.Now()
	res := hostileRun(addr, c, reqs)
	res.report(t, fmt.Sprintf("hostile requests (%s)", time.Since(start).Round(time.Millisecond)))

	serverRunning(t, ts)
	if resp, _ := ts.get(t, "GET", "/_skewless/health"); resp.StatusCode != 200 {
		t.Fatalf("health after the burst: %d", resp.StatusCode)
	}
	var after int
	eventually(t, 15*time.Second, "goroutines back to their number before the burst", func() bool {
		after = idle()
		return after <= before+hostileSlack
	})
	t.Logf("goroutines: %d before the burst, %d after", before, after)
}

// TestFaultHostileRequestsBinary sends the raw requests to the real binary:
// the process stays up and healthy (a panic would end it).
func TestFaultHostileRequestsBinary(t *testing.T) {
	t.Parallel()
	cmd, base := startBinary(t, "--builds", buildsWith(t, fixtures, "v1"))
	res := hostileRun(strings.TrimPrefix(base, "http://"), nil, hostileRequests())
	res.report(t, "hostile requests to the binary")
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server process is gone: %v", err)
	}
	resp, body := do(t, "GET", base+"/_skewless/health")
	if resp.StatusCode != 200 {
		t.Fatalf("health after the burst: %d %s", resp.StatusCode, body)
	}
}
