package main

// The access line is appended by hand for speed; these tests hold it to
// the line zap writes for the same request, and check the lines real
// requests produce.

import (
	"bufio"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapAccessLine is the line zap's encoder writes for one request.
func zapAccessLine(t testing.TB, console, color bool, now time.Time, r *accessRecord, durationUS int64) string {
	t.Helper()
	ec := encoderConfig(console, color)
	enc := zapcore.NewJSONEncoder(ec)
	if console {
		enc = zapcore.NewConsoleEncoder(ec)
	}
	client := ""
	if r.client.IsValid() {
		client = r.client.String()
	}
	b, err := enc.EncodeEntry(zapcore.Entry{Level: zapcore.InfoLevel, Time: now, LoggerName: "http", Message: "request"}, []zap.Field{
		zap.ByteString("method", r.method), zap.ByteString("path", r.path), zap.Int("status", r.status),
		zap.Int("bytes", r.bytes), zap.Int64("duration_us", durationUS), zap.String("outcome", r.outcome),
		zap.String("client", client), zap.ByteString("host", r.host), zap.ByteString("query", r.query),
		zap.ByteString("referer", r.referer), zap.ByteString("user_agent", r.ua),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkAccessLine compares the hand-made line with zap's in every format.
func checkAccessLine(t testing.TB, now time.Time, r *accessRecord, durationUS int64) {
	t.Helper()
	for _, f := range []struct {
		name           string
		console, color bool
	}{{"json", false, false}, {"console", true, false}, {"console on a terminal", true, true}} {
		a := newAccessLog(nil, f.console, encoderConfig(f.console, f.color))
		got := string(a.appendLine(nil, now, r, durationUS))
		if want := zapAccessLine(t, f.console, f.color, now, r, durationUS); got != want {
			t.Fatalf("%s: %+v:\n got %q\nwant %q", f.name, r, got, want)
		}
	}
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"

var accessLineTests = []struct {
	name, method, path string
	status, bytes      int
	durationUS         int64
	outcome            string
	client             string // "" for none
	host, query        string
	referer, ua        string
}{
	{"asset hit", "GET", "/assets/about-Br9WxIf2.js", 200, 802, 12, "served", "127.0.0.1", "localhost:8080", "", "", ""},
	{"from a browser", "GET", "/about", 200, 1290, 40, "fallback", "203.0.113.7", "app.example.com", "tab=2&q=a%20b",
		"https://app.example.com/", browserUA},
	{"ipv6 client", "GET", "/", 200, 1290, 40, "served", "2001:db8::1", "[2001:db8::1]:8080", "", "", "curl/8.5.0"},
	{"head", "HEAD", "/", 200, 0, 0, "fallback", "", "", "", "", ""},
	{"quote and backslash", "GET", `/a"b\c`, 404, 10, 3, "not-found", "10.0.0.1", `h"o\st`, `q="x"\`, `http://a/"b"`, `UA "quoted" \`},
	{"control characters", "GET", "/a\nb\rc\td\x00e\x1f\x7f", 400, 12, 1, "bad-request", "10.0.0.1", "h\x00", "a\nb", "\r\n", "x\ty\x01"},
	{"invalid UTF-8", "G\xc3\x8bT", "/\xff\xfe/\xe2\x80", 405, 19, 2, "method-not-allowed", "10.0.0.1", "\xff", "\xc3", "\xe2\x80", "Mozilla \xff\xfe"},
	{"valid UTF-8", "GET", "/日本語/ルート/\u2028", 200, 1290, 40, "fallback", "10.0.0.1", "例え.jp", "q=日本", "https://例え.jp/", "Ünïcode/1.0"},
	{"long path", "GET", "/" + strings.Repeat("deep/", 2000), 404, 10, 9, "unknown", "10.0.0.1", "", strings.Repeat("a=b&", 500), "", strings.Repeat("x", 3000)},
	{"empty", "", "", 0, 0, 0, "served", "", "", "", "", ""},
	{"large numbers", "GET", "/", 599, 1 << 40, 1 << 50, "served", "255.255.255.255", "", "", "", ""},
	{"negative duration", "GET", "/", 200, 1, -5, "served", "0.0.0.0", "", "", "", ""},
}

func accessTestRecord(t testing.TB, method, path string, status, bytes int, outcome, client, host, query, referer, ua string) *accessRecord {
	r := &accessRecord{method: []byte(method), path: []byte(path), status: status, bytes: bytes, outcome: outcome,
		host: []byte(host), query: []byte(query), referer: []byte(referer), ua: []byte(ua)}
	if client != "" {
		a, err := netip.ParseAddr(client)
		if err != nil {
			t.Fatal(err)
		}
		r.client = a
	}
	return r
}

func TestAccessLineIsZaps(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 15, 4, 5, 123456789, time.UTC)
	for _, tt := range accessLineTests {
		t.Run(tt.name, func(t *testing.T) {
			r := accessTestRecord(t, tt.method, tt.path, tt.status, tt.bytes, tt.outcome, tt.client, tt.host, tt.query, tt.referer, tt.ua)
			checkAccessLine(t, now, r, tt.durationUS)
		})
	}
}

// TestPlainPrefix: the eight-bytes-at-a-time scan stops exactly where a
// byte needs escaping or decoding, wherever it sits in a word.
func TestPlainPrefix(t *testing.T) {
	for c := range 256 {
		plain := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
		for at := range 17 {
			s := []byte(strings.Repeat("a", 17))
			s[at] = byte(c)
			want := at
			if plain {
				want = len(s)
			}
			if got := plainPrefix(s); got != want {
				t.Fatalf("plainPrefix with %#x at %d = %d, want %d", c, at, got, want)
			}
		}
	}
}

// FuzzAccessLine: for any request, the line is zap's.
func FuzzAccessLine(f *testing.F) {
	for _, tt := range accessLineTests {
		f.Add(tt.method, tt.path, tt.status, tt.bytes, tt.durationUS, []byte(net.ParseIP(tt.client)), tt.host, tt.query, tt.referer, tt.ua)
	}
	now := time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, method, path string, status, bytes int, durationUS int64, ip []byte, host, query, referer, ua string) {
		r := accessTestRecord(t, method, path, status, bytes, "served", "", host, query, referer, ua)
		r.client, _ = netip.AddrFromSlice(ip) // any 4 or 16 bytes; other lengths: none
		checkAccessLine(t, now, r, durationUS)
	})
}

// accessEntry is one access line, decoded.
type accessEntry struct {
	Level, TS, Logger, Msg, Method, Path, Outcome string
	Status, Bytes                                 int
	DurationUS                                    *int64 `json:"duration_us"`
	Client, Host, Query, Referer                  string
	UserAgent                                     string `json:"user_agent"`
}

func decodeAccessLines(t *testing.T, text string) []accessEntry {
	t.Helper()
	var out []accessEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e accessEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("access line is not JSON: %v\n%s", err, sc.Text())
		}
		if e.Msg == "request" {
			out = append(out, e)
		}
	}
	return out
}

// TestAccessLines: every request, whatever it came to, gets one line that
// says what it was and what it got.
func TestAccessLines(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	asset, _ := ts.get(t, "GET", viteV1Entry)
	etag := asset.Header.Get("ETag")
	requests := []struct {
		method, path string
		headers      []string
		status       int
		outcome      string
	}{
		{"GET", viteV1Entry, nil, 200, "served"},
		{"GET", viteV1Entry, []string{"If-None-Match: " + etag}, 304, "not-modified"},
		{"GET", "/about", nil, 200, "fallback"},
		{"HEAD", "/", nil, 200, "served"},
		{"GET", "/assets/zz-AAAAAAAA.js", nil, 404, "unknown"},
		{"GET", "/a%22b%0A", nil, 200, "fallback"},
		{"GET", "/a%00b", nil, 400, "bad-request"},
		{"DELETE", "/", nil, 405, "method-not-allowed"},
		{"GET", "/_skewless/version", nil, 200, "endpoint"},
		{"GET", "/about?tab=2&q=a%20b", []string{"Referer: https://app.example/start", "User-Agent: " + browserUA}, 200, "fallback"},
		{"OPTIONS", "/", nil, 204, "endpoint"},
	}
	before := time.Now().Add(-time.Millisecond)
	bodies := make([]int, len(requests))
	for i, r := range requests {
		resp, body := ts.get(t, r.method, r.path, r.headers...)
		if resp.StatusCode != r.status {
			t.Fatalf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.status)
		}
		bodies[i] = len(body)
	}
	after := time.Now().Add(time.Millisecond)
	lines := decodeAccessLines(t, ts.AccessLines())
	if len(lines) != len(requests)+1 { // and the first GET
		t.Fatalf("%d access lines for %d requests:\n%s", len(lines), len(requests)+1, ts.AccessLines())
	}
	for i, r := range requests {
		e := lines[i+1]
		path, query, _ := strings.Cut(r.path, "?")
		referer, ua := "", "Go-http-client/1.1"
		for _, h := range r.headers {
			k, v, _ := strings.Cut(h, ": ")
			switch k {
			case "Referer":
				referer = v
			case "User-Agent":
				ua = v
			}
		}
		if e.Level != "info" || e.Logger != "http" || e.Method != r.method || e.Path != path || e.Query != query ||
			e.Status != r.status || e.Outcome != r.outcome || e.Bytes != bodies[i] ||
			e.Client != "127.0.0.1" || e.Host != strings.TrimPrefix(ts.URL, "http://") || e.Referer != referer || e.UserAgent != ua {
			t.Errorf("%s %s: access line %+v; want status %d, outcome %s, bytes %d, client 127.0.0.1, query %q, referer %q, user agent %q",
				r.method, r.path, e, r.status, r.outcome, bodies[i], query, referer, ua)
		}
		if e.DurationUS == nil || *e.DurationUS < 0 || *e.DurationUS > after.Sub(before).Microseconds() {
			t.Errorf("%s %s: duration_us %v, not within the %s the requests took", r.method, r.path, e.DurationUS, after.Sub(before))
		}
		if at, err := time.Parse(time.RFC3339Nano, e.TS); err != nil || at.Before(before.Truncate(time.Millisecond)) || at.After(after) {
			t.Errorf("%s %s: ts %q (%v), not between %s and %s", r.method, r.path, e.TS, err, before, after)
		}
	}
}

