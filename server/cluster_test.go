package main

// Cluster mode (CONTRACT.md "Cluster mode"): three instances of the real
// binary, each on its own builds folder, sharing a real redis-server.
//
// Behaviours covered:
//   - the barrier: a build dropped on the instances seconds apart becomes
//     current nowhere until the last one has it loaded; then all switch
//     within 250 ms of each other, and every instance's event streams get
//     the same event (same id);
//   - the barrier's timeout: past --barrier-timeout the build goes live
//     with the instances that have it (at least half); the laggard answers
//     health 503, never serves another build as current, still serves the
//     files of the builds it has, and catches up once it has the build;
//     `activate` that cannot pass the barrier exits 1 and changes nothing;
//   - a rollback with `skewless activate --redis` is instant everywhere.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
)

// switchSpread is the contract's bound between the first and the last
// instance switching to a newly activated build.
const switchSpread = 250 * time.Millisecond

func TestClusterBarrier(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, "--grace", "1h")
	nodes := []*clusterNode{c.start(t, buildsOf(t, "v1")), c.start(t, buildsOf(t, "v1")), c.start(t, buildsOf(t, "v1"))}
	for _, n := range nodes {
		n.waitServing(t, "v1", 20*time.Second)
	}
	var streams []*sseStream
	for _, n := range nodes {
		s := openStream(t, n.base)
		if ev := s.nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: version|id: 1|data: {"version": "v1"}` {
			t.Fatalf("%s: first event %q", n.base, ev)
		}
		streams = append(streams, s)
	}

	// The drops reach the instances seconds apart: a slow copy.
	for i, n := range nodes[:2] {
		dropBuild(t, n.dir, fixtures+"/v2", "v2")
		c.waitLoaded(t, n, "v2")
		servingOnly(t, nodes, "v1", time.Second)
		st := c.status(t)
		if st.Proposed == nil || st.Proposed.Version != "v2" || len(st.Lacking) != 2-i {
			t.Fatalf("after the drop on %d instance(s): proposed %+v, lacking %v", i+1, st.Proposed, st.Lacking)
		}
	}
	if w := nodes[0].metric(t, "skewless_cluster_barrier_waiting_seconds"); w < 1 {
		t.Errorf("barrier waiting %.2fs, want the time since the first drop", w)
	}
	last := time.Now()
	dropBuild(t, nodes[2].dir, fixtures+"/v2", "v2")
	for _, n := range nodes {
		n.waitServing(t, "v2", 20*time.Second)
	}
	var first, final time.Time
	for _, n := range nodes {
		at := n.switchedAt(t)
		if at.Before(last) {
			t.Errorf("%s switched at %s, before the last instance got the build (%s)", n.base, at.Format("15:04:05.000"), last.Format("15:04:05.000"))
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(final) {
			final = at
		}
	}
	t.Logf("switch spread across 3 instances: %s (the last drop to the first switch: %s)", final.Sub(first), first.Sub(last))
	if final.Sub(first) > switchSpread {
		t.Errorf("the instances switched %s apart, want at most %s", final.Sub(first), switchSpread)
	}
	for i, s := range streams {
		if ev := s.nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: version|id: 2|data: {"version": "v2"}` {
			t.Errorf("%s: event %q, want v2 with id 2 on every instance", nodes[i].base, ev)
		}
	}

	// A rollback to a build every instance has is instant everywhere.
	start := time.Now()
	if out, code := c.cli(t, "activate", "v1"); code != 0 || !strings.Contains(out, "3 of 3 instances serve it") {
		t.Fatalf("activate v1: exit %d\n%s", code, out)
	}
	t.Logf("rollback with activate --redis: %s", time.Since(start).Round(time.Millisecond))
	for i, s := range streams {
		if ev := s.nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: version|id: 3|data: {"version": "v1"}` {
			t.Errorf("%s: event %q, want v1 with id 3", nodes[i].base, ev)
		}
	}
}

func TestClusterBarrierTimeout(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, "--grace", "1h", "--barrier-timeout", "2s")
	nodes := []*clusterNode{c.start(t, buildsOf(t, "v1")), c.start(t, buildsOf(t, "v1")), c.start(t, buildsOf(t, "v1"))}
	for _, n := range nodes {
		n.waitServing(t, "v1", 20*time.Second)
	}
	laggard := nodes[2]
	dropBuild(t, nodes[0].dir, fixtures+"/v2", "v2")
	dropBuild(t, nodes[1].dir, fixtures+"/v2", "v2")
	nodes[0].waitServing(t, "v2", 20*time.Second)
	nodes[1].waitServing(t, "v2", 5*time.Second)
	st := c.status(t)
	if rec := findBuild(st, "v2"); rec == nil || nodes[0].switchedAt(t).Sub(rec.Activated) > time.Second {
		t.Errorf("v2 in the status: %+v", rec)
	}

	// The laggard: drained, never serving v1 as if it were current, still
	// serving v1's files to the tabs that run it.
	eventually(t, 5*time.Second, "the laggard turns unready", func() bool {
		code, v := laggard.health(t)
		return code == 503 && v == "v2"
	})
	for p, want := range map[string]int{"/": 503, "/about": 503, "/index.html": 503, viteV1About: 200, "/assets/about-DPfrhiVb.js": 503} {
		if resp, _ := do(t, "GET", laggard.base+p); resp.StatusCode != want || resp.Header.Get("Skewless-Version") != "" {
			t.Errorf("laggard GET %s: %d (Skewless-Version %q), want %d and no version", p, resp.StatusCode, resp.Header.Get("Skewless-Version"), want)
		}
	}
	if r := c.status(t).instance(laggard); r == nil || r.Ready || r.Serving != "" || !slices.Contains(r.Missing, "v2") {
		t.Errorf("the laggard's report: %+v", r)
	}
	if got := laggard.metric(t, "skewless_cluster_ready"); got != 0 {
		t.Errorf("skewless_cluster_ready %v on the laggard", got)
	}
	if got := nodes[0].metric(t, "skewless_cluster_ready"); got != 1 {
		t.Errorf("skewless_cluster_ready %v on a ready instance", got)
	}

	// An activation only one instance of three can serve never passes:
	// the command gives up, withdraws it and says who lacks it.
	dropBuild(t, nodes[0].dir, fixtures+"/v3", "v3")
	out, code := c.cli(t, "activate", "v3", "--timeout", "1s")
	if code != 1 || !strings.Contains(out, "did not become current") || !strings.Contains(out, "no folder") {
		t.Errorf("activate v3 on one instance of three: exit %d\n%s", code, out)
	}
	if st := c.status(t); st.Current != "v2" || (st.Proposed != nil && st.Proposed.Explicit) {
		t.Errorf("after the failed activation: current %s, proposed %+v", st.Current, st.Proposed)
	}

	// The laggard gets the build: it serves it.
	dropBuild(t, laggard.dir, fixtures+"/v2", "v2")
	laggard.waitServing(t, "v2", 20*time.Second)
}

func findBuild(st clusterStatusJSON, v string) *manifest.BuildStatus {
	for i := range st.Builds {
		if st.Builds[i].Version == v {
			return &st.Builds[i]
		}
	}
	return nil
}
