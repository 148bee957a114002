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
// The load and the checks are package churncheck's; scripts/churn.sh runs
// them against the binary for longer.

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/skewless/skewless/server/churncheck"
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

// churnGet fetches url and reads the whole body (churncheck.Get).
func churnGet(c *http.Client, url string) (*http.Response, []byte, error) {
	return churncheck.Get(c, url)
}

// fetchAll sends req and reads the whole body (churncheck.Fetch). A nil
// error means a complete answer: status, headers, and a body of its
// Content-Length.
func fetchAll(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	return churncheck.Fetch(c, req)
}

func TestChurnActivateUnderLoad(t *testing.T) {
	t.Parallel()
	fx, err := churncheck.LoadFixture(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	dir := buildsWith(t, fixtures, churncheck.Versions...)
	cfg := testConfig(t, dir)
	cfg.Grace = time.Hour // every build stays live through the churn
	ts := startServer(t, cfg)
	skewless(t, "--help") // build the binary before the clock starts

	cur := ts.versionOf(t)
	if cur == "" {
		t.Fatal("no current build at start")
	}
	st := &churncheck.Stats{}
	stop := churncheck.StartLoad(ts.URL, fx, churnPageWorkers, churnAssetWorkers, st)
	t.Cleanup(stop) // before the server stops: cleanups run last-in first-out

	// Flip on a steady beat: each flip is `skewless activate` (another
	// process writing the state file), then waits for the server to follow.
	start := time.Now()
	beat := time.NewTicker(churnLoad / churnFlips)
	defer beat.Stop()
	flips := 0
	var slowestCmd, slowestFollow time.Duration
	for i := 0; time.Since(start) < churnLoad || (flips < churnFlips && time.Since(start) < churnMaxLoad); i++ {
		next := churncheck.FlipOrder[i%len(churncheck.FlipOrder)]
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

	seen := st.Seen()
	t.Logf("churn: %s, %d flips (slowest: activate %s, server following %s), %d requests (%d pages %v, %d hashed assets), %.0f req/s",
		elapsed.Round(time.Millisecond), flips, slowestCmd.Round(time.Millisecond), slowestFollow.Round(time.Millisecond), st.Requests.Load(), st.Pages.Load(), seen,
		st.Assets.Load(), float64(st.Requests.Load())/elapsed.Seconds())
	t.Logf("churn: %d transport errors, %d 5xx, %d mixed pages, %d unservable assets, %d other bad answers",
		st.Transport.Load(), st.ServerErr.Load(), st.Mixed.Load(), st.Missing.Load(), st.Wrong.Load())
	for _, p := range st.Problems() {
		t.Error(p)
	}
	if flips < churnMinFlips {
		t.Errorf("only %d flips in %s", flips, elapsed.Round(time.Millisecond))
	}
	for _, v := range churncheck.Versions {
		if seen[v] == 0 {
			t.Errorf("no page of %s was served during the churn", v)
		}
	}
	if errs := ts.Logs.FilterLevelExact(zapcore.ErrorLevel); errs.Len() > 0 {
		t.Errorf("errors logged during the churn: %v", errs.All()[0].Entry.Message)
	}
}
