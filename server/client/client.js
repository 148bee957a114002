/* skewless client. Injected first in <head>, synchronous: runs before the app.
 * Once this page's build is stale, the NEXT same-origin navigation becomes a
 * full load; staying put never reloads. API: window.skewless, 'skewless:stale'. */
(() => {
  'use strict';
  const w = window, d = document, L = location;
  if (w.skewless && w.skewless.check) return; // HTML injected twice

  const BASE = '/_skewless/', ST = 'Skewless-Version';
  const SPAN = 10e3; // navigation "loading" time; one forced load per URL per SPAN
  const POLL = 30e3;
  const K_LOADS = 'skewless:loads'; // sessionStorage {url: time} of forced loads
  const K_FROM = 'skewless:from';   // {v, c, u, t} of the last forced load

  const safe = fn => { try { return fn(); } catch (_) { /* never throw into the page */ } };
  const on = (t, type, fn, capture) => t.addEventListener(type, e => safe(() => fn(e)), capture);
  const version = (d.currentScript || { dataset: {} }).dataset.version || '';
  const F = w.fetch; // ours bypass the wrapper
  const S = { version, current: version, stale: false, check: () => check() };

  // armed: event dispatched and not cancelled; halted: loop seen, never force again
  // The initial load is a navigation too, until 'load' and for SPAN: 'load'
  // does not wait for the route's own import() (Chromium), which often fails later.
  let fired, armed, halted, pending, navAt = Date.now();
  let booting = true;

  const own = (u, base) => safe(() => {
    const x = new URL(u, base || L.href);
    return x.origin === L.origin ? x : null;
  });
  const key = u => u.split('#')[0];
  const ps = u => u.pathname + u.search;
  const online = () => navigator.onLine !== false; // an offline failure is no deploy
  const loading = () => booting || Date.now() - navAt < SPAN;
  // The app listens only once it ran: dispatch after DOMContentLoaded.
  const ready = fn => d.readyState === 'loading'
    ? d.addEventListener('DOMContentLoaded', () => safe(fn), { once: true }) : safe(fn);

  // Throws in sandboxes and some privacy modes.
  const ss = safe(() => { const s = w.sessionStorage; s.setItem(K_FROM, s.getItem(K_FROM) || '{}'); return s; });
  const load = k => safe(() => JSON.parse(ss.getItem(k))) || {};
  const save = (k, v) => safe(() => ss.setItem(k, JSON.stringify(v)));

  const emit = reason => safe(() => w.dispatchEvent(new CustomEvent('skewless:stale',
    { cancelable: true, detail: { loaded: version, current: S.current, reason } }))) !== false;

  // fresh -> stale -> armed | cancelled (preventDefault); any -> halted
  function markStale(reason) {
    if (!version) return;
    S.stale = true;
    if (!fired) { fired = true; ready(() => { armed = emit(reason); }); }
  }
  function halt() {
    if (!halted) { halted = S.stale = fired = true; ready(() => emit('reload-loop')); }
  }
  // Inequality, not order. Only stream/endpoint (sure) move current back (rollback).
  function see(v, reason, sure) {
    if (typeof v !== 'string' || !(v = v.trim())) return;
    if (v !== version) { S.current = v; markStale(reason); } else if (sure) S.current = v;
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
    pending = { k, t: now };
    if (how === 'reload') L.reload(); else L[how](url);
    return true;
  }

  const check = (reason = 'poll') => F(BASE + 'version', { cache: 'no-store' })
    .then(r => r.ok && r.json()).then(j => safe(() => see(j.version, reason, 1)), () => 0)
    .then(() => S.stale);

  // Confirmed failure while a navigation loads: the route cannot render, so
  // reload its target (already the URL), if the server has another build (else
  // it would not help). Not if the app cancelled the event. If this page is
  // itself a forced load of the URL and fails on the current build, give up.
  const rescue = nav => {
    if (!nav || !S.stale || ps(L) !== nav) return;
    if (S.current !== version) ready(() => go(L.href, 'reload', 1));
    else if (Date.now() - (prev[key(L.href)] || 0) < SPAN) halt();
  };

  const probes = {}; // one failure often shows up 2-3 ways
  function suspect(url, reason) {
    const u = own(url);
    if (!u || u.pathname.startsWith(BASE)) return;
    const nav = loading() && ps(L), k = key(u.href), now = Date.now();
    if ((S.stale && !nav) || !online() || now - (probes[k] || 0) < 5e3) return;
    probes[k] = now;
    // Ad blockers, CSP and flaky networks fail loads too: ask the server.
    F(k, { method: 'HEAD', cache: 'no-store' }).then(r => safe(() => {
      const a = r.headers.get('Skewless-Asset'), v = r.headers.get(ST);
      see(v, reason);
      if (a === 'retired' || a === 'unknown' || r.status === 404) markStale(reason);
      rescue(nav);
    }), () => { delete probes[k]; }); // not confirmed
  }

  function chunk(r) {
    const url = (r && r.request) ||
      ((/(https?:\/\/|\s\/)[^\s)"']+/.exec((r && r.message) || r) || [''])[0]).trim();
    if (url) return suspect(url, 'chunk');
    const nav = loading() && ps(L); // Safari names no URL: ask for the version
    if ((!S.stale || nav) && online()) check('chunk').then(() => rescue(nav));
  }
  const CHUNK = /dynamically imported module|Importing a module script failed|Unable to preload CSS|Loading (CSS )?chunk/i;
  const RELS = /(^|\s)(stylesheet|modulepreload|preload)(\s|$)/i; // a missing icon is no deploy

  on(w, 'error', e => { // capture: resource errors do not bubble
    const t = e.target;
    if (t.localName === 'script' && t.src) suspect(t.src, 'asset');
    else if (t.localName === 'link' && t.href && RELS.test(t.rel)) suspect(t.href, 'asset');
    else if (e.error && e.error.name === 'ChunkLoadError') chunk(e.error);
  }, true);
  on(w, 'unhandledrejection', e => { // observe only: no preventDefault
    const r = e.reason;
    if ((r && r.name === 'ChunkLoadError') || CHUNK.test((r && r.message) || r)) chunk(r);
  });
  on(w, 'vite:preloadError', e => chunk(e.payload));
  // Apps often catch import() errors: watch statuses too (Chromium).
  safe(() => new PerformanceObserver(list => safe(() => {
    for (const en of list.getEntries()) {
      if (!(en.responseStatus >= 400) || !/^(script|link|other)$/.test(en.initiatorType)) continue;
      const el = [...d.querySelectorAll('link[href]')].find(l => l.href === en.name);
      if (!el || RELS.test(el.rel)) suspect(en.name, 'asset');
    }
  })).observe({ type: 'resource', buffered: true }));

  const hdr = (url, v) => { if (v && url && own(url)) see(v, 'header'); };
  // Same value/errors/Response; chaining keeps unhandledrejection as it was.
  w.fetch = function fetch() {
    return F.apply(this, arguments).then(r => { safe(() => hdr(r.url, r.headers.get(ST))); return r; });
  };
  const XP = XMLHttpRequest.prototype, xsend = XP.send;
  function onXhr() { safe(() => hdr(this.responseURL, this.getResponseHeader(ST))); }
  XP.send = function send() { // a loadend listener is invisible to the app
    safe(() => this.addEventListener('loadend', onXhr));
    return xsend.apply(this, arguments);
  };

  on(w, 'load', () => { booting = false; });
  on(w, 'input', () => { booting = false; navAt = 0; }, true); // typing: rendered, stay

  let navPS = ps(L);

  on(d, 'click', e => { // capture: before routers' link handlers
    if (!armed || halted || e.defaultPrevented || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    // composedPath: shadow DOM links too; SVG links have no string href.
    const a = e.composedPath().find(n => n.localName === 'a' && typeof n.href === 'string' && n.hasAttribute('href'));
    if (!a || a.hasAttribute('download')) return;
    const t = a.getAttribute('target') || safe(() => d.querySelector('base[target]').target);
    if (t && t.toLowerCase() !== '_self') return;
    const u = own(a.href);
    if (u && !(ps(u) === ps(L) && u.href.includes('#')) && go(u.href, 'assign')) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  const wrap = (name, how) => {
    const orig = history[name];
    history[name] = function (state, title, url) {
      const forced = url != null && safe(() => {
        const u = own(url, d.baseURI);
        if (!u || ps(u) === ps(L)) return;
        if (go(u.href, how)) return 1;
        navAt = Date.now();
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
    if (go(L.href, 'reload')) e.stopImmediatePropagation(); else navAt = Date.now();
  }, true);

  // Event stream; poll while it is down.
  let es, fails = 0, poller, retry, watchdog, hideTimer;
  const poll = run => {
    clearInterval(poller);
    poller = run && setInterval(() => d.hidden || check(), POLL);
  };
  const close = () => { if (es) es.close(); es = null; clearTimeout(watchdog); clearTimeout(retry); poll(); };
  function open() {
    if (es || !version) return;
    clearTimeout(retry);
    if (!w.EventSource) return poll(1);
    let heard;
    const s = es = new EventSource(BASE + 'events');
    // Buffering proxy: open but silent (the server sends a version on connect).
    watchdog = setTimeout(() => heard || poll(1), SPAN);
    on(s, 'version', e => {
      heard = true; fails = 0;
      if (poller) poll();
      see(JSON.parse(e.data).version, 'event-stream', 1);
    });
    on(s, 'error', () => {
      if (s !== es) return;
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

  on(d, 'visibilitychange', () => {
    clearTimeout(hideTimer);
    // Long-hidden tabs free their connection (HTTP/1.1: ~6 per origin).
    if (d.hidden) hideTimer = setTimeout(close, 60e3);
    else { check(); safe(open); }
  });
  on(w, 'pagehide', close); // back/forward cache friendly
  on(w, 'pageshow', e => { if (e.persisted) { safe(open); check(); } });
  safe(open);

  w.skewless = S;
})();
