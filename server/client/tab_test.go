package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// recordEvents names the document (window.__docId: a full load is a new
// document, whatever the app's scripts do) and keeps every skewless:stale
// (and skewless:blocked: __blocked) event of the tab: in
// window.__events for this document and in sessionStorage.__events across
// full loads. It runs before any script of each document, so its listener
// sees events dispatched while the page boots.
const recordEvents = `(() => {
  window.__docId = Math.random().toString(36).slice(2);
  window.__events = [];
  addEventListener('skewless:stale', e => {
    const r = { reason: e.detail.reason, loaded: e.detail.loaded, current: e.detail.current,
      t: Date.now(), path: location.pathname, boot: window.__bootId || '' };
    window.__events.push(r);
    try {
      const all = JSON.parse(sessionStorage.getItem('__events') || '[]');
      all.push(r);
      sessionStorage.setItem('__events', JSON.stringify(all));
    } catch (_) {}
  });
  window.__blocked = [];
  addEventListener('skewless:blocked', e => {
    const r = { loaded: e.detail.loaded, current: e.detail.current, cancelable: e.cancelable, t: Date.now() };
    window.__blocked.push(r);
    try {
      const all = JSON.parse(sessionStorage.getItem('__blocked') || '[]');
      all.push(r);
      sessionStorage.setItem('__blocked', JSON.stringify(all));
    } catch (_) {}
  });
})();`

// cancelStale is an app that shows its own notice and keeps navigating
// client-side: it cancels the event.
const cancelStale = `addEventListener('skewless:stale', e => e.preventDefault());`

// tabOptions says how a test's tab differs from a plain browser tab.
type tabOptions struct {
	blockStream bool     // the event stream never connects (a proxy that drops it)
	cancelStale bool     // the app cancels skewless:stale
	scripts     []string // more scripts to run first in every document
}

// tab is one browser tab of a test, on the test's server.
type tab struct {
	t   *testing.T
	ctx context.Context
	url string // the origin's base URL

	blocked  atomic.Int64 // requests the browser refused to send (blockStream)
	streams  atomic.Int64 // event streams the server answered
	checks   atomic.Int64 // requests for /_skewless/version
	favicons atomic.Int64 // icon requests answered (the browser's own too)
	aboutRSC atomic.Int64 // Next RSC payloads of /about's page answered (a prefetch)
	block    []string     // URL patterns the browser refuses
	close    func() error // closes the tab
}

// origin is what a tab opens pages of: a skewless server, or a scripted
// stand-in for the helper's unit tests.
type origin interface{ base() string }

// tabTimeout bounds each test's browser work.
const tabTimeout = 2 * time.Minute

// openTab opens a new tab of the package's browser, closed when the test ends.
func openTab(t *testing.T, srv origin, opts tabOptions) *tab {
	t.Helper()
	if browserCtx == nil {
		// In CI a missing browser fails the test; only outside CI it skips.
		if ci := os.Getenv("CI"); ci == "" {
			t.Skip(browserErr, "(CI unset: skipped; with CI set this fails)")
		}
		t.Fatal(browserErr)
	}
	tctx, cancelTimeout := context.WithTimeout(browserCtx, tabTimeout)
	ctx, cancelTab := chromedp.NewContext(tctx)
	t.Cleanup(func() { cancelTab(); cancelTimeout() })
	tb := &tab{t: t, ctx: ctx, url: srv.base()}
	tb.close = func() error { return chromedp.Cancel(ctx) }
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	if err := chromedp.Listen(ctx, tb.countStreams); err != nil {
		t.Fatal(err)
	}
	scripts := append([]string{recordEvents}, opts.scripts...)
	if opts.cancelStale {
		scripts = append(scripts, cancelStale)
	}
	for _, src := range scripts {
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatalf("add init script: %v", err)
		}
	}
	if opts.blockStream {
		tb.blockStream()
	}
	return tb
}

// streamPattern matches the event stream's URL (URLPattern syntax: this
// cdproto has no glob "urls" any more).
const streamPattern = "*://*:*/_skewless/events*"

// countStreams counts the event streams the browser blocked or opened. It
// runs in the tab's event loop: quick, no commands.
func (tb *tab) countStreams(ev any) {
	switch e := ev.(type) {
	case *network.EventLoadingFailed:
		if e.BlockedReason != "" {
			tb.blocked.Add(1)
		}
	case *network.EventRequestWillBeSent:
		if strings.Contains(e.Request.URL, "/_skewless/version") {
			tb.checks.Add(1)
		}
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeEventSource && e.Response.Status == 200 {
			tb.streams.Add(1)
		}
		if strings.Contains(e.Response.URL, "/favicon.") {
			tb.favicons.Add(1)
		}
		if u := e.Response.URL; e.Response.Status == 200 && strings.Contains(u, "/about") && strings.Contains(u, "PAGE__.txt") {
			tb.aboutRSC.Add(1)
		}
	}
}

