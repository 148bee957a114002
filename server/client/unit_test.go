package client_test

// Unit tests of the helper's decisions, in the headless Chromium (no Node
// needed) against a scripted origin (stub_test.go):
//   - which signals the helper asks the server about, and what it then
//     believes: headers (older, newer, confirmed or not), failed loads
//     (scripts yes; images, icons, fetches, prefetches no), rollbacks;
//   - blocked builds: skewless:blocked, a forced next navigation whatever
//     the app did with skewless:stale, a hidden tab leaving at once;
//   - a forced load that lands on the same stale build: no loop;
//   - one stream per browser: the versions in its URL, a handover when
//     the holder closes, navigates or stays hidden, and a stream per tab
//     without Web Locks;
//   - kept fields: which are kept, restored once they render, with the
//     events a framework's model listens to.

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Load opens path and waits until the helper ran and the page loaded.
func (tb *tab) Load(path string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(tb.url+path)); err != nil {
		tb.t.Fatalf("navigate to %s: %v", path, err)
	}
	wait[bool](tb, `!!window.skewless && document.readyState === 'complete'`, loadWithin)
}

// TestHelperUnits runs each unit test with its own stub origin and tabs.
func TestHelperUnits(t *testing.T) {
	t.Parallel()
	units := []struct {
		name string
		run  func(t *testing.T)
		idle bool // mostly waits: takes no browser slot
	}{
		{"older-header-is-asked-and-ignored", unitOlderHeader, false},
		{"newer-header-confirmed", unitNewerHeader, false},
		{"header-the-server-denies", unitDeniedHeader, false},
		{"only-the-pages-code-counts", unitOnlyCode, false},
		{"rollback-makes-fresh", unitRollback, false},
		{"blocked-from-version", unitBlockedFromVersion, false},
		{"blocked-event-hidden-tab", unitBlockedHidden, false},
		{"same-stale-build-no-loop", unitNoLoop, false},
		{"stream-lists-tab-versions", unitStreamVersions, false},
		{"stream-per-tab-without-locks", unitNoLocks, false},
		{"handover-on-close", func(t *testing.T) { unitHandover(t, "close") }, false},
		{"handover-on-navigate", func(t *testing.T) { unitHandover(t, "navigate") }, false},
		{"handover-when-hidden", func(t *testing.T) { unitHandover(t, "hide") }, true},
		{"kept-fields", unitKeptFields, false},
	}
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !u.idle {
				browserSlots <- struct{}{}
				defer func() { <-browserSlots }()
			}
			t.Run(u.name, u.run)
		}()
	}
	wg.Wait()
}

// unitOlderHeader: a response naming an older build (a cache's copy) is
// checked with the server, which names the tab's own: the tab stays fresh.
// XHR and fetch alike.
func unitOlderHeader(t *testing.T) {
	s := newStub(t, "v2")
	s.header = "v1"
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	eval[int](tb, `fetch('/data').then(r => r.status)`)
	s.waitFor(t, "asked about the header", 5*time.Second, func(s *stub) bool { return s.checks == 1 })
	eval[int](tb, `new Promise(ok => { const x = new XMLHttpRequest(); x.open('GET', '/data');
		x.onloadend = () => ok(x.status); x.send(); })`)
	hold(tb, `window.skewless.stale || window.__events.length > 0`, 500*time.Millisecond)
	if n := s.Checks(); n != 1 {
		t.Errorf("%d checks, want 1: one value is asked about once", n)
	}
	if st := tb.State(); st.Current != "v2" {
		t.Errorf("skewless.current %q, want v2", st.Current)
	}
}

// unitNewerHeader: a header naming another build, confirmed by the
// server, makes the tab stale (reason "header").
func unitNewerHeader(t *testing.T) {
	s := newStub(t, "v1")
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	s.set(func(s *stub) { s.current, s.header = "v2", "v2" })
	eval[int](tb, `new Promise(ok => { const x = new XMLHttpRequest(); x.open('GET', '/data');
		x.onloadend = () => ok(x.status); x.send(); })`)
	ev := wait[[]staleEvent](tb, `window.__events.length && window.__events`, 5*time.Second)
	if want := (staleEvent{Reason: "header", Loaded: "v1", Current: "v2"}); len(ev) != 1 || !sameEvent(ev[0], want) {
		t.Errorf("events %+v, want one %+v", ev, want)
	}
}

// unitDeniedHeader: a header naming a build the server does not serve
// (rolled back, or another deploy's) leaves the tab fresh.
func unitDeniedHeader(t *testing.T) {
	s := newStub(t, "v1")
	s.header = "v9"
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	eval[int](tb, `fetch('/data').then(r => r.status)`)
	s.waitFor(t, "asked about the header", 5*time.Second, func(s *stub) bool { return s.checks == 1 })
	hold(tb, `window.skewless.stale || window.__events.length > 0`, 500*time.Millisecond)
}