// TestAccessLinesFromTheBinary: the binary's access lines reach stderr in
// both formats, batched and flushed when it stops.
func TestAccessLinesFromTheBinary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string // in the line for /about
	}{
		{"json", nil, `"logger":"http","msg":"request","method":"GET","path":"/about","status":200,`},
		{"console", []string{"--log-format", "console"}, "\tINFO\thttp\trequest\t{\"method\": \"GET\", \"path\": \"/about\", \"status\": 200, "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, base, stderr := startBinaryLogs(t, append([]string{"--builds", buildsWith(t, fixtures, "v1")}, tt.args...)...)
			for _, p := range []string{viteV1Entry, "/about", "/assets/zz-AAAAAAAA.js"} {
				do(t, "GET", base+p)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			text := stderr()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, text)
			}
			var got []string
			for line := range strings.Lines(text) {
				if strings.Contains(line, `"msg":"request"`) || strings.Contains(line, "\thttp\trequest\t") {
					got = append(got, line)
				}
			}
			if len(got) != 3 {
				t.Fatalf("%d access lines for 3 requests:\n%s", len(got), text)
			}
			if !strings.Contains(got[1], tt.want) {
				t.Errorf("the line for /about is\n%s\nwant it to hold %q", got[1], tt.want)
			}
		})
	}
}

