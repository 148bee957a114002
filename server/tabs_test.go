package main

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

func TestStreamVersions(t *testing.T) {
	many := strings.Repeat("v=a&", maxTabsPerStream+5)
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"none", "", nil},
		{"one tab", "v=v1", []string{"v1"}},
		{"three tabs, two builds", "v=v1&v=v1&v=v2", []string{"v1", "v1", "v2"}},
		{"escaped", "v=20260101T000000Z&v=1.2.3-rc_1", []string{"20260101T000000Z", "1.2.3-rc_1"}},
		{"not versions", "v=&v=..&v=%2Fetc&v=-x&v=" + strings.Repeat("x", 129) + "&v=ok", []string{"ok"}},
		{"other parameters", "x=v1&vv=v2&v=v3", []string{"v3"}},
		{"at most maxTabsPerStream", many, slices.Repeat([]string{"a"}, maxTabsPerStream)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args fasthttp.Args
			args.Parse(tc.query)
			if got := streamVersions(&args); !slices.Equal(got, tc.want) {
				t.Errorf("streamVersions(%q) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestTabCounter(t *testing.T) {
	c := newTabCounter()
	c.add([]string{"v1", "v1", "v2"}, 1)
	c.add([]string{"v2"}, 1)
	c.add(nil, 1)
	counts, gen := c.snapshot()
	if counts["v1"] != 2 || counts["v2"] != 2 || len(counts) != 2 || gen != 2 {
		t.Fatalf("counts %v gen %d, want v1:2 v2:2 after two changes", counts, gen)
	}
	c.add([]string{"v1", "v1", "v2"}, -1)
	if counts, _ := c.snapshot(); len(counts) != 1 || counts["v2"] != 1 {
		t.Errorf("after a stream closed: %v, want v2:1 only", counts)
	}
}

// fixedBuilds is a snapshot source that never changes.
type fixedBuilds struct{ snap *manifest.Snapshot }

func (f fixedBuilds) Snapshot() *manifest.Snapshot { return f.snap }

func buildsNamed(vs ...string) fixedBuilds {
	snap := &manifest.Snapshot{}
	for _, v := range vs {
		snap.Builds = append(snap.Builds, manifest.BuildStatus{Version: v})
	}
	return fixedBuilds{snap}
}

// TestOpenTabsMetric: one series per build the server knows, zero
// included; a version no build has is not a label.
func TestOpenTabsMetric(t *testing.T) {
	c := newTabCounter()
	c.add([]string{"v1", "v1", "v2", "nosuch"}, 1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(&openTabs{c, buildsNamed("v3", "v2", "v1")})
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gather: %v, %d families", err, len(mfs))
	}
	got := map[string]float64{}
	for _, m := range mfs[0].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	if want := map[string]float64{"v1": 2, "v2": 1, "v3": 0}; !maps.Equal(got, want) {
		t.Errorf("skewless_open_tabs %v, want %v", got, want)
	}
}

// TestTabsReport: the report follows the counts (known builds only) and is
// gone once the server stops.
func TestTabsReport(t *testing.T) {
	dir := t.TempDir()
	c := newTabCounter()
	r := &tabsReport{dir: dir, tabs: c, builds: buildsNamed("v1", "v2"), log: zap.NewNop(), every: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	report := func(want map[string]int) {
		t.Helper()
		eventually(t, 5*time.Second, "the report", func() bool {
			got, err := manifest.ReadOpenTabs(dir)
			return err == nil && got.Fresh(time.Now()) && maps.Equal(got.Tabs, want)
		})
	}
	report(map[string]int{})
	c.add([]string{"v1", "v1", "v2", "nosuch"}, 1)
	report(map[string]int{"v1": 2, "v2": 1})
	c.add([]string{"v2"}, -1)
	report(map[string]int{"v1": 2})

	cancel()
	<-done
	got, err := manifest.ReadOpenTabs(dir)
	if err != nil || !got.Updated.IsZero() {
		t.Errorf("after the server stopped: %+v, %v; want no report", got, err)
	}
}