// blockStream makes the browser fail every request to the event stream,
// as a buffering or SSE-hostile proxy would, and counts the failures.
func (tb *tab) blockStream() { tb.Block(streamPattern) }

// Block makes the browser refuse the requests whose URL matches one of
// the patterns (URLPattern syntax), and no others.
func (tb *tab) Block(patterns ...string) {
	tb.t.Helper()
	var ps []*network.BlockPattern
	for _, p := range patterns {
		ps = append(ps, &network.BlockPattern{URLPattern: p, Block: true})
	}
	_, err := chromedp.Call(tb.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: ps})
	if err != nil {
		tb.t.Fatalf("block %v: %v", patterns, err)
	}
	tb.block = patterns
}

// waitBlocked waits until the browser refused the event stream at least
// once: proof that the tab cannot hear of a deploy from it.
func (tb *tab) waitBlocked() { tb.waitCount(&tb.blocked, "the event stream was never blocked") }

// waitStream waits until the page's event stream is open, so that a
// deploy from now on reaches it.
func (tb *tab) waitStream() { tb.waitCount(&tb.streams, "the event stream never opened") }

func (tb *tab) waitCount(n *atomic.Int64, fail string) {
	tb.t.Helper()
	deadline := time.Now().Add(loadWithin)
	for n.Load() == 0 {
		if time.Now().After(deadline) {
			tb.t.Fatal(fail)
		}
		time.Sleep(pollEvery) // retry interval
	}
}

// Open loads path on the test's server and waits until the app rendered.
func (tb *tab) Open(path string) {
	tb.t.Helper()
	tb.blocked.Store(0)
	tb.streams.Store(0)
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(tb.url+path)); err != nil {
		tb.t.Fatalf("navigate to %s: %v", path, err)
	}
	tb.waitRendered()
}

// waitRendered waits until the app rendered its route on the client.
func (tb *tab) waitRendered() {
	tb.t.Helper()
	// Loaded too: a router that is a module script of its own (Astro's)
	// listens for clicks only once it ran.
	wait[bool](tb, `!!document.documentElement.dataset.route && !!window.skewless &&
		document.readyState === 'complete'`, loadWithin)
}

// Settle waits until the page's animations ended: Astro's view
// transitions cover the page while they run, so a click would land on
// their overlay instead of a link.
func (tb *tab) Settle() {
	tb.t.Helper()
	wait[bool](tb, `document.getAnimations().length === 0`, loadWithin)
}

// Click clicks the element sel as a user would (real mouse events).
func (tb *tab) Click(sel string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
}

// Type types text into the field sel with key events.
func (tb *tab) Type(sel, text string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		tb.t.Fatalf("type into %s: %v", sel, err)
	}
}

// setVisible hides or shows the tab the way a user does, by minimizing or
// restoring its window: the page gets real visibilitychange events.
func (tb *tab) setVisible(visible bool) {
	tb.t.Helper()
	w, err := chromedp.CallBrowser(tb.ctx, browser.GetWindowForTarget,
		browser.GetWindowForTargetParams{TargetID: chromedp.FromContext(tb.ctx).Target.TargetID})
	if err != nil {
		tb.t.Fatalf("window of the tab: %v", err)
	}
	state := browser.WindowStateMinimized
	if visible {
		state = browser.WindowStateNormal
	}
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetWindowBounds,
		browser.SetWindowBoundsParams{WindowID: w.WindowID, Bounds: &browser.Bounds{WindowState: state}}); err != nil {
		tb.t.Fatalf("set window state %s: %v", state, err)
	}
}

// eval evaluates expr in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pollEvery is how often conditions are checked in the page. A timer, not
// animation frames: a hidden page gets none.
const pollEvery = 10 * time.Millisecond

// wait waits until expr is truthy in the page and returns its value. A full
// page load in between ends a poll early, so it polls again in the new
// document until the deadline.
func wait[T any](tb *tab, expr string, within time.Duration) T {
	tb.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			tb.t.Fatalf("%s: not true within %v; %s", expr, within, tb.describe())
		}
		v, err := chromedp.Run(tb.ctx, chromedp.Poll[T](expr,
			chromedp.WithPollingInterval(pollEvery), chromedp.WithPollingTimeout(left)))
		switch {
		case err == nil:
			return v
		case errors.Is(err, chromedp.ErrPollingTimeout), ctxDone(tb.ctx):
			tb.t.Fatalf("%s: not true within %v (%v); %s", expr, within, err, tb.describe())
		}
		time.Sleep(pollEvery) // the document went away: poll the next one
	}
}

