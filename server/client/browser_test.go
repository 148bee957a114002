package client_test

// Browser tests of the client helper against the real binary and the
// committed fixture builds. They cover the contract's "client helper"
// section:
//   - a deploy makes an open tab stale within a second, without a reload;
//   - the next same-origin navigation is then a full load of the new build;
//   - a chunk of a retired build turns the navigation that needed it into
//     one full load of its target;
//   - a chunk that stays missing after that load causes no loop;
//   - an app that cancels skewless:stale keeps navigating client-side;
//   - a same-origin fetch's Skewless-Version header and the poll on
//     visibility change find a deploy when the event stream is blocked;
//   - the page is never reloaded under the user's hands.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

const typed = "half-typed note"

// TestMissingChunkNoReloadLoop: a lazy chunk is missing from the current
// build too, so a full load cannot help. The helper loads the page at most
// once; a tab on the current build is never stale and never reloaded:
// the app shows its own error view.
func TestMissingChunkNoReloadLoop(t *testing.T) {
	t.Parallel()
	broken := brokenBuild(t, vite.path("v2"))

	t.Run("after-deploy", func(t *testing.T) {
		t.Parallel()
		// The tab is on v1, whose chunk is retired: one forced load of
		// /about is right, and it lands on a v2 that lacks the chunk too.
		srv := startServer(t, vite.path("v1"), "v1", "--grace", "0")
		tb := openTab(t, srv, tabOptions{blockStream: true})
		tb.Open("/")
		tb.waitBlocked()
		srv.Deploy(t, broken, "v2")
		srv.WaitServing(t, "v2")
		srv.WaitRetired(t, lazyChunk(t, vite.path("v1")))

		tb.Click("#link-about")
		checkSettled(t, tb, "v2", boot{Version: "v1", Path: "/"}, boot{Version: "v2", Path: "/about"})
		ev := tb.Events()
		if len(ev) != 1 || ev[0].Loaded != "v1" || ev[0].Current != "v2" {
			t.Errorf("events %+v, want one, from the v1 document", ev)
		}
	})

	t.Run("current-build", func(t *testing.T) {
		t.Parallel()
		// The tab is on the broken build itself: a reload would load the
		// same build, so there is none, and no stale event either.
		srv := startServer(t, broken, "v2")
		tb := openTab(t, srv, tabOptions{})
		tb.Open("/")
		tb.Click("#link-about")
		tb.waitCount(&tb.checks, "the helper never asked /_skewless/version about the failed chunk")
		checkSettled(t, tb, "v2", boot{Version: "v2", Path: "/"})
		if ev := tb.Events(); len(ev) != 0 {
			t.Errorf("events %+v, want none: v2 is current", ev)
		}
	})
}

// checkSettled asserts that the tab ends on /about of version with the
// route's error view, fresh, after exactly the loads want, and then stays
// put.
func checkSettled(t *testing.T, tb *tab, version string, want ...boot) {
	t.Helper()
	st := waitState(tb, `s.route === 'error' && s.loaded === '`+version+`'`, loadWithin)
	if st.Path != "/about" || st.Stale || st.Loaded != version {
		t.Errorf("final page %+v, want a fresh /about of %s showing the app's error view", st, version)
	}
	// A loop would reload within 10 s of the first forced load; any load
	// ends the poll's document, which hold reports.
	hold(tb, `window.__bootId !== '`+st.BootID+`' || window.skewless.stale`, 3*time.Second)
	checkBoots(t, tb.Boots(), want...)
}

// TestFetchHeaderMarksStale: with the event stream blocked, the
// Skewless-Version header of any same-origin fetch tells the tab.
func TestFetchHeaderMarksStale(t *testing.T) {
	t.Parallel()
	srv := startServer(t, vite.path("v1"), "v1")
	tb := openTab(t, srv, tabOptions{blockStream: true})
	tb.Open("/")
	tb.waitBlocked()
	srv.Deploy(t, vite.path("v2"), "v2")
	srv.WaitServing(t, "v2")
	if tb.State().Stale {
		t.Fatal("stale before any fetch: this test would prove nothing")
	}

	if status := eval[int](tb, `fetch('/robots.txt').then(r => r.status)`); status != http.StatusOK {
		t.Fatalf("fetch /robots.txt: status %d", status)
	}
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)
	ev := tb.Events()
	if want := (staleEvent{Reason: "header", Loaded: "v1", Current: "v2"}); len(ev) != 1 || !sameEvent(ev[0], want) {
		t.Errorf("events %+v, want one %+v", ev, want)
	}
	checkBoots(t, tb.Boots(), boot{Version: "v1", Path: "/"})
}

