package main

// Blocked builds (CONTRACT.md "blocked", `skewless block` / `unblock`),
// over real HTTP with the binary's commands on a running server:
//   - the current build cannot be blocked: one line says what to do;
//   - a blocked build's own paths answer 404 with Skewless-Asset: blocked,
//     paths the current build also has are still served;
//   - /_skewless/version lists it as blocked; status shows it with its
//     reason; an open stream gets event: blocked naming it, a new stream
//     on connect;
//   - activate refuses it; unblock makes it live again, and the streams
//     hear that nothing is blocked any more.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

const viteShared = "/assets/vendor-Bb1KB3MD.js" // the same file in v1 and v2

func TestBlockBuild(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	renameIntoBuilds(t, ts, fixtures, "v2")
	stream := openStream(t, ts.URL)
	if ev := stream.nextEvent(t, 5*time.Second); !strings.Contains(strings.Join(ev, "\n"), `"v2"`) {
		t.Fatalf("first event %q, want v2's version", ev)
	}

	out, code := skewless(t, "block", "v2", "--builds", dir)
	if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "activate another first") {
		t.Errorf("blocking the current build: exit %d, %q; want one line saying to activate another first", code, out)
	}
	if out, code := skewless(t, "block", "v9", "--builds", dir); code == 0 || !strings.Contains(out, `no build "v9"`) {
		t.Errorf("blocking an unknown build: exit %d, %q", code, out)
	}
	if out, code := skewless(t, "block", "v1", "--builds", dir, "--reason", "leaks a key"); code != 0 {
		t.Fatalf("block v1: exit %d, %s", code, out)
	}

	eventually(t, 5*time.Second, "v1's own chunk blocked", func() bool {
		resp, _ := ts.get(t, "GET", viteV1About)
		return resp.StatusCode == http.StatusNotFound && resp.Header.Get("Skewless-Asset") == "blocked"
	})
	resp, body := ts.get(t, "GET", viteV1About)
	assertHeader(t, resp, "Cache-Control", ccNoStore)
	assertNotIndex(t, resp, body)
	resp, _ = ts.get(t, "GET", viteShared)
	assertStatus(t, resp, http.StatusOK)
	if ev := stream.nextEvent(t, 5*time.Second); !slicesEqual(ev, []string{"event: blocked", `data: {"versions": ["v1"]}`}) {
		t.Errorf("open stream: %q, want the blocked event naming v1", ev)
	}
	if ev := openStream(t, ts.URL).nextEvents(t, 2, 5*time.Second); !strings.Contains(ev, "event: blocked\n"+`data: {"versions": ["v1"]}`) {
		t.Errorf("new stream: %q, want the blocked event on connect", ev)
	}
	if states := versionStates(t, ts); states["v1"] != "blocked" || states["v2"] != "current" {
		t.Errorf("/_skewless/version states %v", states)
	}
	out, _ = skewless(t, "status", "--builds", dir)
	if !regexp.MustCompile(`(?m)^v1\s+blocked\s`).MatchString(out) || !regexp.MustCompile(`(?m)^v1: blocked .*: leaks a key$`).MatchString(out) {
		t.Errorf("status does not show v1 blocked with its reason:\n%s", out)
	}
	if out, code := skewless(t, "activate", "v1", "--builds", dir); code == 0 || !strings.Contains(out, "unblock it first") {
		t.Errorf("activating a blocked build: exit %d, %q", code, out)
	}

	if out, code := skewless(t, "unblock", "v1", "--builds", dir); code != 0 || !strings.Contains(out, "unblocked: live") {
		t.Fatalf("unblock v1: exit %d, %s", code, out)
	}
	eventually(t, 5*time.Second, "v1's chunk served again", func() bool {
		resp, _ := ts.get(t, "GET", viteV1About)
		return resp.StatusCode == http.StatusOK
	})
	if ev := stream.nextEvent(t, 5*time.Second); !slicesEqual(ev, []string{"event: blocked", `data: {"versions": []}`}) {
		t.Errorf("open stream after the unblock: %q, want a blocked event naming none", ev)
	}
	if states := versionStates(t, ts); states["v1"] != "live" {
		t.Errorf("/_skewless/version states after the unblock %v", states)
	}
}

// nextEvents returns the next n events of the stream as text.
func (s *sseStream) nextEvents(t *testing.T, n int, within time.Duration) string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, strings.Join(s.nextEvent(t, within), "\n"))
	}
	return strings.Join(out, "\n\n")
}

// versionStates returns each build's state as /_skewless/version lists it.
func versionStates(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	_, body := ts.get(t, "GET", "/_skewless/version")
	var v versionJSON
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("version body %q: %v", body, err)
	}
	out := map[string]string{}
	for _, b := range v.Builds {
		out[b.Version] = b.State
	}
	return out
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }
