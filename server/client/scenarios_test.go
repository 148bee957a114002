package client_test

// The helper on every fixture app (fixtures/apps/README.md), one scenario
// at a time, against the real binary in the shared headless Chromium:
//   - push: a deploy makes the open tab stale within a second without
//     touching it (typed text intact); the next click is one full load of
//     the new build, and the kept field comes along;
//   - retired: the tab never hears of the deploy (stream blocked) and the
//     old build retires at once (--grace 0): the click that needs a gone
//     chunk ends on the target route of the new build, in one full load;
//   - cancel: the app cancels skewless:stale and keeps navigating
//     client-side on the live old build;
//   - control: no deploy: the tab is never stale (the browser's own
//     favicon request included) and the first click is client-side;
//   - cached-header: a same-origin response from the browser's cache
//     names an older build: the tab asks the server and stays fresh;
//   - ten-tabs (three fixtures, see scenarios): ten tabs over HTTP/1.1
//     all load and share one event stream, which names their build: the
//     server counts them (metric and status); a deploy reaches all of them;
//   - blocked: an operator blocks the build two tabs run (the app cancels
//     skewless:stale): skewless:blocked, the visible tab's next click is a
//     full load onto the current build, the hidden tab reloads at once.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// scenario is one behaviour checked on each fixture (or on those named).
type scenario struct {
	name string
	run  func(t *testing.T, f fixture)
	on   []string // fixture names; nil: every fixture
}

var scenarios = []scenario{
	{"push", scenarioPush, nil},
	{"retired", scenarioRetired, nil},
	{"cancel", scenarioCancel, nil},
	{"control", scenarioControl, nil},
	{"cached-header", scenarioCachedHeader, nil},
	// Sharing one stream is the helper's doing whatever the router, and ten
	// tabs cost a browser ten renderers: the demo app, the app with the most
	// chunks per page (Next, the most connections) and Angular (zone.js
	// patches EventSource and the event loop).
	{"ten-tabs", scenarioTenTabs, []string{"vite", "next-turbopack", "angular"}},
	{"blocked", scenarioBlocked, nil},
}

// TestFixtures runs every scenario on every fixture, several at once:
// each has its own server and tabs, and an origin (port) of its own, so
// they share nothing but the browser.
func TestFixtures(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		for _, f := range fixtures {
			if sc.on != nil && !slices.Contains(sc.on, f.name) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				browserSlots <- struct{}{}
				defer func() { <-browserSlots }()
				t.Run(sc.name+"/"+f.name, func(t *testing.T) { sc.run(t, f) })
			}()
		}
	}
	wg.Wait()
}