// unitOnlyCode: failed loads that are not the page's code never make the
// helper ask; a failed script does (and the server's answer decides).
func unitOnlyCode(t *testing.T) {
	s := newStub(t, "v1")
	s.body = `<img src="/missing.png"><link rel="icon" href="/favicon.ico"><link rel="prefetch" href="/missing-prefetch.js">
		<style>@font-face { font-family: f; src: url(/missing.woff2); } body { font-family: f; }</style>x`
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	eval[int](tb, `fetch('/missing-fetch.js').then(r => r.status)`)
	eval[any](tb, `new Promise(ok => { const i = new Image(); i.onerror = ok; i.src = '/missing-late.png'; })`)
	tb.waitCount(&tb.favicons, "the browser never asked for the icon")
	wait[bool](tb, `performance.getEntriesByType('resource').filter(e => e.responseStatus === 404).length >= 5`,
		5*time.Second)
	s.hold(t, "asking about failed images, icons, fonts, fetches or prefetches", 500*time.Millisecond,
		func(s *stub) bool { return s.checks > 0 })
	s.set(func(s *stub) { s.current = "v2" })
	eval[any](tb, `new Promise(ok => { const el = document.createElement('script'); el.src = '/missing.js';
		el.onerror = ok; document.head.append(el); })`)
	// Within its load's first seconds, a page whose script fails on a
	// build gone stale is reloaded (the load's own rescue): read the
	// events kept across documents.
	ev := wait[[]staleEvent](tb, `(e => e.length && e)(JSON.parse(sessionStorage.getItem('__events') || '[]'))`, loadWithin)
	if len(ev) != 1 || ev[0].Reason != "asset" || ev[0].Current != "v2" {
		t.Errorf("events %+v, want one for the asset, current v2", ev)
	}
}

// unitRollback: the server's word moves current both ways; back on the
// tab's own build, the tab is fresh and its next click client-side.
func unitRollback(t *testing.T) {
	s := newStub(t, "v1")
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	s.set(func(s *stub) { s.current = "v2" })
	if !eval[bool](tb, `window.skewless.check()`) {
		t.Fatal("not stale with v2 current")
	}
	s.set(func(s *stub) { s.current = "v1" })
	if eval[bool](tb, `window.skewless.check()`) {
		t.Fatal("still stale after the rollback to v1")
	}
	first := tb.State()
	eval[any](tb, `history.pushState(null, '', '/elsewhere')`)
	if st := tb.State(); st.Doc != first.Doc || st.Path != "/elsewhere" {
		t.Errorf("pushState after the rollback: %+v, want the same document at /elsewhere", st)
	}
}

// unitBlockedFromVersion: /_skewless/version lists the tab's build as
// blocked: skewless:blocked (not cancelable), and the next click is a
// full load although the app cancelled skewless:stale.
func unitBlockedFromVersion(t *testing.T) {
	s := newStub(t, "v1")
	tb := openTab(t, s, tabOptions{blockStream: true, cancelStale: true})
	tb.Load("/")
	first := tb.State()
	s.set(func(s *stub) { s.current, s.blocked = "v2", []string{"v1"} })
	eval[bool](tb, `window.skewless.check()`)
	b := wait[[]map[string]any](tb, `window.__blocked.length && window.__blocked`, 5*time.Second)
	if len(b) != 1 || b[0]["cancelable"] != false || b[0]["loaded"] != "v1" || b[0]["current"] != "v2" {
		t.Errorf("skewless:blocked events %v, want one, not cancelable, v1 → v2", b)
	}
	if !eval[bool](tb, `window.skewless.blocked && window.skewless.stale`) {
		t.Error("skewless.blocked or .stale not set")
	}
	tb.Click("#next")
	got := wait[pageState](tb, `(s => s.doc !== '`+first.Doc+`' && s.loaded === 'v2' && s)(`+pageStateJS+`)`, loadWithin)
	if got.Path != "/next" {
		t.Errorf("after the click: %+v, want a full load of /next", got)
	}
}

