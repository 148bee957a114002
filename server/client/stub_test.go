package client_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skewless/skewless/server/client"
)

// stub is a scripted origin for the helper's unit tests: it serves pages
// that load the helper (client.JS, the bytes the binary serves), answers
// /_skewless/version and the event stream with what the test sets, and
// records what the helper asked. It stands in for skewless where a test
// needs an answer the real server never gives on its own (a cache's old
// header, old HTML from a stale CDN) or only at a moment the test must
// choose; the scenario tests run the real server.
type stub struct {
	srv  *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	current  string   // the version /_skewless/version names
	blocked  []string // builds in state "blocked"
	html     string   // the version pages carry (default: current)
	header   string   // Skewless-Version on /data (none when empty)
	body     string   // the pages' <body>; %V is the page's version
	checks   int      // /_skewless/version requests
	streams  []string // the event streams' queries, in order
	open     int      // event streams open now
	channels map[chan string]bool
}

// defaultBody is a page with a link and a kept field.
const defaultBody = `<a id="next" href="/next">next</a> <input id="note" data-skewless-keep>`

func newStub(t *testing.T, current string) *stub {
	t.Helper()
	s := &stub{current: current, body: defaultBody, done: make(chan struct{}), channels: map[chan string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

func (s *stub) base() string { return s.srv.URL }

// set changes the stub's answers under its lock.
func (s *stub) set(fn func(s *stub)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *stub) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	current, html, header, body := s.current, s.html, s.header, s.body
	blocked := s.blocked
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	switch p := r.URL.Path; {
	case p == "/_skewless/client.js":
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(client.JS)
	case p == "/_skewless/version":
		s.set(func(s *stub) { s.checks++ })
		var builds []string
		for _, b := range blocked {
			builds = append(builds, fmt.Sprintf(`{"version": %q, "state": "blocked"}`, b))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version": %q, "builds": [{"version": %q, "state": "current"}%s]}`,
			current, current, strings.Join(append([]string{""}, builds...), ", "))
	case p == "/_skewless/events":
		s.stream(w, r, current)
	case p == "/data":
		if header != "" {
			w.Header().Set("Skewless-Version", header)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	case strings.Contains(p, "."):
		http.NotFound(w, r)
	default:
		if html == "" {
			html = current
		}
		if v, ok := strings.CutPrefix(p, "/v/"); ok { // /v/<version>/...: a page of that build
			html, _, _ = strings.Cut(v, "/")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><script src="/_skewless/client.js" data-version="%s"></script>`+
			`<title>stub</title></head><body>%s</body></html>`, html, strings.ReplaceAll(body, "%V", html))
	}
}

// stream is an event stream: the current version on connect, then what
// send writes.
func (s *stub) stream(w http.ResponseWriter, r *http.Request, current string) {
	ch := make(chan string, 8)
	s.set(func(s *stub) {
		s.streams = append(s.streams, r.URL.RawQuery)
		s.open++
		s.channels[ch] = true
	})
	defer s.set(func(s *stub) { s.open--; delete(s.channels, ch) })
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 1000\n\nevent: version\ndata: {\"version\": %q}\n\n", current)
	w.(http.Flusher).Flush()
	for {
		select {
		case ev := <-ch:
			fmt.Fprint(w, ev)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// send writes an event to every open stream.
func (s *stub) send(event, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.channels {
		ch <- fmt.Sprintf("event: %s\ndata: %s\n\n", event, data)
	}
}

// waitFor checks cond (under the stub's lock) every 10ms until it holds.
func (s *stub) waitFor(t *testing.T, what string, within time.Duration, cond func(s *stub) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s.mu.Lock()
		ok := cond(s)
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("not %s within %v (checks %d, streams %q, open %d)", what, within, s.checks, s.streams, s.open)
		}
		time.Sleep(10 * time.Millisecond) // retry interval
	}
}

// hold asserts that cond stays false for the whole window: the one place
// where a bounded wait is the assertion (nothing happens).
func (s *stub) hold(t *testing.T, what string, window time.Duration, cond func(s *stub) bool) {
	t.Helper()
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		bad := cond(s)
		s.mu.Unlock()
		if bad {
			t.Fatalf("%s within %v", what, window)
		}
		time.Sleep(10 * time.Millisecond) // retry interval
	}
}

func (s *stub) Checks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checks
}
