/* skewless client. Injected first in <head>, synchronous: runs before the app.
 * Once the server's current build differs from this page's, the NEXT
 * same-origin navigation becomes a full load; staying put never reloads.
 * API: window.skewless, events 'skewless:stale' and 'skewless:blocked'. */
(() => {
  'use strict';
  const w = window, d = document, L = location, N = navigator;
  if (w.skewless && w.skewless.check) return; // HTML injected twice

  const safe = fn => { try { return fn(); } catch (_) { /* never throw into the page */ } };
  const on = (t, type, fn, capture) => t.addEventListener(type, e => safe(() => fn(e)), capture);
  const me = d.currentScript || { dataset: {} };
  const version = me.dataset.version || '';
  // The endpoints sit beside this script: <base>_skewless/.
  const BASE = safe(() => new URL(me.src).pathname.replace(/[^/]*$/, '')) || '/_skewless/';
  const ST = 'Skewless-Version';
  const SPAN = 10e3; // a navigation's "loading" time; one forced load per URL per SPAN
  const POLL = 30e3;
  const HIDE = 60e3; // a tab hidden this long hands its event stream over
  const K_LOADS = 'skewless:loads'; // sessionStorage {url: time} of forced loads
  const K_FROM = 'skewless:from';   // {v, c, u, t} of the last forced load
  const K_KEEP = 'skewless:keep';   // {t, f: {field: value}} kept across it
  const F = w.fetch; // ours bypass the wrapper
  const S = { version, current: version, stale: false, blocked: false, check: () => check('poll') };

  // armed: stale event dispatched and not cancelled (or blocked);
  // halted: a reload loop was seen, never force again; up: an event
  // stream (this tab's or the holder's) is open and heard.
  let fired, armed, halted, pending, up, booting = true;
  // What the user asked for last: a link, a router's push, back/forward,
  // or this document's own load (until 'load' and for SPAN: 'load' does not
  // wait for the route's import(), which may fail later). A chunk that
  // fails while it loads makes it a full load. Typing ends it (the page
  // rendered); the user's first gesture ends the load's own (a router that
  // preloads a hovered link's route must not reload this page).
  let intent = { u: L.href, t: Date.now(), boot: 1 };

  const own = (u, base) => safe(() => {
    const x = new URL(u, base || L.href);
    return x.origin === L.origin ? x : null;
  });
  const key = u => u.split('#')[0];
  const ps = u => u.pathname + u.search;
  const online = () => N.onLine !== false; // an offline failure is no deploy
  const want = u => { intent = { u, t: Date.now() }; };
  const asked = () => intent && (booting || Date.now() - intent.t < SPAN) ? intent : null;
  // The app listens only once it ran: dispatch after DOMContentLoaded.
  const ready = fn => d.readyState === 'loading'
    ? d.addEventListener('DOMContentLoaded', () => safe(fn), { once: true }) : safe(fn);

  // Throws in sandboxes and some privacy modes.
  const ss = safe(() => { const s = w.sessionStorage; s.setItem(K_FROM, s.getItem(K_FROM) || '{}'); return s; });
  const load = k => safe(() => JSON.parse(ss.getItem(k))) || {};
  const save = (k, v) => safe(() => ss.setItem(k, JSON.stringify(v)));

  const emit = (type, reason) => safe(() => w.dispatchEvent(new CustomEvent('skewless:' + type,
    { cancelable: type === 'stale', detail: { loaded: version, current: S.current, reason } }))) !== false;

  // fresh <-> stale -> armed | cancelled (preventDefault); any -> halted
  function markStale(reason) {
    if (!version || S.stale) return;
    S.stale = true;
    if (!fired) { fired = true; ready(() => { armed = emit('stale', reason) || S.blocked; late(); }); }
  }
  function halt() {
    if (!halted) { halted = S.stale = fired = true; ready(() => emit('stale', 'reload-loop')); }
  }
  // The server's own word (stream, /_skewless/version): inequality, not
  // order, so a rollback to this build makes the tab fresh again.
  function see(v, reason) {
    if (typeof v !== 'string' || !(v = v.trim())) return;
    S.current = v;
    if (v !== version) markStale(reason);
    else if (S.stale && !halted && !S.blocked) S.stale = armed = fired = false;
  }
  // An operator blocked this build: leave it at the next navigation,
  // whatever the app did with skewless:stale; a hidden tab leaves now.
  function block() {
    if (S.blocked || !version) return;
    S.blocked = true;
    markStale('blocked');
    ready(() => {
      armed = true;
      emit('blocked', 'blocked');
      if (d.hidden) go(L.href, 'reload', 1);
    });
  }
  // m: {v: current, b: [blocked versions], r: reason, u: stream up}
  function apply(m) {
    if ('u' in m) up = m.u;
    if (m.v) see(m.v, m.r);
    if (Array.isArray(m.b) && m.b.includes(version)) block();
  }

  // Loops: only loads forced by PREVIOUS documents of this tab count.
  const prev = load(K_LOADS), from = load(K_FROM);
  safe(() => ss.removeItem(K_FROM));
  if (version && from.v === version && from.u === key(L.href) && Date.now() - from.t < 60e3) {
    S.current = from.c || version; // forced here, version did not advance
    halt();
  }

  // auto (not the user's doing) needs storage, else nothing stops a loop.
  function go(url, how, auto) {
    if (!armed || halted || !online() || (auto && !ss)) return false;
    const k = key(url), now = Date.now();
    if (pending && pending.k === k && now - pending.t < 1e3) return true; // router repeating itself
    if (now - (prev[k] || 0) < SPAN) return halt(), false;
    const loads = load(K_LOADS);
    for (const x in loads) if (!(now - loads[x] < SPAN)) delete loads[x];
    loads[k] = now;
    save(K_LOADS, loads);
    save(K_FROM, { v: version, c: S.current, u: k, t: now });
    keep();
    pending = { k, t: now };
    if (how === 'reload' || (how === 'assign' && k === key(L.href) && url.includes('#'))) L.reload();
    else L[how](url);
    return true;
  }

  // While a forced load is on its way, a script navigating elsewhere (React
  // Router reloads the old URL when a route's import fails) would replace
  // it: the Navigation API lets it be refused (Chromium). The user's own
  // navigations go through.
  safe(() => on(w.navigation, 'navigate', e => {
    if (pending && Date.now() - pending.t < 5e3 && e.cancelable && !e.userInitiated &&
      !e.destination.sameDocument && key(e.destination.url) !== pending.k) e.preventDefault();
  }));

  // Asks the server which build is current. A check started at or after
  // `since` answers for it; older ones may predate the deploy.
  let inflight;
  function check(reason, since = 0) {
    if (inflight && inflight.t >= since) return inflight.p;
    const t = Date.now();
    const p = F(BASE + 'version', { cache: 'no-store', credentials: 'same-origin' })
      .then(r => r.ok && r.json())
      .then(j => safe(() => j && tell({
        v: j.version, r: reason,
        b: (j.builds || []).filter(b => b.state === 'blocked').map(b => b.version),
      })), () => 0)
      .then(() => { if (inflight && inflight.p === p) inflight = null; return S.stale; });
    inflight = { t, p };
    return p;
  }

  // A confirmed failure while a navigation loads: the route cannot render
  // on this build, so load its target in full (one load: go's guard). The
  // navigation is the one asked for when the server answered.
  const target = nav => [nav.u, key(nav.u) === key(L.href) ? 'reload' : 'assign', 1];
  const rescue = () => S.stale && ready(() => { const nav = asked(); if (nav) go(...target(nav)); });
  // Armed while a click (or push) it did not force is still loading: that
  // was the next navigation, so it becomes the full load. A router that
  // reloads the old URL on a failed import (React Router) must not win.
  const late = () => {
    const nav = asked();
    if (armed && nav && !nav.boot && Date.now() - nav.t < 3e3) go(...target(nav));
  };
  // A navigation while no stream is heard: ask the server at once, so a
  // failure during it meets an answer already on its way (once per 2 s).
  let navCheck = 0;
  const navigating = () => {
    if (!up && !armed && Date.now() - navCheck > 2e3) { navCheck = Date.now(); check('poll'); }
  };

  const probes = {}; // one failure often shows up 2-3 ways
  // A failed load is no proof of a deploy (ad blockers, CSP, flaky
  // networks, a file missing from the current build): ask the server.
  function suspect(url, reason) {
    const u = url ? own(url) : L;
    if (!u || u.pathname.startsWith(BASE) || !online()) return;
    const k = key(u.href), now = Date.now(), nav = asked();
    if (url && now - (probes[k] || 0) < 5e3) return;
    probes[k] = now;
    // A check begun since the navigation did see the deploy that retired
    // the chunk it needs.
    if (S.stale) rescue();
    else check(reason, nav ? nav.t : now).then(rescue);
  }

  function chunk(r) {
    const url = (r && r.request) ||
      ((/(https?:\/\/|\s\/)[^\s)"']+/.exec((r && r.message) || r) || [''])[0]).trim();
    suspect(url, 'chunk'); // Safari names no URL
  }
  const CHUNK = /dynamically imported module|Importing a module script failed|Unable to preload CSS|Loading (CSS )?chunk/i;
  // Only the page's code counts: never icons, images, fonts or fetches.
  const RELS = /(^|\s)(stylesheet|modulepreload)(\s|$)/i;
  const CODE = /\.(m?js|css)$/i;
  const linkOk = l => RELS.test(l.rel) || (/(^|\s)preload(\s|$)/i.test(l.rel) && /^(script|style)$/.test(l.as));

  on(w, 'error', e => { // capture: resource errors do not bubble
    const t = e.target;
    if (t.localName === 'script' && t.src) suspect(t.src, 'asset');
    else if (t.localName === 'link' && t.href && linkOk(t)) suspect(t.href, 'asset');
    else if (e.error && e.error.name === 'ChunkLoadError') chunk(e.error);
  }, true);
  on(w, 'unhandledrejection', e => { // observe only: no preventDefault
    const r = e.reason;
    if ((r && r.name === 'ChunkLoadError') || CHUNK.test((r && r.message) || r)) chunk(r);
  });
  on(w, 'vite:preloadError', e => chunk(e.payload));
  // Apps often catch import() errors: watch statuses too (Chromium). A
  // dynamic import is initiator "other", as is the browser's own favicon.
  safe(() => new PerformanceObserver(list => safe(() => {
    for (const en of list.getEntries()) {
      const t = en.initiatorType, u = own(en.name);
      if (!(en.responseStatus >= 400) || !u) continue;
      const el = t === 'link' && [...d.querySelectorAll('link[href]')].find(l => l.href === en.name);
      if (t === 'script' || (el ? linkOk(el) : /^(link|other|css)$/.test(t) && CODE.test(u.pathname))) {
        suspect(en.name, 'asset');
      }
    }
  })).observe({ type: 'resource', buffered: true }));

  // A Skewless-Version header may come from a cache: ask before believing
  // it, at most once per SPAN for one value.
  const asking = {};
  function header(url, v) {
    if (!v || !url || !own(url) || v === S.current) return null;
    const now = Date.now();
    if (now - (asking[v] || 0) < SPAN) return inflight ? inflight.p : null;
    asking[v] = now;
    return check('header', now);
  }
  // A response that names another build, fetched right after the user
  // asked for a page (one a router swaps in, as Astro's and Next's do):
  // held until the server answers; if it confirms, that navigation becomes
  // a full load instead of mixing two builds in one page.
  w.fetch = function fetch() {
    const t = Date.now();
    return F.apply(this, arguments).then(r => {
      const p = safe(() => header(r.url, r.headers.get(ST))), nav = asked();
      if (!p || !nav || nav.boot || nav.t > t || t - nav.t > 3e3) return r;
      // Leaving: the response waits (if the navigation is cancelled, 3 s).
      return p.then(() => (S.stale && safe(() => go(...target(nav)))
        ? new Promise(ok => setTimeout(ok, 3e3, r)) : r));
    });
  };
  const XP = XMLHttpRequest.prototype, xsend = XP.send;
  function onXhr() { safe(() => header(this.responseURL, this.getResponseHeader(ST))); }
  XP.send = function send() { // a loadend listener is invisible to the app
    safe(() => this.addEventListener('loadend', onXhr));
    return xsend.apply(this, arguments);
  };

  on(w, 'load', () => { booting = false; });
  on(w, 'input', e => { if (e.isTrusted) booting = intent = null; }, true); // typing: rendered, stay
  const gesture = e => { if (e.isTrusted && intent && intent.boot) booting = intent = null; };
  for (const type of ['pointerdown', 'keydown', 'touchstart']) on(w, type, gesture, true);
  on(w, 'mouseover', e => e.target.closest && e.target.closest('a[href]') && gesture(e), true);

  let navPS = ps(L);

  on(d, 'click', e => { // capture: before routers' link handlers
    if (e.defaultPrevented || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    // composedPath: shadow DOM links too; SVG links have no string href.
    const a = e.composedPath().find(n => n.localName === 'a' && typeof n.href === 'string' && n.hasAttribute('href'));
    if (!a || a.hasAttribute('download')) return;
    const t = a.getAttribute('target') || safe(() => d.querySelector('base[target]').target);
    if (t && t.toLowerCase() !== '_self') return;
    const u = own(a.href);
    if (!u || (ps(u) === ps(L) && u.href.includes('#'))) return;
    if (go(u.href, 'assign')) {
      e.preventDefault();
      e.stopImmediatePropagation();
    } else { want(u.href); navigating(); }
  }, true);

  const wrap = (name, how) => {
    const orig = history[name];
    history[name] = function (state, title, url) {
      const forced = url != null && safe(() => {
        const u = own(url, d.baseURI);
        if (!u || ps(u) === ps(L)) return;
        if (go(u.href, how)) return 1;
        // A router that pushes after loading the route keeps the click's intent.
        if (!intent || key(intent.u) !== key(u.href)) { want(u.href); navigating(); }
      });
      if (forced) return; // the router's URL change must not happen
      const out = orig.apply(this, arguments);
      navPS = ps(L);
      return out;
    };
  };
  wrap('pushState', 'assign');
  wrap('replaceState', 'replace');

  on(w, 'popstate', e => { // capture, registered first: before the router
    if (ps(L) === navPS) return;
    navPS = ps(L);
    if (go(L.href, 'reload')) e.stopImmediatePropagation(); else { want(L.href); navigating(); }
  }, true);

  // --- Kept form fields --------------------------------------------------
  // Fields marked data-skewless-keep (or inside such an element) that the
  // user changed survive a forced full load, when the new page has them.
  const FIELDS = 'input,textarea,select';
  const fieldKey = f => {
    const k = f.id ? '#' + f.id : f.name ? f.localName + '@' + f.name : '';
    return k && (f.type === 'radio' ? k + '=' + f.value : k);
  };
  const checkable = f => /^(checkbox|radio)$/.test(f.type);
  const opts = f => [...f.options];
  // A select's default is its options' selected attribute, else its first.
  const changed = f => checkable(f) ? f.checked !== f.defaultChecked
    : !f.options ? f.value !== f.defaultValue
      : f.multiple ? opts(f).some(o => o.selected !== o.defaultSelected)
        : f.selectedIndex !== Math.max(0, opts(f).findIndex(o => o.defaultSelected));
  const value = f => checkable(f) ? f.checked
    : f.multiple ? opts(f).filter(o => o.selected).map(o => o.value) : f.value;
  const keepable = () => [...d.querySelectorAll('[data-skewless-keep]')]
    .flatMap(el => el.matches(FIELDS) ? [el] : [...el.querySelectorAll(FIELDS)])
    .filter(f => !/^(password|hidden|file|submit|button|reset|image)$/.test(f.type) && fieldKey(f));
  function keep() {
    const f = {};
    for (const el of keepable()) if (changed(el)) f[fieldKey(el)] = value(el);
    if (Object.keys(f).length) save(K_KEEP, { t: Date.now(), f });
  }
  // Restored once the app rendered them (after load, or when they appear
  // later), through the native setter and an input event so a framework's
  // model sees the value; into a field the user has not touched, once
  // (again only if a re-render replaced that field), for SPAN.
  function restore(kept) {
    const done = new Map();
    let obs, typed;
    // The element's own setter: React shadows the property on the element
    // to see its own writes, and must see this one as the user's.
    const setter = (el, p) => {
      for (let o = el; (o = Object.getPrototypeOf(o));) {
        const s = Object.getOwnPropertyDescriptor(o, p);
        if (s && s.set) return s.set;
      }
    };
    const fill = () => safe(() => {
      for (const el of keepable()) {
        const k = fieldKey(el), was = done.get(k);
        if (typed || !(k in kept) || was === el || (was && was.isConnected) || changed(el)) continue;
        done.set(k, el);
        safe(() => {
          if (el.multiple) opts(el).forEach(o => { o.selected = kept[k].includes(o.value); });
          else setter(el, checkable(el) ? 'checked' : 'value').call(el, kept[k]);
          for (const type of ['input', 'change']) el.dispatchEvent(new Event(type, { bubbles: true }));
        });
      }
    });
    const start = () => {
      fill();
      obs = new MutationObserver(fill);
      obs.observe(d.documentElement, { childList: true, subtree: true });
      setTimeout(() => obs.disconnect(), SPAN);
    };
    on(d, 'input', e => { if (e.isTrusted) typed = true; }, true);
    if (d.readyState === 'complete') setTimeout(start); else on(w, 'load', () => setTimeout(start));
  }
  const kept = load(K_KEEP);
  safe(() => ss.removeItem(K_KEEP));
  if (kept.f && Date.now() - kept.t < 60e3) restore(kept.f);

  // --- One event stream per browser ---------------------------------------
  // Tabs of this origin (and base) elect one holder of the stream (Web
  // Locks) and share what it hears (BroadcastChannel): HTTP/1.1 allows a
  // browser six connections per host. Each tab holds a lock named after
  // its loaded version; the holder lists them in the stream URL (?v=) so
  // the server can count open tabs per version. Without these APIs, a
  // stream per tab.
  const LK = N.locks, BC = w.BroadcastChannel;
  const shared = !!(LK && LK.query && BC);
  const NAME = 'skewless ' + BASE, TAB = NAME + ' tab ', id = Math.random().toString(36).slice(2);
  let ch, es, url, mine, active, ask, last = {}, frees = [], fails = 0;
  let poller, retry, watchdog, hideTimer, debounce, hiddenAt = Date.now();

  // A message from the server, for this tab and, from the holder, for all.
  function tell(m) {
    apply(m);
    if (!mine || !ch) return;
    last = { v: m.v || last.v, b: m.b || last.b, r: m.r, u: up };
    ch.postMessage(last);
  }
  const poll = run => {
    clearInterval(poller);
    poller = run && setInterval(() => d.hidden || check('poll'), POLL);
  };
  const close = () => {
    if (es) es.close();
    es = null; clearTimeout(watchdog); clearTimeout(retry); poll();
    if (up) tell({ u: false });
  };
  // The versions of the tabs this stream serves, sorted.
  const tabs = () => shared
    ? LK.query().then(q => q.held.map(l => l.name).filter(n => n.startsWith(TAB))
      .map(n => n.slice(TAB.length).split(' ')[0]).sort())
    : Promise.resolve([version]);
  // (Re)connects when the set of tabs changed; debounced while open.
  function connect() {
    clearTimeout(debounce);
    debounce = setTimeout(() => tabs().then(vs => safe(() => {
      const u = BASE + 'events?' + (vs.length ? vs : [version]).map(v => 'v=' + encodeURIComponent(v)).join('&');
      if (!mine || (es && u === url)) return;
      url = u;
      close();
      open();
    })), es ? 500 : 0);
  }
  function open() {
    if (es || !mine) return;
    clearTimeout(retry);
    if (!w.EventSource) return poll(1);
    let heard;
    const s = es = new EventSource(url);
    // Buffering proxy: open but silent (the server sends a version on connect).
    watchdog = setTimeout(() => heard || poll(1), SPAN);
    const got = () => { heard = true; fails = 0; up = true; if (poller) poll(); };
    on(s, 'version', e => { got(); tell({ v: JSON.parse(e.data).version, r: 'event-stream' }); });
    on(s, 'blocked', e => { got(); tell({ b: JSON.parse(e.data).versions, r: 'event-stream' }); });
    on(s, 'error', () => {
      if (s !== es) return;
      if (up) tell({ u: false });
      if (!poller) poll(1); // it reconnects by itself; poll meanwhile
      if (!heard) fails++;
      heard = false;
      // Closed for good (non-200) or failing repeatedly (proxy): back off.
      if (s.readyState === 2 || fails > 2) {
        close(); poll(1);
        retry = setTimeout(() => safe(open), Math.min(3e5, POLL * 2 ** fails));
      }
    });
  }
  // Holds the stream lock until this tab leaves or another steals it.
  function elect(steal, granted) {
    if (ask) ask.abort(); // a steal replaces the request waiting in line
    const ac = ask = steal ? null : new AbortController();
    let held;
    LK.request(NAME, ac ? { signal: ac.signal } : { steal }, () => {
      if (granted) granted();
      if (!active) return;
      held = mine = true;
      if (ask === ac) ask = null;
      connect();
      return new Promise(res => frees.push(res));
    }).catch(() => 0).then(() => {
      if (!held || !mine) return; // never held it, or left
      mine = false; // stolen: queue again
      close();
      if (active) elect();
    });
  }
  function onMessage(m) {
    if (m.hi || m.bye) {
      if (mine) { if (m.hi && last.v) ch.postMessage(last); connect(); }
      return;
    }
    if (m.vis) return mine && d.hidden && Date.now() - hiddenAt > HIDE && ch.postMessage({ y: 1 });
    // The holder was hidden for long: a visible tab takes the stream.
    if (m.y) {
      return !d.hidden && !mine && LK.request(NAME + ' steal', { ifAvailable: true },
        l => l && new Promise(res => elect(true, res)));
    }
    apply(m);
  }
  function start() {
    if (active || !version) return;
    active = true;
    if (!shared) { mine = true; return connect(); }
    ch = new BC(NAME);
    ch.onmessage = e => safe(() => onMessage(e.data || {}));
    // The tab's own lock, then the stream's: the holder's list holds it.
    LK.request(TAB + version + ' ' + id, () => {
      if (!active) return;
      ch.postMessage({ hi: 1 });
      elect();
      return new Promise(res => frees.push(res));
    });
  }
  // Leaving (or frozen): hand the stream over, release every lock (a page
  // holding one never enters the back/forward cache).
  function stop() {
    if (!active) return;
    active = mine = false;
    close();
    if (ch) { ch.postMessage({ bye: 1 }); ch.close(); ch = null; }
    frees.splice(0).forEach(f => f());
  }

  function hide() {
    hiddenAt = Date.now();
    // Not while leaving: an unloading page turns hidden after pagehide,
    // and a reload then would replace the load it is leaving for.
    if (S.blocked && active) go(L.href, 'reload', 1);
    // Long-hidden: a shared stream goes to a visible tab, a tab's own closes.
    hideTimer = setTimeout(() => {
      if (!shared) close();
      else if (mine && ch) ch.postMessage({ y: 1 });
    }, HIDE);
  }
  on(d, 'visibilitychange', () => {
    clearTimeout(hideTimer);
    if (d.hidden) hide();
    else {
      check('poll');
      if (ch) ch.postMessage({ vis: 1 });
      if (!shared && active) connect();
    }
  });
  on(w, 'pagehide', stop); // back/forward cache friendly
  on(d, 'freeze', stop);
  on(d, 'resume', start);
  on(w, 'pageshow', e => { if (e.persisted) { start(); check('poll'); } });
  safe(start);
  if (d.hidden) hide();

  w.skewless = S;
})();