// TestPollWhenTabBecomesVisible: with the event stream blocked, the tab
// asks /_skewless/version when it becomes visible again. The test hides
// and shows it as a user does, by minimizing and restoring its window
// (Browser.setWindowBounds), so the browser itself changes
// document.visibilityState and fires visibilitychange.
func TestPollWhenTabBecomesVisible(t *testing.T) {
	t.Parallel()
	srv := startServer(t, vite.path("v1"), "v1")
	tb := openTab(t, srv, tabOptions{blockStream: true})
	tb.Open("/")
	tb.waitBlocked()
	eval[any](tb, `window.__visibility = []; document.addEventListener('visibilitychange',
		() => __visibility.push(document.visibilityState))`)

	tb.setVisible(false)
	wait[bool](tb, `document.visibilityState === 'hidden'`, 2*time.Second)
	srv.Deploy(t, vite.path("v2"), "v2")
	srv.WaitServing(t, "v2")
	if tb.State().Stale {
		t.Fatal("stale while hidden: this test would prove nothing")
	}

	tb.setVisible(true)
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)
	if vis := eval[[]string](tb, `window.__visibility`); !slices.Equal(vis, []string{"hidden", "visible"}) {
		t.Errorf("visibilitychange events: %v, want [hidden visible]", vis)
	}
	ev := tb.Events()
	if want := (staleEvent{Reason: "poll", Loaded: "v1", Current: "v2"}); len(ev) != 1 || !sameEvent(ev[0], want) {
		t.Errorf("events %+v, want one %+v", ev, want)
	}
	checkBoots(t, tb.Boots(), boot{Version: "v1", Path: "/"})
}

// TestNoReloadUnderUsersHands: a stale tab the user does not navigate
// stays as it is: same document, typed text intact.
func TestNoReloadUnderUsersHands(t *testing.T) {
	t.Parallel()
	srv := startServer(t, vite.path("v1"), "v1")
	tb := openTab(t, srv, tabOptions{})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	tb.Type("#note", typed)

	srv.Deploy(t, vite.path("v2"), "v2")
	srv.Activated(t, "v2")
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)
	hold(tb, `window.__bootId !== '`+first.BootID+`' || document.getElementById('note').value !== '`+typed+`'`,
		1500*time.Millisecond)
	if st := tb.State(); st.Note != typed || st.Route != "home" || st.Path != "/" {
		t.Errorf("after a poll window: %+v", st)
	}
	checkBoots(t, tb.Boots(), boot{Version: "v1", Path: "/"})
}

// TestStaleLatency measures, over ten deploys, the time from the rename
// of a build folder into the builds folder to skewless.stale in an open
// tab, and logs the median. Each must be within 1 s of the server serving
// the build.
func TestStaleLatency(t *testing.T) {
	t.Parallel()
	srv := startServer(t, vite.path("v1"), "v1")
	tb := openTab(t, srv, tabOptions{})
	sources := []string{vite.path("v2"), vite.path("v3"), vite.path("v1")}
	prev := "v1"
	var fromRename, fromServed []time.Duration
	for i := range 10 {
		tb.Open("/")
		tb.waitStream()
		if st := tb.State(); st.Loaded != prev || st.Stale {
			t.Fatalf("deploy %d: tab %+v, want fresh %s", i, st, prev)
		}
		version := fmt.Sprintf("d%02d", i)
		renamed := srv.Deploy(t, sources[i%len(sources)], version)
		served := srv.Activated(t, version)
		ev := wait[[]staleEvent](tb, `window.__events.length && window.__events`, staleWithin)
		stale := pageTime(ev[0].T)
		if d := stale.Sub(served); ev[0].Current != version || d > time.Second {
			t.Errorf("deploy %d: %+v %v after the server served it, want %s within 1s", i, ev[0], d, version)
		}
		fromRename = append(fromRename, stale.Sub(renamed))
		fromServed = append(fromServed, stale.Sub(served))
		prev = version
	}
	t.Logf("rename → skewless.stale over %d deploys: %s", len(fromRename), summary(fromRename))
	t.Logf("served → skewless.stale over %d deploys: %s", len(fromServed), summary(fromServed))
}

// summary describes durations: median, min, max, all.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return fmt.Sprintf("median %v, min %v, max %v (in order: %v)", median.Round(time.Millisecond),
		s[0].Round(time.Millisecond), s[n-1].Round(time.Millisecond), ds)
}

// staleWithin bounds waits for a tab to learn of a deploy the server
// serves already; tests that care assert the measured latency instead.
const staleWithin = 10 * time.Second

// loadWithin bounds waits for a navigation, full or client-side, to render.
const loadWithin = 10 * time.Second
