package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest/manifesttest"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fixtures is the committed Vite builds folder (v1, v2, v3).
const fixtures = "../fixtures/builds"

// testServer is the real server on a loopback port, on a builds folder of
// the test's own.
type testServer struct {
	URL        string
	Dir        string
	Logs       *observer.ObservedLogs
	access     *lineWriter // into accessText
	accessText syncBuffer
	cancel     context.CancelFunc
	done       chan error
}

// testConfig is the serve command's defaults, with a loopback port and no
// metrics listener.
func testConfig(t testing.TB, dir string) serveConfig {
	t.Helper()
	var cfg serveConfig
	if _, err := parseFlags(serveFlags(&cfg), nil); err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Builds, cfg.MetricsAddr = "127.0.0.1:0", dir, ""
	cfg.Settle = 50 * time.Millisecond
	return cfg
}

// startServer runs serve with cfg until the test ends, and returns once
// the builds found at start are loaded and have their best variants (as
// moments after they went live).
func startServer(t testing.TB, cfg serveConfig) *testServer {
	t.Helper()
	ts := startServing(t, cfg)
	ts.waitCompressed(t)
	return ts
}

// startServing runs serve with cfg until the test ends, and returns once
// the builds found at start are loaded.
func startServing(t testing.TB, cfg serveConfig) *testServer {
	t.Helper()
	return startServerLoaded(t, cfg, serveHooks{})
}

// startServerLoaded is startServer with hooks.
func startServerLoaded(t testing.TB, cfg serveConfig, hooks serveHooks) *testServer {
	t.Helper()
	started := make(chan struct{})
	hooks.started = func() { close(started) }
	ts := startServerHooks(t, cfg, hooks)
	select {
	case <-started:
	case err := <-ts.done:
		ts.done <- err // for Stop
		t.Fatalf("server stopped while loading: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the builds found at start did not load within 20s")
	}
	return ts
}

// startServerHooks runs serve with cfg and hooks until the test ends, and
// returns once its port is open.
func startServerHooks(t testing.TB, cfg serveConfig, hooks serveHooks) *testServer {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Dir: cfg.Builds, Logs: logs, cancel: cancel, done: make(chan error, 1)}
	ts.access = newLineWriter(&ts.accessText, 64<<10, time.Second)
	access := newAccessLog(ts.access, false, encoderConfig(false, false))
	addr := make(chan net.Addr, 1)
	hooks.listening = func(a net.Addr) { addr <- a }
	go func() { ts.done <- serve(ctx, cfg, log, access, hooks) }()
	select {
	case a := <-addr:
		ts.URL = "http://" + a.String()
	case err := <-ts.done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second): // generous: -race on a busy 2-core machine
		t.Fatal("server did not start within 30s")
	}
	t.Cleanup(ts.Stop)
	return ts
}

// Stop shuts the server down and waits for it.
func (ts *testServer) Stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case <-ts.done:
	case <-time.After(10 * time.Second):
		panic("server did not stop within 10s")
	}
	ts.access.Stop()
}

// AccessLines returns the access lines written so far.
func (ts *testServer) AccessLines() string {
	_ = ts.access.Sync()
	return ts.accessText.String()
}

// get sends a request with optional headers ("Name: value") and returns the
// response with its body read.
func (ts *testServer) get(t testing.TB, method, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	return do(t, method, ts.URL+path, headers...)
}

var httpClient = &http.Client{
	Transport: &http.Transport{DisableCompression: true},
	Timeout:   10 * time.Second,
}

func do(t testing.TB, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	return doWith(t, httpClient, method, url, headers...)
}

// doWith is do with client: each header is "Name: value".
func doWith(t testing.TB, client *http.Client, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, string(body)
}

// buildsWith returns a fresh builds folder holding copies of the named
// fixture builds (mtimes kept, as `cp -a` does).
func buildsWith(t testing.TB, src string, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, v := range versions {
		copyTree(t, filepath.Join(src, v), filepath.Join(dir, v))
	}
	return dir
}

// copyTree copies a folder, keeping modification times, as `cp -a` does.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := manifesttest.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// versionOf returns the Skewless-Version the server answers / with.
func (ts *testServer) versionOf(t testing.TB) string {
	t.Helper()
	resp, _ := ts.get(t, "HEAD", "/")
	return resp.Header.Get("Skewless-Version")
}

func renameInto(t testing.TB, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}