// browserSlots bounds the scenarios that drive the browser at once
// (SKEWLESS_BROWSER_PARALLEL, default 4): they mostly wait on pages, so
// more than the machine's cores fit, but every tab costs a renderer.
var browserSlots = make(chan struct{}, func() int {
	if n, err := strconv.Atoi(os.Getenv("SKEWLESS_BROWSER_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 4
}())

func scenarioPush(t *testing.T, f fixture) {
	srv := f.start(t)
	tb := openTab(t, srv, tabOptions{})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	if first.Loaded != f.old || first.Version != f.old || first.Stale {
		t.Fatalf("before the deploy: %+v, want fresh %s", first, f.old)
	}
	tb.Type("#note", typed)

	renamed := srv.Deploy(t, f.path(f.new), f.new)
	served := srv.Activated(t, f.new)
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)
	ev := tb.Events()
	if len(ev) != 1 {
		t.Fatalf("stale events: %+v, want one", ev)
	}
	stale := pageTime(ev[0].T)
	t.Logf("rename → skewless.stale %v (rename → served %v, served → stale %v)",
		stale.Sub(renamed), served.Sub(renamed), stale.Sub(served))
	if d := stale.Sub(served); d > time.Second {
		t.Errorf("stale %v after the server began to serve %s, want within 1s", d, f.new)
	}
	if want := (staleEvent{Reason: "event-stream", Loaded: f.old, Current: f.new}); !sameEvent(ev[0], want) {
		t.Errorf("event %+v, want %+v", ev[0], want)
	}
	if f.notice {
		// The demo app tells its user, and a person sees it.
		n := wait[string](tb, `(n => n && !n.hidden && n.offsetHeight > 0 && n.textContent)(document.getElementById('update-notice'))`,
			loadWithin)
		if want := "A new version is ready (" + f.new + ")"; !strings.HasPrefix(n, want) {
			t.Errorf("notice %q, want it to start with %q", n, want)
		}
	}
	st := tb.State()
	if st.Doc != first.Doc || st.Note != typed || st.Route != "home" || st.Current != f.new {
		t.Errorf("after the deploy: %+v; want the same document (%s) with the note %q, knowing %s",
			st, first.Doc, typed, f.new)
	}

	tb.Click("#link-about")
	got := waitState(tb, `s.route === 'about' && s.doc && s.doc !== '`+first.Doc+`'`, loadWithin)
	if got.Path != "/about" || got.Version != f.new || got.Label != f.new || got.Loaded != f.new || got.Stale {
		t.Errorf("after the click: %+v, want a fresh /about of %s", got, f.new)
	}
	wait[bool](tb, `document.getElementById('note').value === '`+typed+`'`, loadWithin)
	checkBoots(t, tb.Boots(), boot{Version: f.old, Path: "/"}, boot{Version: f.new, Path: "/about"})
}

func scenarioRetired(t *testing.T, f fixture) {
	srv := f.start(t, "--grace", "0")
	tb := openTab(t, srv, tabOptions{blockStream: true, scripts: noPrefetch(f)})
	if f.prefetch == "rsc" {
		tb.Block(streamPattern, rscPattern)
	}
	tb.Open("/")
	tb.waitBlocked()
	first := tb.State()

	srv.Deploy(t, f.path(f.new), f.new)
	srv.WaitServing(t, f.new)
	srv.WaitRetired(t, retiredPath(t, f))
	if f.prefetch == "rsc" {
		tb.Block(streamPattern) // the route was never prefetched; now it can load
	}
	if st := tb.State(); st.Stale {
		t.Fatalf("the tab knows of the deploy (%+v): this test would prove nothing", st)
	}

	tb.Click("#link-about")
	got := waitState(tb, `s.route === 'about' && s.version === '`+f.new+`'`, loadWithin)
	if got.Path != "/about" || got.Label != f.new || got.Doc == first.Doc {
		t.Errorf("after the click: %+v, want a full load of /about of %s", got, f.new)
	}
	checkBoots(t, tb.Boots(), boot{Version: f.old, Path: "/"}, boot{Version: f.new, Path: "/about"})
	hold(tb, `window.__docId !== '`+got.Doc+`'`, 500*time.Millisecond)
}

// rscPattern matches Next's RSC payloads (route.txt, route/__next.*.txt),
// which its Link fetches to prefetch a route.
const rscPattern = "*://*:*/*.txt*"

// noPrefetch returns the scripts that keep f's router from loading routes
// ahead of a click. A router that prefetched a route has its chunks and
// never asks for a retired one: the tab keeps running its own build,
// which is right, but then the retired scenario would prove nothing. Nuxt
// honours the browser's Data Saver; Next's prefetches are blocked while
// the page loads instead (a link that scrolls into view after a deploy).
func noPrefetch(f fixture) []string {
	if f.prefetch != "save-data" {
		return nil
	}
	return []string{`Object.defineProperty(Navigator.prototype, 'connection', { configurable: true,
  get: () => ({ saveData: true, effectiveType: '4g', addEventListener() {}, removeEventListener() {} }) });`}
}

func scenarioCancel(t *testing.T, f fixture) {
	srv := f.start(t)
	tb := openTab(t, srv, tabOptions{cancelStale: true})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	if f.prefetch == "rsc" {
		// Next prefetches the link's route once the page is idle. A payload
		// fetched after the deploy names the new build, and Next then loads
		// the page in full by itself: its own skew check, not this one.
		tb.waitCount(&tb.aboutRSC, "Next never prefetched /about")
	}

	srv.Deploy(t, f.path(f.new), f.new)
	srv.Activated(t, f.new)
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)

	tb.Click("#link-about")
	// The old build is live (default grace): its router renders the route.
	// A router that fetches pages (Astro) swaps in the current build's.
	want := f.old
	if f.pages {
		want = f.new
	}
	got := waitState(tb, `s.route === 'about' && s.version === '`+want+`'`, loadWithin)
	if got.Doc != first.Doc || got.Path != "/about" || got.Loaded != f.old {
		t.Errorf("after the click: %+v, want /about rendered client-side in the same document (%s)",
			got, first.Doc)
	}
	if f.transitions {
		tb.Settle()
	}
	eval[any](tb, `history.back()`)
	got = waitState(tb, `s.route === 'home' && s.path === '/'`, loadWithin)
	if got.Doc != first.Doc {
		t.Errorf("back: %+v, want the same document", got)
	}
	if !f.pages { // Astro runs the swapped-in page's new scripts, its boot record too
		checkBoots(t, tb.Boots(), boot{Version: f.old, Path: "/"})
	}
}