// describe says what the tab shows now, for a failure message.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	st, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
  const s = `+pageStateJS+`;
  s.events = JSON.parse(sessionStorage.getItem('__events') || '[]');
  s.boots = JSON.parse(sessionStorage.getItem('__boots') || '[]');
  s.href = location.href;
  return s; })()`))
	if err != nil {
		return fmt.Sprintf("the page: %v", err)
	}
	return fmt.Sprintf("the page: %v (streams %d, blocked %d, checks %d)",
		st, tb.streams.Load(), tb.blocked.Load(), tb.checks.Load())
}

// hold asserts that expr stays falsy for the whole window, in the same
// document: this is the one place where a bounded wait is the assertion.
func hold(tb *tab, expr string, window time.Duration) {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Poll[any](expr,
		chromedp.WithPollingInterval(pollEvery), chromedp.WithPollingTimeout(window)))
	switch {
	case errors.Is(err, chromedp.ErrPollingTimeout):
	case err != nil:
		tb.t.Fatalf("%s: the document went away within %v: %v", expr, window, err)
	default:
		tb.t.Fatalf("%s became %v within %v", expr, v, window)
	}
}

// boot is one full page load, as the fixture app records it.
type boot struct {
	BootID  string `json:"bootId"`
	Version string `json:"version"`
	Path    string `json:"path"`
}

func (tb *tab) Boots() []boot {
	tb.t.Helper()
	return eval[[]boot](tb, `JSON.parse(sessionStorage.getItem('__boots') || '[]')`)
}

// staleEvent is a skewless:stale event as recordEvents keeps it.
type staleEvent struct {
	Reason  string  `json:"reason"`
	Loaded  string  `json:"loaded"`
	Current string  `json:"current"`
	T       float64 `json:"t"` // Date.now() in the page
	Path    string  `json:"path"`
	Boot    string  `json:"boot"`
}

// Events returns every skewless:stale event of the tab, across loads.
func (tb *tab) Events() []staleEvent {
	tb.t.Helper()
	return eval[[]staleEvent](tb, `JSON.parse(sessionStorage.getItem('__events') || '[]')`)
}

// pageState is what a test checks about the document in the tab.
type pageState struct {
	Doc          string `json:"doc"` // window.__docId: the document
	BootID       string `json:"bootId"`
	Path         string `json:"path"`
	Route        string `json:"route"`
	Version      string `json:"version"`      // <html data-version>
	Label        string `json:"label"`        // #version text
	ChunkVersion string `json:"chunkVersion"` // the routed view's data-chunk-version
	Note         string `json:"note"`
	Loaded       string `json:"loaded"` // skewless.version
	Current      string `json:"current"`
	Stale        bool   `json:"stale"`
}

const pageStateJS = `(() => {
  const d = document, s = window.skewless || {}, v = d.querySelector('[data-chunk-version]');
  return { doc: window.__docId || '', bootId: window.__bootId || '', path: location.pathname,
    route: d.documentElement.dataset.route || '', version: d.documentElement.dataset.version || '',
    label: (d.getElementById('version') || {}).textContent || '',
    chunkVersion: v ? v.dataset.chunkVersion || '' : '',
    note: (d.getElementById('note') || {}).value || '',
    loaded: s.version || '', current: s.current || '', stale: !!s.stale };
})()`

func (tb *tab) State() pageState {
	tb.t.Helper()
	return eval[pageState](tb, pageStateJS)
}

// pageTime converts a page's Date.now() into a time.Time (same clock).
func pageTime(ms float64) time.Time { return time.UnixMicro(int64(ms * 1000)) }

func sameEvent(got, want staleEvent) bool {
	return got.Reason == want.Reason && got.Loaded == want.Loaded && got.Current == want.Current
}

// waitState waits until cond, a JavaScript condition on s (a pageState),
// holds in the tab, and returns that state.
func waitState(tb *tab, cond string, within time.Duration) pageState {
	tb.t.Helper()
	return wait[pageState](tb, `(s => (`+cond+`) && s)(`+pageStateJS+`)`, within)
}

// checkBoots asserts the tab's full page loads, by version and path.
func checkBoots(t *testing.T, got []boot, want ...boot) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Version == want[i].Version && got[i].Path == want[i].Path
	}
	if !ok {
		t.Errorf("full page loads %+v, want %+v", got, want)
	}
}
