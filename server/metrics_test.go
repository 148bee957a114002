package main

// Prometheus metrics (CONTRACT.md "Endpoints"): /metrics on --metrics-addr
// only, never on the public listener; requests by outcome and encoding,
// bytes, open event streams, events sent, activations, build states,
// invalid builds, rescans by reason, the last build's load time.

import (
	"os"
	"strings"
	"testing"
	"time"
)

// metricsURL is the /metrics URL of a server started with
// MetricsAddr "127.0.0.1:0", as it logged it.
func (ts *testServer) metricsURL(t *testing.T) string {
	t.Helper()
	entries := ts.Logs.FilterMessage("metrics").All()
	if len(entries) != 1 {
		t.Fatal("metrics listener not started")
	}
	return "http://" + entries[0].ContextMap()["addr"].(string) + "/metrics"
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MetricsAddr = "127.0.0.1:0"
	ts := startServer(t, cfg)
	metricsURL := ts.metricsURL(t)

	ts.get(t, "GET", "/", "Accept-Encoding: br")
	ts.get(t, "GET", "/about", "Accept-Encoding: gzip")
	ts.get(t, "GET", "/nope.js")
	s := openStream(t, ts.URL)
	s.nextEvent(t, time.Second)

	_, body := do(t, "GET", metricsURL)
	for _, want := range []string{
		`skewless_requests_total{encoding="br",outcome="served"} 1`,
		`skewless_requests_total{encoding="gzip",outcome="fallback"} 1`,
		`skewless_requests_total{encoding="identity",outcome="unknown"} 1`,
		`skewless_event_streams 1`,
		`skewless_events_sent_total 1`,
		`skewless_builds{state="current"} 1`,
		`skewless_activation_seq 1`,
		`skewless_activations_total 1`, // the first start's
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !regexpMatch(`skewless_response_bytes_total [1-9]`, body) || !regexpMatch(`skewless_last_load_seconds [0-9.e-]+\n`, body) {
		t.Error("bytes or load time missing")
	}

	// A build found invalid and a rescan show up.
	bad := ts.Dir + "/broken"
	copyTree(t, fixtures+"/v2", bad)
	os.Remove(bad + "/index.html")
	eventually(t, 5*time.Second, "invalid build counted", func() bool {
		_, body := do(t, "GET", metricsURL)
		return strings.Contains(body, "skewless_invalid_builds_total 1\n") && strings.Contains(body, `skewless_builds{state="invalid"} 1`)
	})

	// A deploy is one more activation; the current build's removal hands
	// over to the live one, one more again.
	dropBuild(t, ts.Dir, fixtures+"/v2", "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	if err := os.RemoveAll(ts.Dir + "/v2"); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, ts, "v1", 5*time.Second)
	eventually(t, 5*time.Second, "three activations counted", func() bool {
		_, body := do(t, "GET", metricsURL)
		return strings.Contains(body, "skewless_activations_total 3\n")
	})

	// The public listener has no metrics: /metrics there is a client-side
	// route like any other.
	_, public := ts.get(t, "GET", "/metrics")
	if strings.Contains(public, "skewless_requests_total") {
		t.Fatal("metrics served on the public listener")
	}
}