func scenarioControl(t *testing.T, f fixture) {
	srv := f.start(t)
	tb := openTab(t, srv, tabOptions{})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	// Chromium asks for an icon once the page loaded, /favicon.ico when the
	// page names none; several fixtures have none (a 404).
	tb.waitCount(&tb.favicons, "the browser never asked for an icon")
	hold(tb, `window.skewless.stale || window.__events.length > 0`, time.Second)
	if n := tb.checks.Load(); n != 0 {
		t.Errorf("%d requests for /_skewless/version, want none: nothing failed that was the page's code", n)
	}

	tb.Click("#link-about")
	got := waitState(tb, `s.route === 'about'`, loadWithin)
	if got.Doc != first.Doc || got.Version != f.old || got.Stale || got.Path != "/about" {
		t.Errorf("after the click: %+v, want /about of %s rendered client-side (%s)", got, f.old, first.Doc)
	}
	if ev := tb.Events(); len(ev) != 0 {
		t.Errorf("stale events %+v, want none", ev)
	}
	checkBoots(t, tb.Boots(), boot{Version: f.old, Path: "/"})
}

func scenarioCachedHeader(t *testing.T, f fixture) {
	srv := f.start(t)
	// A tab on the old build fetches index.html: the browser's HTTP cache
	// keeps that response, Skewless-Version: old included.
	before := openTab(t, srv, tabOptions{})
	before.Open("/")
	if v := eval[string](before, `fetch('/index.html').then(r => r.headers.get('Skewless-Version'))`); v != f.old {
		t.Fatalf("index.html carries Skewless-Version %q, want %s", v, f.old)
	}
	before.Close()

	srv.Deploy(t, f.path(f.new), f.new)
	srv.WaitServing(t, f.new)
	tb := openTab(t, srv, tabOptions{})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	if first.Loaded != f.new || first.Stale {
		t.Fatalf("after the deploy: %+v, want fresh %s", first, f.new)
	}
	// A cache answers with what it stored: the old build's header.
	if v := eval[string](tb, `fetch('/index.html', { cache: 'force-cache' }).then(r => r.headers.get('Skewless-Version'))`); v != f.old {
		t.Fatalf("the cached index.html carries Skewless-Version %q, want %s (from the cache)", v, f.old)
	}
	tb.waitCount(&tb.checks, "the helper never asked /_skewless/version about the header")
	hold(tb, `window.skewless.stale || window.__events.length > 0`, time.Second)

	tb.Click("#link-about")
	got := waitState(tb, `s.route === 'about'`, loadWithin)
	if got.Doc != first.Doc || got.Stale || got.Loaded != f.new {
		t.Errorf("after the click: %+v, want /about rendered client-side (%s)", got, first.Doc)
	}
	checkBoots(t, tb.Boots(), boot{Version: f.new, Path: "/"})
}

