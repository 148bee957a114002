package main

// Churn: the current build flips dozens of times under continuous load
// (CONTRACT.md "Deploying": `skewless activate`, "a running server follows
// within a second"; "Serving" rules 3-4; "HTML injection").
//
// Behaviours covered, for every response received during the churn:
//   - no transport error and no 5xx;
//   - a page (/, a client-side route, /index.html) is one build's page: its
//     injected data-version equals its Skewless-Version header and its entry
//     script is that build's own, never another's (no mixed responses);
//   - every asset a page names in its script and link tags answers 200
//     right after (superseded builds stay live for --grace);
//   - every hashed asset of the three builds answers 200 with its own
//     bytes throughout, whatever build is current;
//   - Content-Length matches the body of every 200.
//
// scripts/churn.sh runs the same checks against the binary for longer.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

const (
	churnLoad    = 5 * time.Second // how long the load runs at least
	churnMaxLoad = 8 * time.Second // and at most, while flips are fewer than churnFlips
	churnFlips   = 30              // flips aimed for within churnLoad
	// churnMinFlips fails a run whose flips did not happen; each flip spawns
	// a process, which a loaded 2-core machine can make slow.
	churnMinFlips      = 8
	churnPageWorkers   = 3
	churnAssetWorkers  = 2
	churnFollowTimeout = 2 * time.Second // "within a second", with slack for -race
)

var churnVersions = []string{"v1", "v2", "v3"}

// churnOrder is the flip sequence: roll forward, then back, and again.
var churnOrder = []string{"v1", "v2", "v3", "v2"}

// churnPages are the page requests: the root, client-side routes (SPA
// fallback) and the document itself.
var churnPages = []string{"/", "/some/route", "/about", "/report/2024/q1", "/index.html"}

// assetRefRe finds the URL of every script and link tag of a page.
var assetRefRe = regexp.MustCompile(`<(?:script|link)\b[^>]*?\s(?:src|href)="([^"]*)"`)

// dataVersionRe finds the injected helper tag's version.
var dataVersionRe = regexp.MustCompile(`data-version="([^"]*)"`)

// churnFixture is what the checks compare against: each build's entry
// script and every hashed asset's bytes.
type churnFixture struct {
	entry  map[string]string // version → the entry script its index.html loads
	assets map[string][]byte // hashed URL path → bytes (shared paths have equal bytes)
}

func loadChurnFixture(t *testing.T) churnFixture {
	t.Helper()
	fx := churnFixture{entry: map[string]string{}, assets: map[string][]byte{}}
	for _, v := range churnVersions {
		index := fixtureFileBytes(t, fixtures, v, "/index.html")
		m := regexp.MustCompile(`<script type="module"[^>]*src="([^"]+)"`).FindSubmatch(index)
		if m == nil {
			t.Fatalf("%s/index.html has no entry script", v)
		}
		fx.entry[v] = string(m[1])
		entries, err := os.ReadDir(filepath.Join(fixtures, v, "assets"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := "/assets/" + e.Name()
			b := fixtureFileBytes(t, fixtures, v, p)
			if old, ok := fx.assets[p]; ok && string(old) != string(b) {
				t.Fatalf("%s differs between builds: the fixtures are not content-hashed", p)
			}
			fx.assets[p] = b
		}
	}
	return fx
}

// churnStats counts what the load saw. Workers only add; the test reads
// after they stopped.
type churnStats struct {
	requests, pages, assets atomic.Int64
	transport, serverErr    atomic.Int64 // transport errors, 5xx
	mixed, missing, wrong   atomic.Int64 // mixed pages, unservable assets, other bad answers

	mu       sync.Mutex
	problems []string       // the first few, for the report
	seen     map[string]int // pages per version
}

func (s *churnStats) problem(counter *atomic.Int64, format string, args ...any) {
	counter.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

func (s *churnStats) sawPage(v string) {
	s.mu.Lock()
	s.seen[v]++
	s.mu.Unlock()
}

// churnClient reuses a few keep-alive connections per worker, as browsers
// do, and never asks for compression (bodies compare with the fixtures).
func churnClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: churnPageWorkers + churnAssetWorkers}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// churnGet fetches url and reads the whole body.
func churnGet(c *http.Client, url string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	return fetchAll(c, req)
}

// fetchAll sends req and reads the whole body. A nil error means a
// complete answer: status, headers, and a body of its Content-Length.
func fetchAll(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, body, fmt.Errorf("read body: %w", err)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return resp, body, fmt.Errorf("body of %d bytes, Content-Length %d", len(body), resp.ContentLength)
	}
	return resp, body, nil
}

// get sends one request and classifies transport errors and 5xx; it
// returns the response only when it is complete and below 500.
func (s *churnStats) get(c *http.Client, base, p string) (*http.Response, []byte) {
	s.requests.Add(1)
	resp, body, err := churnGet(c, base+p)
	switch {
	case err != nil:
		s.problem(&s.transport, "GET %s: %v", p, err)
		return nil, nil
	case resp.StatusCode >= 500:
		s.problem(&s.serverErr, "GET %s: %d", p, resp.StatusCode)
		return nil, nil
	}
	return resp, body
}