// TestNoAccessLinesPastInfo: above --log-level info there is no access
// log at all, not one that drops its lines.
func TestNoAccessLinesPastInfo(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]bool{"debug": true, "info": true, "warn": false, "error": false} {
		_, access, stop, err := newLoggers("json", level)
		if err != nil {
			t.Fatal(err)
		}
		stop()
		if (access != nil) != want {
			t.Errorf("--log-level %s: access log %v, want one: %v", level, access != nil, want)
		}
	}
}

// TestAccessLineForRefusedHead: a request the HTTP layer refuses before the
// handler (a malformed head, one too large) is logged and counted too.
func TestAccessLineForRefusedHead(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, tt := range []struct {
		header []string
		status int
	}{
		{[]string{"Content-Length: abc"}, 400},
		{[]string{"X-Big: " + strings.Repeat("a", 40<<10)}, 431},
	} {
		if a := sendRaw(addr, hostileRequest{"GET", "/", "HTTP/1.1", tt.header}); a.err != nil || a.status != tt.status {
			t.Fatalf("status %d (%v), want %d", a.status, a.err, tt.status)
		}
	}
	lines := decodeAccessLines(t, ts.AccessLines())
	if len(lines) != 2 || lines[0].Status != 400 || lines[1].Status != 431 || lines[0].Outcome != "bad-request" ||
		lines[1].Outcome != "bad-request" || lines[1].Client != "127.0.0.1" {
		t.Fatalf("access lines %+v; want a 400 and a 431, outcome bad-request, client 127.0.0.1", lines)
	}
}