// tenTabs is how many tabs of one app a user opens: more than the six
// connections per host a browser allows over HTTP/1.1.
const tenTabs = 10

func scenarioTenTabs(t *testing.T, f fixture) {
	// A short heartbeat: the server notices a stream the browser closed
	// (the holder reconnects as tabs join) at its next write.
	metrics := freeAddr(t)
	srv := f.start(t, "--metrics-addr", metrics, "--heartbeat", "200ms")
	tabs := openTabs(t, srv, tenTabs)
	waitOneStream(t, srv, metrics)
	// The stream names every tab's build: the server counts them.
	waitMetric(t, metrics, `skewless_open_tabs{version="`+f.old+`"}`, tenTabs)
	// status reads a report the server rewrites within a second of a
	// change (a stream replaced as tabs join counts until it closes).
	deadline := time.Now().Add(5 * time.Second)
	for n := srv.OpenTabs(t, f.old); n != fmt.Sprint(tenTabs); n = srv.OpenTabs(t, f.old) {
		if time.Now().After(deadline) {
			t.Fatalf("status: %s open tabs on %s, want %d", n, f.old, tenTabs)
		}
		time.Sleep(100 * time.Millisecond) // retry interval
	}
	d, _ := deployToAll(t, srv, tabs, f.path(f.new), f.new)
	t.Logf("served → all %d tabs stale: %v", len(tabs), d)
	if d > 2*time.Second {
		t.Errorf("the last of %d tabs was stale %v after the server served %s, want within a second or so",
			len(tabs), d, f.new)
	}
}

// openTabs opens n tabs and loads the server's "/" in all of them at once,
// as a browser restoring a session does, and waits until each rendered.
func openTabs(t *testing.T, srv *server, n int) []*tab {
	t.Helper()
	tabs := make([]*tab, n)
	for i := range tabs {
		tabs[i] = openTab(t, srv, tabOptions{})
	}
	loadAll(t, srv, tabs)
	return tabs
}

// loadAll loads the server's "/" in every tab at once and waits until
// each rendered.
func loadAll(t *testing.T, srv *server, tabs []*tab) {
	t.Helper()
	n := len(tabs)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, tb := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = chromedp.Do(tb.ctx, chromedp.Navigate(srv.URL+"/"))
		}()
	}
	wg.Wait()
	for i, tb := range tabs {
		if errs[i] != nil {
			t.Fatalf("tab %d: load /: %v", i, errs[i])
		}
		tb.waitRendered()
	}
}

// waitOneStream waits until the server holds exactly one event stream:
// the tabs share it.
func waitOneStream(t *testing.T, srv *server, metrics string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := metric(metrics, "skewless_event_streams"); n != 1; n = metric(metrics, "skewless_event_streams") {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %v event streams, want one for all the tabs", n)
		}
		time.Sleep(10 * time.Millisecond) // retry interval
	}
}

// waitMetric waits until the labelled series on the metrics listener has
// value want.
func waitMetric(t *testing.T, addr, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := metric(addr, series); n != want; n = metric(addr, series) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %v", series, n, want)
		}
		time.Sleep(10 * time.Millisecond) // retry interval
	}
}

// deployToAll deploys version and returns the time from the server's
// activation of it, and from the rename of its folder, to the last tab's
// skewless:stale.
func deployToAll(t *testing.T, srv *server, tabs []*tab, src, version string) (fromServed, fromRename time.Duration) {
	t.Helper()
	renamed := srv.Deploy(t, src, version)
	served := srv.Activated(t, version)
	var last time.Time
	for i, tb := range tabs {
		// The comment names the tab in a failure.
		ev := wait[[]staleEvent](tb, fmt.Sprintf("/* tab %d */ window.__events.length && window.__events", i), staleWithin)
		if len(ev) != 1 || ev[0].Current != version {
			t.Fatalf("tab %d: stale events %+v, want one for %s", i, ev, version)
		}
		if at := pageTime(ev[0].T); at.After(last) {
			last = at
		}
	}
	return last.Sub(served), last.Sub(renamed)
}

