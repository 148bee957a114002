// Package churncheck puts continuous HTTP load on the pages and hashed
// assets of the fixture builds v1, v2 and v3 while the current build flips,
// and checks every answer:
//   - no transport error and no 5xx, and every body as long as its
//     Content-Length;
//   - a page (/, a client-side route, /index.html) is one build's page: it
//     carries exactly one injected data-version, equal to its
//     Skewless-Version header, and its entry script is that build's own,
//     never another's;
//   - every script and link URL a page names answers 200 right after;
//   - every hashed asset of the three builds answers 200 with its own bytes
//     throughout, whatever build is current.
//
// server/churn_test.go runs it against an in-process server for a few
// seconds, scripts/churn.sh against the binary for longer.
package churncheck

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
	"time"
)

// Versions are the fixture builds the load runs on.
var Versions = []string{"v1", "v2", "v3"}

// FlipOrder is the flip sequence: roll forward, then back, and again.
var FlipOrder = []string{"v1", "v2", "v3", "v2"}

// PagePaths are the page requests: the root, client-side routes (the SPA
// fallback) and the document itself.
var PagePaths = []string{"/", "/some/route", "/about", "/report/2024/q1", "/index.html"}

var (
	// entryRe finds a page's entry script.
	entryRe = regexp.MustCompile(`<script type="module"[^>]*src="([^"]+)"`)
	// assetRefRe finds the URL of every script and link tag of a page.
	assetRefRe = regexp.MustCompile(`<(?:script|link)\b[^>]*?\s(?:src|href)="([^"]*)"`)
	// dataVersionRe finds the injected helper tag's version.
	dataVersionRe = regexp.MustCompile(`data-version="([^"]*)"`)
)

// Fixture is what the checks compare with: each build's entry script and
// every hashed asset's bytes.
type Fixture struct {
	Entry  map[string]string // version → the entry script its index.html loads
	Assets map[string][]byte // hashed URL path → bytes (shared paths have equal bytes)
}

// LoadFixture reads the builds Versions from dir, a folder like
// fixtures/builds. A hashed path whose bytes differ between builds is an
// error: the checks rely on the fixtures being content-hashed.
func LoadFixture(dir string) (Fixture, error) {
	fx := Fixture{Entry: map[string]string{}, Assets: map[string][]byte{}}
	for _, v := range Versions {
		index, err := os.ReadFile(filepath.Join(dir, v, "index.html"))
		if err != nil {
			return fx, err
		}
		m := entryRe.FindSubmatch(index)
		if m == nil {
			return fx, fmt.Errorf("%s/index.html has no entry script", v)
		}
		fx.Entry[v] = string(m[1])
		entries, err := os.ReadDir(filepath.Join(dir, v, "assets"))
		if err != nil {
			return fx, err
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, v, "assets", e.Name()))
			if err != nil {
				return fx, err
			}
			p := "/assets/" + e.Name()
			if old, ok := fx.Assets[p]; ok && string(old) != string(b) {
				return fx, fmt.Errorf("%s differs between builds: the fixtures are not content-hashed", p)
			}
			fx.Assets[p] = b
		}
	}
	return fx, nil
}

// Stats counts what the load saw. Workers only add; read the counters,
// Seen and Problems once the load has stopped. The zero value is ready.
type Stats struct {
	Requests, Pages, Assets atomic.Int64
	Transport, ServerErr    atomic.Int64 // transport errors (incomplete bodies too), 5xx
	Mixed, Missing, Wrong   atomic.Int64 // mixed pages, unservable assets, other bad answers

	// Timestamps prefixes each problem with the time of day, to find it in
	// the server's log.
	Timestamps bool

	mu       sync.Mutex
	problems []string       // the first few, for the report
	seen     map[string]int // pages per version
}

// Failed is the number of bad answers of every kind.
func (s *Stats) Failed() int64 {
	return s.Transport.Load() + s.ServerErr.Load() + s.Mixed.Load() + s.Missing.Load() + s.Wrong.Load()
}

// Problems returns the first bad answers, described.
func (s *Stats) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// Seen returns how many pages of each version were served.
func (s *Stats) Seen() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]int, len(s.seen))
	for v, n := range s.seen {
		seen[v] = n
	}
	return seen
}

func (s *Stats) problem(counter *atomic.Int64, format string, args ...any) {
	counter.Add(1)
	msg := fmt.Sprintf(format, args...)
	if s.Timestamps {
		msg = time.Now().Format("15:04:05.000 ") + msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, msg)
	}
}

