package main

// The access line is appended by hand for speed; these tests hold it to
// the line zap writes for the same request, and check the lines real
// requests produce.

import (
	"bufio"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapAccessLine is the line zap's encoder writes for one request.
func zapAccessLine(t testing.TB, console, color bool, now time.Time, method, path []byte, status, bytes int, durationUS int64, out string) string {
	t.Helper()
	ec := encoderConfig(console, color)
	enc := zapcore.NewJSONEncoder(ec)
	if console {
		enc = zapcore.NewConsoleEncoder(ec)
	}
	b, err := enc.EncodeEntry(zapcore.Entry{Level: zapcore.InfoLevel, Time: now, LoggerName: "http", Message: "request"}, []zap.Field{
		zap.ByteString("method", method), zap.ByteString("path", path), zap.Int("status", status),
		zap.Int("bytes", bytes), zap.Int64("duration_us", durationUS), zap.String("outcome", out),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkAccessLine compares the hand-made line with zap's in every format.
func checkAccessLine(t testing.TB, now time.Time, method, path []byte, status, bytes int, durationUS int64, out string) {
	t.Helper()
	for _, f := range []struct {
		name           string
		console, color bool
	}{{"json", false, false}, {"console", true, false}, {"console on a terminal", true, true}} {
		a := newAccessLog(nil, f.console, encoderConfig(f.console, f.color))
		got := string(a.appendLine(nil, now, method, path, status, bytes, durationUS, out))
		if want := zapAccessLine(t, f.console, f.color, now, method, path, status, bytes, durationUS, out); got != want {
			t.Fatalf("%s: method %q path %q:\n got %q\nwant %q", f.name, method, path, got, want)
		}
	}
}

var accessLineTests = []struct {
	name, method, path string
	status, bytes      int
	durationUS         int64
	outcome            string
}{
	{"asset hit", "GET", "/assets/about-Br9WxIf2.js", 200, 802, 12, "served"},
	{"head", "HEAD", "/", 200, 0, 0, "fallback"},
	{"quote and backslash", "GET", `/a"b\c`, 404, 10, 3, "not-found"},
	{"control characters", "GET", "/a\nb\rc\td\x00e\x1f\x7f", 400, 12, 1, "bad-request"},
	{"invalid UTF-8", "G\xc3\x8bT", "/\xff\xfe/\xe2\x80", 405, 19, 2, "method-not-allowed"},
	{"valid UTF-8", "GET", "/日本語/ルート/\u2028", 200, 1290, 40, "fallback"},
	{"long path", "GET", "/" + strings.Repeat("deep/", 2000), 404, 10, 9, "unknown"},
	{"empty", "", "", 0, 0, 0, "served"},
	{"large numbers", "GET", "/", 599, 1 << 40, 1 << 50, "served"},
	{"negative duration", "GET", "/", 200, 1, -5, "served"},
}

func TestAccessLineIsZaps(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 15, 4, 5, 123456789, time.UTC)
	for _, tt := range accessLineTests {
		t.Run(tt.name, func(t *testing.T) {
			checkAccessLine(t, now, []byte(tt.method), []byte(tt.path), tt.status, tt.bytes, tt.durationUS, tt.outcome)
		})
	}
}

// FuzzAccessLine: for any method and path, the line is zap's.
func FuzzAccessLine(f *testing.F) {
	for _, tt := range accessLineTests {
		f.Add(tt.method, tt.path, tt.status, tt.bytes, tt.durationUS)
	}
	now := time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, method, path string, status, bytes int, durationUS int64) {
		checkAccessLine(t, now, []byte(method), []byte(path), status, bytes, durationUS, "served")
	})
}

// accessEntry is one access line, decoded.
type accessEntry struct {
	Level, TS, Logger, Msg, Method, Path, Outcome string
	Status, Bytes                                 int
	DurationUS                                    *int64 `json:"duration_us"`
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
		if e.Level != "info" || e.Logger != "http" || e.Method != r.method || e.Path != r.path ||
			e.Status != r.status || e.Outcome != r.outcome || e.Bytes != bodies[i] {
			t.Errorf("%s %s: access line %+v; want status %d, outcome %s, bytes %d", r.method, r.path, e, r.status, r.outcome, bodies[i])
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
// handler (a malformed head) is logged and counted too. (A head it is too
// large to read gets its 431 the same way, but the reset of the unread
// rest can take the answer away from a test.)
func TestAccessLineForRefusedHead(t *testing.T) {
	t.Parallel()
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	a := sendRaw(strings.TrimPrefix(ts.URL, "http://"), hostileRequest{"GET", "/", "HTTP/1.1", []string{"Content-Length: abc"}})
	if a.err != nil || a.status != 400 {
		t.Fatalf("status %d (%v), want 400", a.status, a.err)
	}
	lines := decodeAccessLines(t, ts.AccessLines())
	if len(lines) != 1 || lines[0].Status != 400 || lines[0].Outcome != "bad-request" {
		t.Fatalf("access lines %+v; want one with status 400, outcome bad-request", lines)
	}
}
