package main

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

// maxTabsPerStream bounds the ?v= values one stream counts: the tabs of
// one browser, not a client that would inflate the counts.
const maxTabsPerStream = 100

// streamVersions returns the builds the tabs behind one event stream
// loaded, from its ?v= values (the helper lists one per tab it serves):
// version names only, at most maxTabsPerStream. The strings are copies:
// the request's memory is reused once the handler returns.
func streamVersions(args *fasthttp.Args) []string {
	var vs []string
	for _, b := range args.PeekMulti("v") {
		if len(vs) == maxTabsPerStream {
			break
		}
		if v := string(b); manifest.ValidVersion(v) {
			vs = append(vs, v)
		}
	}
	return vs
}

// tabCounter counts the tabs with an event stream open, by the build each
// loaded. Streams add their tabs when they open and take them back when
// they end.
type tabCounter struct {
	mu     sync.Mutex
	counts map[string]int
	gen    uint64 // bumped by every change
}

func newTabCounter() *tabCounter { return &tabCounter{counts: map[string]int{}} }

// add counts vs in (delta 1) or out (delta -1).
func (c *tabCounter) add(vs []string, delta int) {
	if len(vs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range vs {
		if c.counts[v] += delta; c.counts[v] <= 0 {
			delete(c.counts, v)
		}
	}
	c.gen++
}

// snapshot returns a copy of the counts and the generation they are of.
func (c *tabCounter) snapshot() (map[string]int, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts), c.gen
}

// known returns the counts of the builds snap lists: a tab may name any
// string, but only the server's builds are reported (bounded labels).
func known(counts map[string]int, snap *manifest.Snapshot) map[string]int {
	out := make(map[string]int, len(counts))
	for _, b := range snap.Builds {
		if n := counts[b.Version]; n > 0 {
			out[b.Version] = n
		}
	}
	return out
}

// tabsReport writes the counts where `skewless status` reads them.
type tabsReport struct {
	dir    string // the builds folder
	tabs   *tabCounter
	builds snapshotSource
	log    *zap.Logger
	every  time.Duration // how often to look for a change. Default: 1s.
}

// run rewrites the report when the counts changed since the last write
// (looking every r.every) and every manifest.TabsRefresh; it removes the
// report when ctx ends, so no stopped server's counts linger.
func (r *tabsReport) run(ctx context.Context) {
	if r.every <= 0 {
		r.every = time.Second
	}
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	var written uint64
	var at time.Time
	for {
		select {
		case <-ctx.Done():
			if err := manifest.RemoveOpenTabs(r.dir); err != nil {
				r.log.Warn("open tabs report", zap.Error(err))
			}
			return
		case now := <-tick.C:
			counts, gen := r.tabs.snapshot()
			if gen == written && now.Sub(at) < manifest.TabsRefresh && !at.IsZero() {
				continue
			}
			rep := manifest.OpenTabs{Updated: now.UTC(), Tabs: known(counts, r.builds.Snapshot())}
			if err := manifest.WriteOpenTabs(r.dir, rep); err != nil {
				r.log.Warn("open tabs report", zap.Error(err))
				continue
			}
			written, at = gen, now
		}
	}
}

// openTabsDesc is skewless_open_tabs{version}: open tabs by loaded build.
var openTabsDesc = prometheus.NewDesc("skewless_open_tabs",
	"Browser tabs with the event stream open, by the build they loaded (the builds the server knows).",
	[]string{"version"}, nil)

// openTabs reports the counts of the builds the server knows, zero
// included, so a build's series does not vanish when its last tab closes.
type openTabs struct {
	tabs   *tabCounter
	builds snapshotSource
}

var _ prometheus.Collector = (*openTabs)(nil)

func (o *openTabs) Describe(ch chan<- *prometheus.Desc) { ch <- openTabsDesc }

func (o *openTabs) Collect(ch chan<- prometheus.Metric) {
	counts, _ := o.tabs.snapshot()
	for _, b := range o.builds.Snapshot().Builds {
		ch <- prometheus.MustNewConstMetric(openTabsDesc, prometheus.GaugeValue, float64(counts[b.Version]), b.Version)
	}
}