// checkPage fetches a page, checks it is one build's whole page, then
// fetches every asset it names.
func (s *churnStats) checkPage(c *http.Client, base, p string, fx churnFixture) {
	resp, body := s.get(c, base, p)
	if resp == nil {
		return
	}
	s.pages.Add(1)
	v := resp.Header.Get("Skewless-Version")
	if resp.StatusCode != 200 || v == "" {
		s.problem(&s.wrong, "GET %s: %d, Skewless-Version %q", p, resp.StatusCode, v)
		return
	}
	s.sawPage(v)
	doc := string(body)
	tags := dataVersionRe.FindAllStringSubmatch(doc, -1)
	if len(tags) != 1 || tags[0][1] != v {
		s.problem(&s.mixed, "GET %s: Skewless-Version %q, injected data-version %v", p, v, tags)
	}
	for other, entry := range fx.entry {
		if has := strings.Contains(doc, `src="`+entry+`"`); has != (other == v) {
			s.problem(&s.mixed, "GET %s: Skewless-Version %q, page names %s's entry %s: %t", p, v, other, entry, has)
		}
	}
	for _, m := range assetRefRe.FindAllStringSubmatch(doc, -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			continue
		}
		ar, _ := s.get(c, base, ref)
		if ar != nil && ar.StatusCode != 200 {
			s.problem(&s.missing, "%s (of %s's page, via %s): %d %s", ref, v, p, ar.StatusCode, ar.Header.Get("Skewless-Asset"))
		}
	}
}

// checkAsset fetches one hashed asset: 200 with its own bytes.
func (s *churnStats) checkAsset(c *http.Client, base, p string, want []byte) {
	resp, body := s.get(c, base, p)
	if resp == nil {
		return
	}
	s.assets.Add(1)
	switch {
	case resp.StatusCode != 200:
		s.problem(&s.missing, "GET %s: %d %s (current %s)", p, resp.StatusCode, resp.Header.Get("Skewless-Asset"), resp.Header.Get("Skewless-Version"))
	case string(body) != string(want):
		s.problem(&s.wrong, "GET %s: %d bytes that are not the file's %d", p, len(body), len(want))
	}
}

// runChurnLoad starts the workers; the returned func stops them and waits.
func runChurnLoad(t *testing.T, base string, fx churnFixture, st *churnStats) (stop func()) {
	c := churnClient(t)
	var quit atomic.Bool
	var wg sync.WaitGroup
	assets := make([]string, 0, len(fx.assets))
	for p := range fx.assets {
		assets = append(assets, p)
	}
	for w := range churnPageWorkers {
		wg.Go(func() {
			for i := w; !quit.Load(); i++ {
				st.checkPage(c, base, churnPages[i%len(churnPages)], fx)
			}
		})
	}
	for w := range churnAssetWorkers {
		wg.Go(func() {
			for i := w; !quit.Load(); i++ {
				p := assets[i%len(assets)]
				st.checkAsset(c, base, p, fx.assets[p])
			}
		})
	}
	var once sync.Once
	stop = func() { once.Do(func() { quit.Store(true); wg.Wait() }) }
	t.Cleanup(stop) // before the server stops: cleanups run last-in first-out
	return stop
}

func TestChurnActivateUnderLoad(t *testing.T) {
	t.Parallel()
	fx := loadChurnFixture(t)
	dir := buildsWith(t, fixtures, churnVersions...)
	cfg := testConfig(t, dir)
	cfg.Grace = time.Hour // every build stays live through the churn
	ts := startServer(t, cfg)
	skewless(t, "--help") // build the binary before the clock starts

	cur := ts.versionOf(t)
	if cur == "" {
		t.Fatal("no current build at start")
	}
	st := &churnStats{seen: map[string]int{}}
	stop := runChurnLoad(t, ts.URL, fx, st)

	// Flip on a steady beat: each flip is `skewless activate` (another
	// process writing the state file), then waits for the server to follow.
	start := time.Now()
	beat := time.NewTicker(churnLoad / churnFlips)
	defer beat.Stop()
	flips := 0
	var slowestCmd, slowestFollow time.Duration
	for i := 0; time.Since(start) < churnLoad || (flips < churnFlips && time.Since(start) < churnMaxLoad); i++ {
		next := churnOrder[i%len(churnOrder)]
		if next == cur {
			continue
		}
		issued := time.Now()
		if out, code := skewless(t, "activate", next, "--builds", dir); code != 0 {
			t.Fatalf("activate %s: exit %d\n%s", next, code, out)
		}
		done := time.Now()
		waitVersion(t, ts, next, churnFollowTimeout)
		slowestCmd, slowestFollow = max(slowestCmd, done.Sub(issued)), max(slowestFollow, time.Since(done))
		cur = next
		flips++
		<-beat.C
	}
	stop()
	elapsed := time.Since(start)

	st.mu.Lock()
	defer st.mu.Unlock()
	t.Logf("churn: %s, %d flips (slowest: activate %s, server following %s), %d requests (%d pages %v, %d hashed assets), %.0f req/s",
		elapsed.Round(time.Millisecond), flips, slowestCmd.Round(time.Millisecond), slowestFollow.Round(time.Millisecond), st.requests.Load(), st.pages.Load(), st.seen,
		st.assets.Load(), float64(st.requests.Load())/elapsed.Seconds())
	t.Logf("churn: %d transport errors, %d 5xx, %d mixed pages, %d unservable assets, %d other bad answers",
		st.transport.Load(), st.serverErr.Load(), st.mixed.Load(), st.missing.Load(), st.wrong.Load())
	for _, p := range st.problems {
		t.Error(p)
	}
	if flips < churnMinFlips {
		t.Errorf("only %d flips in %s", flips, elapsed.Round(time.Millisecond))
	}
	for _, v := range churnVersions {
		if st.seen[v] == 0 {
			t.Errorf("no page of %s was served during the churn", v)
		}
	}
	if errs := ts.Logs.FilterLevelExact(zapcore.ErrorLevel); errs.Len() > 0 {
		t.Errorf("errors logged during the churn: %v", errs.All()[0].Entry.Message)
	}
}