func (s *Stats) sawPage(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[v]++
}

// StartLoad starts pageWorkers goroutines loading PagePaths and the assets
// each page names, and assetWorkers loading every hashed asset of fx, all
// against base (http://host:port). The returned func stops them, waits for
// them and closes their connections; it may be called more than once.
func StartLoad(base string, fx Fixture, pageWorkers, assetWorkers int, st *Stats) (stop func()) {
	// A few keep-alive connections per worker, as browsers do, and never
	// compression: bodies compare with the fixtures.
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: pageWorkers + assetWorkers}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var quit atomic.Bool
	var wg sync.WaitGroup
	// run starts n workers; worker w calls step with w, w+1, w+2… until
	// stop, so that workers going round the same list start apart.
	run := func(n int, step func(i int)) {
		for w := range n {
			wg.Go(func() {
				for i := w; !quit.Load(); i++ {
					step(i)
				}
			})
		}
	}
	run(pageWorkers, func(i int) {
		st.checkPage(c, base, PagePaths[i%len(PagePaths)], fx)
	})
	assets := make([]string, 0, len(fx.Assets))
	for p := range fx.Assets {
		assets = append(assets, p)
	}
	run(assetWorkers, func(i int) {
		p := assets[i%len(assets)]
		st.checkAsset(c, base, p, fx.Assets[p])
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			quit.Store(true)
			wg.Wait()
			tr.CloseIdleConnections()
		})
	}
}

// Get fetches url and reads the whole body, as Fetch does.
func Get(c *http.Client, url string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	return Fetch(c, req)
}

// Fetch sends req and reads the whole body. A nil error means a complete
// answer: status, headers, and a body of its Content-Length.
func Fetch(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
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

// get sends one request and counts transport errors and 5xx; it returns
// the answer only when it is complete and below 500.
func (s *Stats) get(c *http.Client, base, p string) (*http.Response, []byte) {
	s.Requests.Add(1)
	resp, body, err := Get(c, base+p)
	switch {
	case err != nil:
		s.problem(&s.Transport, "GET %s: %v", p, err)
		return nil, nil
	case resp.StatusCode >= 500:
		s.problem(&s.ServerErr, "GET %s: %d", p, resp.StatusCode)
		return nil, nil
	}
	return resp, body
}

// checkPage fetches a page, checks it is one build's whole page, then
// fetches every asset it names.
func (s *Stats) checkPage(c *http.Client, base, p string, fx Fixture) {
	resp, body := s.get(c, base, p)
	if resp == nil {
		return
	}
	s.Pages.Add(1)
	v := resp.Header.Get("Skewless-Version")
	if resp.StatusCode != 200 || v == "" {
		s.problem(&s.Wrong, "GET %s: %d, Skewless-Version %q", p, resp.StatusCode, v)
		return
	}
	s.sawPage(v)
	doc := string(body)
	if tags := dataVersionRe.FindAllStringSubmatch(doc, -1); len(tags) != 1 || tags[0][1] != v {
		s.problem(&s.Mixed, "GET %s: Skewless-Version %q, injected data-version %v", p, v, tags)
	}
	for other, entry := range fx.Entry {
		if has := strings.Contains(doc, `src="`+entry+`"`); has != (other == v) {
			s.problem(&s.Mixed, "GET %s: Skewless-Version %q, page names %s's entry %s: %t", p, v, other, entry, has)
		}
	}
	for _, m := range assetRefRe.FindAllStringSubmatch(doc, -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			continue
		}
		if ar, _ := s.get(c, base, ref); ar != nil && ar.StatusCode != 200 {
			s.problem(&s.Missing, "%s (of %s's page, via %s): %d %s", ref, v, p, ar.StatusCode, ar.Header.Get("Skewless-Asset"))
		}
	}
}

// checkAsset fetches one hashed asset: 200 with its own bytes.
func (s *Stats) checkAsset(c *http.Client, base, p string, want []byte) {
	resp, body := s.get(c, base, p)
	if resp == nil {
		return
	}
	s.Assets.Add(1)
	switch {
	case resp.StatusCode != 200:
		s.problem(&s.Missing, "GET %s: %d %s (current %s)", p, resp.StatusCode, resp.Header.Get("Skewless-Asset"), resp.Header.Get("Skewless-Version"))
	case string(body) != string(want):
		s.problem(&s.Wrong, "GET %s: %d bytes that are not the file's %d", p, len(body), len(want))
	}
}