// TestTenTabsStaleLatency measures, over ten deploys, the time from the
// server serving a new build to the last of ten open tabs (one browser,
// one shared stream) knowing it, and logs the median.
func TestTenTabsStaleLatency(t *testing.T) {
	t.Parallel()
	browserSlots <- struct{}{}
	defer func() { <-browserSlots }()
	metrics := freeAddr(t)
	srv := vite.start(t, "--metrics-addr", metrics, "--heartbeat", "200ms")
	tabs := openTabs(t, srv, tenTabs)
	sources := []string{vite.path("v2"), vite.path("v3"), vite.path("v1")}
	var fromServed, fromRename []time.Duration
	for i := range 10 {
		waitOneStream(t, srv, metrics)
		s, r := deployToAll(t, srv, tabs, sources[i%len(sources)], fmt.Sprintf("d%02d", i))
		fromServed, fromRename = append(fromServed, s), append(fromRename, r)
		loadAll(t, srv, tabs) // onto the new build, fresh
	}
	t.Logf("served → all %d tabs stale over %d deploys: %s", tenTabs, len(fromServed), summary(fromServed))
	t.Logf("rename → all %d tabs stale over %d deploys: %s", tenTabs, len(fromRename), summary(fromRename))
}

// Close closes the tab, as a user does.
func (tb *tab) Close() {
	tb.t.Helper()
	if err := tb.close(); err != nil {
		tb.t.Fatalf("close the tab: %v", err)
	}
}

func scenarioBlocked(t *testing.T, f fixture) {
	srv := f.start(t)
	tb := openTab(t, srv, tabOptions{cancelStale: true})
	tb.Open("/")
	tb.waitStream()
	first := tb.State()
	hidden := openTab(t, srv, tabOptions{cancelStale: true})
	hidden.Open("/")
	hiddenFirst := hidden.State()
	hidden.setVisible(false)
	wait[bool](hidden, `document.visibilityState === 'hidden'`, loadWithin)

	srv.Deploy(t, f.path(f.new), f.new)
	srv.Activated(t, f.new)
	wait[bool](tb, `window.skewless.stale === true`, staleWithin)
	if st := hidden.State(); st.Doc != hiddenFirst.Doc {
		t.Fatalf("a deploy reloaded the hidden tab: %+v", st)
	}

	srv.CLI(t, "block", f.old, "--reason", "leaks a key")
	b := wait[[]map[string]any](tb, `window.__blocked.length && window.__blocked`, staleWithin)
	if len(b) != 1 || b[0]["cancelable"] != false || b[0]["loaded"] != f.old || b[0]["current"] != f.new {
		t.Errorf("skewless:blocked events %v, want one, not cancelable, %s → %s", b, f.old, f.new)
	}
	got := waitState(hidden, `s.doc !== '`+hiddenFirst.Doc+`' && s.loaded === '`+f.new+`' && s.route`, loadWithin)
	if got.Path != "/" {
		t.Errorf("the hidden tab after the block: %+v, want / reloaded onto %s", got, f.new)
	}
	if st := tb.State(); st.Doc != first.Doc {
		t.Fatalf("the block reloaded the visible tab under the user's hands: %+v", st)
	}

	tb.Click("#link-about")
	got = waitState(tb, `s.route === 'about' && s.doc !== '`+first.Doc+`'`, loadWithin)
	if got.Path != "/about" || got.Loaded != f.new || got.Label != f.new {
		t.Errorf("after the click: %+v, want a full load of /about of %s although the app cancelled skewless:stale", got, f.new)
	}
	checkBoots(t, tb.Boots(), boot{Version: f.old, Path: "/"}, boot{Version: f.new, Path: "/about"})
}
