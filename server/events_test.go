package main

// The event stream (CONTRACT.md "Endpoints", GET /_skewless/events):
//   - text/event-stream, Cache-Control: no-store, X-Accel-Buffering: no;
//   - on connect at once: retry: and event: version with id: <activation
//     sequence> and data: {"version": "<current>"} (headers only leave
//     with the first flush, so a late first write would hang clients);
//   - one such event per activation; a comment every --heartbeat;
//   - Last-Event-ID: no repeat of the event the client already has;
//   - past --max-sse open streams: 503 with Retry-After;
//   - shutdown ends every stream promptly.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sseStream reads one event stream line by line.
type sseStream struct {
	resp  *http.Response
	lines chan string
}

func openStream(t *testing.T, url string, headers ...string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/_skewless/events", nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	// Headers must arrive promptly even though the body never ends.
	tr := &http.Transport{ResponseHeaderTimeout: 2 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	s := &sseStream{resp: resp, lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s
}

// next returns the next block (lines up to a blank line), or fails.
func (s *sseStream) next(t *testing.T, within time.Duration) []string {
	t.Helper()
	var block []string
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("stream ended; block so far %q", block)
			}
			if l == "" {
				return block
			}
			block = append(block, l)
		case <-deadline:
			t.Fatalf("no complete block within %s; so far %q", within, block)
		}
	}
}

// nextEvent skips comment and retry blocks.
func (s *sseStream) nextEvent(t *testing.T, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b := s.next(t, time.Until(deadline))
		if len(b) > 0 && strings.HasPrefix(b[0], "event:") {
			return b
		}
	}
}

func TestEventStreamOnConnectAndActivation(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	s := openStream(t, ts.URL)
	for k, want := range map[string]string{
		"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no", "Skewless-Version": "v1",
	} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if b := s.next(t, time.Second); len(b) != 1 || b[0] != "retry: 3000" {
		t.Fatalf("first block %q, want retry", b)
	}
	want := []string{"event: version", "id: 1", `data: {"version": "v1"}`}
	if b := s.next(t, time.Second); strings.Join(b, "|") != strings.Join(want, "|") {
		t.Fatalf("on connect %q, want %q", b, want)
	}
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	want = []string{"event: version", "id: 2", `data: {"version": "v2"}`}
	if b := s.nextEvent(t, 5*time.Second); strings.Join(b, "|") != strings.Join(want, "|") {
		t.Fatalf("after deploy %q, want %q", b, want)
	}
}

func TestEventStreamHeartbeat(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.Heartbeat = 100 * time.Millisecond
	ts := startServer(t, cfg)
	s := openStream(t, ts.URL)
	s.nextEvent(t, time.Second)
	for range 2 {
		if b := s.next(t, time.Second); len(b) != 1 || !strings.HasPrefix(b[0], ":") {
			t.Fatalf("want a comment, got %q", b)
		}
	}
}

func TestEventStreamLastEventID(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.Heartbeat = 100 * time.Millisecond
	ts := startServer(t, cfg)

	// Up to date: retry, then only heartbeats.
	s := openStream(t, ts.URL, "Last-Event-ID: 1")
	if b := s.next(t, time.Second); b[0] != "retry: 3000" {
		t.Fatalf("first block %q", b)
	}
	if b := s.next(t, time.Second); !strings.HasPrefix(b[0], ":") {
		t.Fatalf("an up-to-date client got %q", b)
	}
	// Behind (or from another server's history): the current version.
	s = openStream(t, ts.URL, "Last-Event-ID: 0")
	if b := s.nextEvent(t, time.Second); b[1] != "id: 1" {
		t.Fatalf("a client behind got %q", b)
	}
}

func TestEventStreamLimit(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MaxSSE = 2
	cfg.Heartbeat = 50 * time.Millisecond // a gone client is seen on the next failed write
	ts := startServer(t, cfg)
	openStream(t, ts.URL).nextEvent(t, time.Second)
	second := openStream(t, ts.URL)
	second.nextEvent(t, time.Second)
	resp, _ := ts.get(t, "GET", "/_skewless/events")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("third stream: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A closed stream frees its place (seen on the next failed flush).
	second.resp.Body.Close()
	eventually(t, 5*time.Second, "a place frees up", func() bool {
		resp, err := (&http.Client{Timeout: 300 * time.Millisecond}).Get(ts.URL + "/_skewless/events")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func TestShutdownEndsStreams(t *testing.T) {
	ts := startServer(t, testConfig(t, buildsWith(t, fixtures, "v1")))
	s := openStream(t, ts.URL)
	s.nextEvent(t, time.Second)
	start := time.Now()
	ts.Stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %s with an open stream", d)
	}
	select {
	case _, ok := <-s.lines:
		for ok {
			_, ok = <-s.lines
		}
	case <-time.After(2 * time.Second):
		t.Fatal("stream still open after shutdown")
	}
}

// TestEventStreamLimitRace: many streams opened at once past --max-sse:
// exactly that many open, every other one gets the 503 (with the version
// header), and once they close every place is free again.
func TestEventStreamLimitRace(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MaxSSE = 3
	cfg.Heartbeat = 50 * time.Millisecond // a gone client is seen on the next failed write
	cfg.MetricsAddr = "127.0.0.1:0"
	ts := startServer(t, cfg)
	metrics := ts.metricsURL(t)
	streams := func(n int) string { return fmt.Sprintf("skewless_event_streams %d\n", n) }
	const clients = 24
	type answer struct {
		status         int
		version, retry string
		body           io.ReadCloser
		err            error
	}
	open := func() answer {
		resp, err := (&http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Second}}).Get(ts.URL + "/_skewless/events")
		if err != nil {
			return answer{err: err}
		}
		return answer{resp.StatusCode, resp.Header.Get("Skewless-Version"), resp.Header.Get("Retry-After"), resp.Body, nil}
	}
	answers := make(chan answer, clients)
	start := make(chan struct{})
	for range clients {
		go func() {
			<-start
			answers <- open()
		}()
	}
	close(start)
	var bodies []io.ReadCloser
	busy := 0
	for range clients {
		a := <-answers
		switch {
		case a.err != nil:
			t.Fatalf("a client got no answer: %v", a.err)
		case a.status == 200:
			bodies = append(bodies, a.body)
		case a.status == 503 && a.version == "v1" && a.retry != "":
			busy++
			a.body.Close()
		default:
			t.Fatalf("status %d, Skewless-Version %q, Retry-After %q", a.status, a.version, a.retry)
		}
	}
	if len(bodies) != cfg.MaxSSE || busy != clients-cfg.MaxSSE {
		t.Fatalf("%d streams opened and %d refused; want %d and %d", len(bodies), busy, cfg.MaxSSE, clients-cfg.MaxSSE)
	}
	if _, m := do(t, "GET", metrics); !strings.Contains(m, streams(cfg.MaxSSE)) {
		t.Errorf("metrics do not count %d open streams", cfg.MaxSSE)
	}
	for _, b := range bodies {
		b.Close()
	}
	// Every place frees up: the count falls to zero and max streams open.
	eventually(t, 5*time.Second, "open streams back to 0", func() bool {
		_, m := do(t, "GET", metrics)
		return strings.Contains(m, streams(0))
	})
	for i := range cfg.MaxSSE {
		if a := open(); a.err != nil || a.status != 200 {
			t.Fatalf("stream %d after the others closed: %d %v", i+1, a.status, a.err)
		} else {
			defer a.body.Close()
		}
	}
}
