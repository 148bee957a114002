package main

// Prometheus metrics (CONTRACT.md "Endpoints"): /metrics on --metrics-addr
// only, never on the public listener; requests by outcome, open event
// streams, activations, build states.

import (
	"strings"
	"testing"
	"time"
)

func TestMetricsOnTheirOwnListener(t *testing.T) {
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.MetricsAddr = "127.0.0.1:0"
	ts := startServer(t, cfg)
	entries := ts.Logs.FilterMessage("metrics").All()
	if len(entries) != 1 {
		t.Fatal("metrics listener not started")
	}
	metricsURL := "http://" + entries[0].ContextMap()["addr"].(string) + "/metrics"

	ts.get(t, "GET", "/")
	ts.get(t, "GET", "/about")
	ts.get(t, "GET", "/nope.js")
	s := openStream(t, ts.URL)
	s.nextEvent(t, time.Second)

	_, body := do(t, "GET", metricsURL)
	for _, want := range []string{
		`skewless_requests_total{outcome="served"} 1`,
		`skewless_requests_total{outcome="fallback"} 1`,
		`skewless_requests_total{outcome="unknown"} 1`,
		`skewless_event_streams 1`,
		`skewless_builds{state="current"} 1`,
		`skewless_activation_seq 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The public listener has no metrics: /metrics there is a client-side
	// route like any other.
	_, public := ts.get(t, "GET", "/metrics")
	if strings.Contains(public, "skewless_requests_total") {
		t.Fatal("metrics served on the public listener")
	}
}
