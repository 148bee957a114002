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

// TestDeployWhileTabOpen: a deploy marks the open tab stale within a
// second, leaves it alone (same document, typed text intact), and the
// next link click is a full load of the new build.
func TestDeployWhileTabOpen(t *testing.T) {
	t.Parallel()
	for _, b := range bundlers {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, b.path(b.old), b.old)
			tb := openTab(t, srv, tabOptions{})
			tb.Open("/")
			tb.waitStream()
			first := tb.State()
			if first.Loaded != b.old || first.Version != b.old || first.Stale {
				t.Fatalf("before the deploy: %+v, want fresh %s", first, b.old)
			}
			tb.Type("#note", typed)

			renamed := srv.Deploy(t, b.path(b.new), b.new)
			wait[bool](tb, `window.skewless.stale === true`, staleWithin)
			ev := tb.Events()
			if len(ev) != 1 {
				t.Fatalf("stale events: %+v, want one", ev)
			}
			stale, served := pageTime(ev[0].T), srv.Activated(t, b.new)
			t.Logf("rename → skewless.stale %v (rename → served %v, served → stale %v)",
				stale.Sub(renamed), served.Sub(renamed), stale.Sub(served))
			if d := stale.Sub(served); d > time.Second {
				t.Errorf("stale %v after the server began to serve %s, want within 1s", d, b.new)
			}
			if want := (staleEvent{Reason: "event-stream", Loaded: b.old, Current: b.new}); !sameEvent(ev[0], want) {
				t.Errorf("event %+v, want %+v", ev[0], want)
			}
			st := tb.State()
			if st.BootID != first.BootID || st.Note != typed || st.Route != "home" || st.Current != b.new {
				t.Errorf("after the deploy: %+v; want the same document (boot %s) with the note %q, knowing %s",
					st, first.BootID, typed, b.new)
			}

			tb.Click("#link-about")
			got := waitState(tb, `s.route === 'about' && s.bootId !== '`+first.BootID+`'`, loadWithin)
			if got.Path != "/about" || got.Version != b.new || got.Label != b.new || got.ChunkVersion != b.new ||
				got.Loaded != b.new || got.Stale {
				t.Errorf("after the click: %+v, want a fresh /about of %s", got, b.new)
			}
			checkBoots(t, tb.Boots(), boot{Version: b.old, Path: "/"}, boot{Version: b.new, Path: "/about"})
		})
	}
}

// TestRetiredChunkBecomesFullLoad: the tab never hears of the deploy (event
// stream blocked) and the old build is retired at once, so the About chunk
// it asks for is gone. The navigation becomes one full load of /about,
// which renders the new build.
func TestRetiredChunkBecomesFullLoad(t *testing.T) {
	t.Parallel()
	for _, b := range bundlers {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, b.path(b.old), b.old, "--grace", "0")
			tb := openTab(t, srv, tabOptions{blockStream: true})
			tb.Open("/")
			tb.waitBlocked()
			first := tb.State()

			srv.Deploy(t, b.path(b.new), b.new)
			srv.WaitServing(t, b.new)
			srv.WaitRetired(t, lazyChunk(t, b.path(b.old)))
			if st := tb.State(); st.Stale {
				t.Fatalf("the tab knows of the deploy (%+v): this test would prove nothing", st)
			}

			tb.Click("#link-about")
			got := waitState(tb, `s.route === 'about' && s.version === '`+b.new+`'`, loadWithin)
			if got.Path != "/about" || got.ChunkVersion != b.new || got.BootID == first.BootID {
				t.Errorf("after the click: %+v, want a full load of /about of %s", got, b.new)
			}
			checkBoots(t, tb.Boots(), boot{Version: b.old, Path: "/"}, boot{Version: b.new, Path: "/about"})
			hold(tb, `window.__bootId !== '`+got.BootID+`'`, 500*time.Millisecond)
		})
	}
}