// unitBlockedHidden: a hidden tab whose build gets blocked (event stream)
// reloads at once, onto the current build.
func unitBlockedHidden(t *testing.T) {
	s := newStub(t, "v1")
	tb := openTab(t, s, tabOptions{})
	tb.Load("/")
	s.waitFor(t, "streaming", 5*time.Second, func(s *stub) bool { return s.open == 1 })
	first := tb.State()
	tb.setVisible(false)
	wait[bool](tb, `document.visibilityState === 'hidden'`, 2*time.Second)
	s.set(func(s *stub) { s.current = "v2" })
	s.send("version", `{"version": "v2"}`)
	wait[bool](tb, `window.skewless.stale`, 5*time.Second)
	if st := tb.State(); st.Doc != first.Doc {
		t.Fatalf("a deploy reloaded a hidden tab: %+v", st)
	}
	s.send("blocked", `{"versions": ["v0", "v1"]}`)
	got := wait[pageState](tb, `(s => s.doc !== '`+first.Doc+`' && s.loaded === 'v2' && s)(`+pageStateJS+`)`, loadWithin)
	if got.Path != "/" {
		t.Errorf("after the block: %+v, want a reload of / onto v2", got)
	}
	tb.setVisible(true)
}

// unitNoLoop: a forced load that lands on the same stale build (a CDN
// serving old HTML) does not force again: one load, then skewless:stale
// with reason "reload-loop".
func unitNoLoop(t *testing.T) {
	s := newStub(t, "v1")
	tb := openTab(t, s, tabOptions{blockStream: true})
	tb.Load("/")
	s.set(func(s *stub) { s.current, s.html = "v2", "v1" })
	eval[bool](tb, `window.skewless.check()`)
	tb.Click("#next")
	ev := wait[[]staleEvent](tb, `(e => e.length >= 2 && e)(JSON.parse(sessionStorage.getItem('__events') || '[]'))`, loadWithin)
	if ev[1].Reason != "reload-loop" || ev[1].Path != "/next" {
		t.Errorf("events %+v, want the second to be a reload-loop on /next", ev)
	}
	st := tb.State()
	if st.Loaded != "v1" || !st.Stale {
		t.Errorf("state %+v, want a stale v1 page", st)
	}
	if eval[bool](tb, `history.pushState(null, '', '/again'), location.pathname === '/again'`) != true {
		t.Error("after a loop the helper still forces navigations")
	}
	hold(tb, `window.__docId !== '`+st.Doc+`'`, 500*time.Millisecond)
}

// unitStreamVersions: three tabs on two builds share one stream, whose URL
// lists each tab's loaded version.
func unitStreamVersions(t *testing.T) {
	s := newStub(t, "v2")
	var tabs []*tab
	for _, p := range []string{"/v/v1/", "/v/v2/", "/v/v1/"} {
		tb := openTab(t, s, tabOptions{})
		tb.Load(p)
		tabs = append(tabs, tb)
	}
	s.waitFor(t, "one stream for v1, v1, v2", 10*time.Second, func(s *stub) bool {
		return s.open == 1 && s.streams[len(s.streams)-1] == "v=v1&v=v1&v=v2"
	})
	tabs[0].Close()
	s.waitFor(t, "one stream for v1, v2", 10*time.Second, func(s *stub) bool {
		return s.open == 1 && s.streams[len(s.streams)-1] == "v=v1&v=v2"
	})
	s.send("version", `{"version": "v3"}`)
	for _, tb := range tabs[1:] {
		wait[bool](tb, `window.skewless.current === 'v3' && window.skewless.stale`, 5*time.Second)
	}
}

// unitNoLocks: a browser without Web Locks gets a stream per tab.
func unitNoLocks(t *testing.T) {
	s := newStub(t, "v1")
	noLocks := `delete Navigator.prototype.locks;`
	for range 2 {
		tb := openTab(t, s, tabOptions{scripts: []string{noLocks}})
		tb.Load("/")
	}
	s.waitFor(t, "two streams", 10*time.Second, func(s *stub) bool {
		return s.open == 2 && slices.Equal(s.streams, []string{"v=v1", "v=v1"})
	})
}

