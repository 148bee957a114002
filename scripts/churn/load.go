package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pages are the page requests: the root, client-side routes (the SPA
// fallback) and the document itself.
var pages = []string{"/", "/some/route", "/about", "/report/2024/q1", "/index.html"}

var (
	// assetRefRe finds the URL of every script and link tag of a page.
	assetRefRe = regexp.MustCompile(`<(?:script|link)\b[^>]*?\s(?:src|href)="([^"]*)"`)
	// dataVersionRe finds the injected helper tag's version.
	dataVersionRe = regexp.MustCompile(`data-version="([^"]*)"`)
)

// stats counts what the load saw. Workers only add.
type stats struct {
	requests, pages, assets atomic.Int64
	transport, serverErr    atomic.Int64 // failed requests, 5xx
	mixed, missing, wrong   atomic.Int64 // mixed pages, unservable assets, other bad answers

	mu       sync.Mutex
	problems []string       // the first few, for the report
	seen     map[string]int // pages per version
}

func (s *stats) failed() int64 {
	return s.transport.Load() + s.serverErr.Load() + s.mixed.Load() + s.missing.Load() + s.wrong.Load()
}

func (s *stats) problem(counter *atomic.Int64, format string, args ...any) {
	counter.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
}

// startLoad starts the workers; the returned func stops them and waits.
func startLoad(base string, fx fixture, st *stats, cfg config) (stop func()) {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: cfg.pageWorkers + cfg.assetWorkers}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	assets := make([]string, 0, len(fx.assets))
	for p := range fx.assets {
		assets = append(assets, p)
	}
	var quit atomic.Bool
	var wg sync.WaitGroup
	for w := range cfg.pageWorkers {
		wg.Go(func() {
			for i := w; !quit.Load(); i++ {
				st.checkPage(c, base, pages[i%len(pages)], fx)
			}
		})
	}
	for w := range cfg.assetWorkers {
		wg.Go(func() {
			for i := w; !quit.Load(); i++ {
				p := assets[i%len(assets)]
				st.checkAsset(c, base, p, fx.assets[p])
			}
		})
	}
	return func() {
		quit.Store(true)
		wg.Wait()
		tr.CloseIdleConnections()
	}
}

// get sends one request and reads the whole body; it returns the answer
// only when it is complete and below 500.
func (s *stats) get(c *http.Client, base, p string) (*http.Response, []byte) {
	s.requests.Add(1)
	resp, err := c.Get(base + p)
	if err != nil {
		s.problem(&s.transport, "GET %s: %v", p, err)
		return nil, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		s.problem(&s.transport, "GET %s: read body: %v", p, err)
		return nil, nil
	case resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength:
		s.problem(&s.transport, "GET %s: body of %d bytes, Content-Length %d", p, len(body), resp.ContentLength)
		return nil, nil
	case resp.StatusCode >= 500:
		s.problem(&s.serverErr, "GET %s: %d", p, resp.StatusCode)
		return nil, nil
	}
	return resp, body
}

// checkPage fetches a page, checks it is one build's whole page, then
// fetches every asset it names.
func (s *stats) checkPage(c *http.Client, base, p string, fx fixture) {
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
	s.mu.Lock()
	s.seen[v]++
	s.mu.Unlock()
	doc := string(body)
	if tags := dataVersionRe.FindAllStringSubmatch(doc, -1); len(tags) != 1 || tags[0][1] != v {
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
		if ar, _ := s.get(c, base, ref); ar != nil && ar.StatusCode != 200 {
			s.problem(&s.missing, "%s (of %s's page, via %s): %d %s", ref, v, p, ar.StatusCode, ar.Header.Get("Skewless-Asset"))
		}
	}
}

// checkAsset fetches one hashed asset: 200 with its own bytes.
func (s *stats) checkAsset(c *http.Client, base, p string, want []byte) {
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