// TestMissingChunkNoReloadLoop: a lazy chunk is missing from the current
// build too, so a full load cannot help. The helper loads the page at most
// once, then gives up with skewless:stale and never reloads again.
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
		wait[bool](tb, `JSON.parse(sessionStorage.getItem('__events') || '[]').some(e => e.reason === 'reload-loop')`,
			loadWithin)
		checkSettled(t, tb, boot{Version: "v1", Path: "/"}, boot{Version: "v2", Path: "/about"})
	})

	t.Run("current-build", func(t *testing.T) {
		t.Parallel()
		// The tab is on the broken build itself: a reload would load the
		// same build, so there is none, only the event.
		srv := startServer(t, broken, "v2")
		tb := openTab(t, srv, tabOptions{})
		tb.Open("/")
		tb.Click("#link-about")
		wait[bool](tb, `window.__events.length > 0`, loadWithin)
		checkSettled(t, tb, boot{Version: "v2", Path: "/"})
		ev := tb.Events()
		// Whichever sign of the failure comes first: the resource timing
		// entry ("asset") or Vite's vite:preloadError ("chunk").
		if len(ev) != 1 || ev[0].Reason != "asset" && ev[0].Reason != "chunk" || ev[0].Loaded != "v2" || ev[0].Current != "v2" {
			t.Errorf("events %+v, want one for an asset or chunk of v2", ev)
		}
	})
}

// checkSettled asserts that the tab ends on /about with the route's error
// view, stale, after exactly the loads want, and then stays put.
func checkSettled(t *testing.T, tb *tab, want ...boot) {
	t.Helper()
	st := waitState(tb, `s.route === 'error'`, loadWithin)
	if st.Path != "/about" || !st.Stale {
		t.Errorf("final page %+v, want a stale /about showing the app's error view", st)
	}
	// A loop would reload within 10 s of the first forced load; any load
	// ends the poll's document, which hold reports.
	hold(tb, `window.__bootId !== '`+st.BootID+`'`, 3*time.Second)
	checkBoots(t, tb.Boots(), want...)
}

// TestCancelledStaleKeepsClientSideNavigation: an app that cancels
// skewless:stale (it shows its own notice) keeps its client-side router:
// no navigation becomes a full load.
func TestCancelledStaleKeepsClientSideNavigation(t *testing.T) {
	t.Parallel()
	srv := startServer(t, vite.path("v1"), "v1")
	tb := openTab(t, srv, tabOptions{cancelStale: true})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()

	srv.Deploy(t, vite.path("v2"), "v2")
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)

	tb.Click("#link-about")
	// v1's chunk is still live (default grace): the router renders it.
	got := waitState(tb, `s.route === 'about'`, loadWithin)
	if got.BootID != first.BootID || got.ChunkVersion != "v1" || got.Path != "/about" {
		t.Errorf("after the click: %+v, want /about rendered client-side by v1 (boot %s)", got, first.BootID)
	}
	eval[any](tb, `history.back()`)
	got = waitState(tb, `s.route === 'home'`, loadWithin)
	if got.BootID != first.BootID {
		t.Errorf("back: %+v, want the same document", got)
	}
	checkBoots(t, tb.Boots(), boot{Version: "v1", Path: "/"})
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
	wait[bool](tb, `window.skewless.stale === true`, 2*time.Second)
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
	wait[bool](tb, `window.skewless.stale === true`, 2*time.Second)
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
// tab, and logs the median. Each must be within 2 s.
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
		ev := wait[[]staleEvent](tb, `window.__events.length && window.__events`, staleWithin)
		stale := pageTime(ev[0].T)
		if d := stale.Sub(renamed); ev[0].Current != version || d > 2*time.Second {
			t.Errorf("deploy %d: %+v after %v, want %s within 2s of the rename", i, ev[0], d, version)
		}
		fromRename = append(fromRename, stale.Sub(renamed))
		fromServed = append(fromServed, stale.Sub(srv.Activated(t, version)))
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

// staleWithin bounds waits for a tab to learn of a deploy. It includes the
// server's loading of the build (compression on a busy machine); tests
// that care assert the measured latency instead.
const staleWithin = 10 * time.Second

// loadWithin bounds waits for a navigation, full or client-side, to render.
const loadWithin = 10 * time.Second