// unitHandover: the holder of the stream leaves (its tab closes, navigates
// away, or stays hidden for a minute while another is visible): another
// tab opens the stream within a second (hidden: of the minute), and hears
// the next deploy.
func unitHandover(t *testing.T, how string) {
	s := newStub(t, "v1")
	holder := openTab(t, s, tabOptions{})
	holder.Load("/")
	s.waitFor(t, "streaming", 5*time.Second, func(s *stub) bool { return s.open == 1 })
	other := openTab(t, s, tabOptions{})
	other.Load("/")
	s.waitFor(t, "one stream for both tabs", 10*time.Second, func(s *stub) bool {
		return s.open == 1 && s.streams[len(s.streams)-1] == "v=v1&v=v1"
	})
	n := len(s.streams)
	left := time.Now()
	within := time.Second
	switch how {
	case "close":
		holder.Close()
	case "navigate":
		if err := chromedp.Do(holder.ctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
	case "hide":
		holder.setVisible(false)
		within = 70 * time.Second // the helper waits a minute
	}
	s.waitFor(t, "streaming again", within, func(s *stub) bool { return len(s.streams) > n })
	t.Logf("%s → a new stream after %v (queries %q)", how, time.Since(left).Round(time.Millisecond), s.streams)
	// The old holder's stream ends when its tab's connection closes, which
	// a busy browser may finish after the new stream opened.
	s.waitFor(t, "the old stream closed", 10*time.Second, func(s *stub) bool { return s.open == 1 })
	s.set(func(s *stub) { s.current = "v2" })
	s.send("version", `{"version": "v2"}`)
	wait[bool](other, `window.skewless.stale`, 5*time.Second)
	if how == "hide" {
		wait[bool](holder, `window.skewless.stale`, 5*time.Second) // hears it from the new holder
		if q := s.streams[len(s.streams)-1]; q != "v=v1&v=v1" {
			t.Errorf("the new stream serves %q, want both tabs", q)
		}
	}
}

// unitKeptFields: fields marked data-skewless-keep (or inside a marked
// element) that the user changed come back after a forced full load,
// through an input event, also when the app renders them late; passwords,
// hidden and file inputs, and unmarked fields never are, and a password is
// never written to storage.
func unitKeptFields(t *testing.T) {
	s := newStub(t, "v1")
	s.body = `<a id="next" href="/next">next</a>
<div data-skewless-keep>
  <input id="text"> <textarea id="area"></textarea>
  <select id="pick"><option>a</option><option>b</option></select>
  <select id="many" multiple><option>x</option><option selected>y</option><option>z</option></select>
  <input id="box" type="checkbox"> <input id="secret" type="password"> <input id="hid" type="hidden" value="h">
  <input name="byname">
</div>
<input id="free"> <span id="slot"></span>
<script>
  window.__inputs = [];
  document.addEventListener('input', e => __inputs.push(e.target.id || e.target.name), true);
  // Rendered late, as a framework does after its chunks load.
  setTimeout(() => { document.getElementById('slot').innerHTML = '<input id="late" data-skewless-keep>'; }, 300);
</script>`
	logWrites := `(() => { const set = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k, v) {
    if (k.startsWith('skewless:')) set.call(this, '__writes', (this.getItem('__writes') || '') + v);
    return set.call(this, k, v);
  }; })();`
	tb := openTab(t, s, tabOptions{blockStream: true, scripts: []string{logWrites}})
	tb.Load("/")
	wait[bool](tb, `!!document.getElementById('late')`, 5*time.Second)
	tb.Type("#text", "typed")
	tb.Type("#secret", "hunter2")
	tb.Type("#free", "free")
	tb.Type("#late", "late")
	eval[any](tb, `(() => { const d = document; d.getElementById('area').value = 'two\nlines';
		d.getElementById('pick').value = 'b'; d.getElementById('box').checked = true;
		const m = d.getElementById('many').options; m[0].selected = true; m[1].selected = false; m[2].selected = true;
		d.querySelector('[name=byname]').value = 'named'; d.getElementById('hid').value = 'changed'; })()`)
	s.set(func(s *stub) { s.current = "v2" })
	eval[bool](tb, `window.skewless.check()`)
	first := tb.State()
	tb.Click("#next")
	wait[bool](tb, `window.__docId !== '`+first.Doc+`' && window.skewless.version === 'v2' &&
		document.getElementById('late') && document.getElementById('late').value === 'late'`, loadWithin)
	got := eval[map[string]any](tb, `(() => { const d = document, v = id => d.getElementById(id).value;
  return { text: v('text'), area: v('area'), pick: v('pick'), box: d.getElementById('box').checked,
    secret: v('secret'), hid: v('hid'), free: v('free'), late: v('late'),
    byname: d.querySelector('[name=byname]').value, inputs: __inputs.slice().sort().join(' '),
    many: [...d.getElementById('many').selectedOptions].map(o => o.value).join(' '),
    stored: sessionStorage.getItem('skewless:keep'), writes: sessionStorage.getItem('__writes') || '' }; })()`)
	want := map[string]any{"text": "typed", "area": "two\nlines", "pick": "b", "box": true, "secret": "",
		"hid": "h", "free": "", "late": "late", "byname": "named", "many": "x z",
		"inputs": "area box byname late many pick text",
		"stored": nil}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %#v, want %#v", k, got[k], w)
		}
	}
	if w := got["writes"].(string); strings.Contains(w, "hunter2") || strings.Contains(w, "free") || !strings.Contains(w, "typed") {
		t.Errorf("storage writes %q: want the kept text, never the password or an unmarked field", w)
	}
}
