package main

// Cluster mode under load (CONTRACT.md "Cluster mode"): three instances of
// the real binary sharing a real redis-server.
//
// Behaviours covered:
//   - churn through nginx round robin while `skewless activate --redis`
//     alternates the current build: no failed response, every page is one
//     build's, and every chunk a page names answers 200 from whichever
//     instance nginx asks next;
//   - Redis killed under load: every instance keeps serving its last state
//     with no failed request and health 200, says so in a log line and a
//     metric; a build dropped during the outage waits; once Redis is back
//     (empty: no persistence) the instances write back the state, resume
//     the sequence where it was and converge on the new build.

import (
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/server/churncheck"
)

// clusterChurnFlips is how many activations the churn runs through.
const clusterChurnFlips = 10

func TestClusterChurnThroughLoadBalancer(t *testing.T) {
	t.Parallel()
	fx, err := churncheck.LoadFixture(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCluster(t, "--grace", "1h")
	nodes := c.startAll(t, 3, churncheck.Versions...)
	cur := c.waitAgreed(t, 30*time.Second)
	lb := c.nginx(t)

	st := &churncheck.Stats{Timestamps: true}
	stop := churncheck.StartLoad(lb, fx, 3, 2, st)
	t.Cleanup(stop) // before nginx and the instances stop

	var spreads []time.Duration
	for i := 0; len(spreads) < clusterChurnFlips; i++ {
		next := churncheck.FlipOrder[i%len(churncheck.FlipOrder)]
		if next == cur {
			continue
		}
		out, code := c.cli(t, "activate", next)
		if code != 0 || !strings.Contains(out, next+" is current") {
			t.Fatalf("activate %s: exit %d\n%s", next, code, out)
		}
		for _, n := range nodes {
			n.waitServing(t, next, 5*time.Second)
		}
		spreads = append(spreads, switchSpreadOf(t, nodes))
		cur = next
	}
	stop()

	worst := time.Duration(0)
	for _, s := range spreads {
		worst = max(worst, s)
	}
	t.Logf("cluster churn: %d activations through the barrier (switch spread, worst: %s), %d requests through nginx (%d pages %v, %d hashed assets)",
		len(spreads), worst, st.Requests.Load(), st.Pages.Load(), st.Seen(), st.Assets.Load())
	for _, p := range st.Problems() {
		t.Error(p)
	}
	if st.Failed() > 0 {
		for _, n := range nodes {
			_, body := do(t, "GET", n.base+"/_skewless/version")
			t.Logf("%s: %s\n%s", n.base, body, n.decisions())
		}
	}
	for _, v := range churncheck.Versions {
		if st.Seen()[v] == 0 {
			t.Errorf("no page of %s came through nginx during the churn", v)
		}
	}
	c.noPanic(t)
}

func TestClusterRedisRestartUnderLoad(t *testing.T) {
	t.Parallel()
	fx, err := churncheck.LoadFixture(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCluster(t, "--grace", "1h")
	nodes := c.startAll(t, 3, "v1")
	for _, n := range nodes {
		n.waitServing(t, "v1", 30*time.Second)
	}
	// Straight at each instance: a load balancer would hide an instance
	// that fails.
	st := &churncheck.Stats{Timestamps: true}
	var stops []func()
	for _, n := range nodes {
		stop := churncheck.StartLoad(n.base, fx, 2, 0, st) // pages, and the chunks each names
		t.Cleanup(stop)
		stops = append(stops, stop)
	}

	c.redis.Stop()
	outage := time.Now()
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.base+" notices redis is down", func() bool {
			return n.metric(t, "skewless_redis_up") == 0 &&
				n.logCount("redis unreachable: serving the last state; deploys and activations wait for redis") == 1
		})
		if code, v := n.health(t); code != 200 || v != "v1" {
			t.Errorf("%s during the outage: health %d %q, want 200 v1", n.base, code, v)
		}
	}
	// A deploy during the outage waits for Redis: nobody switches alone.
	for _, n := range nodes {
		dropBuild(t, n.dir, fixtures+"/v2", "v2")
	}
	servingOnly(t, nodes, "v1", 2*time.Second)

	if err := c.redis.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("redis down for %s", time.Since(outage).Round(time.Millisecond))
	for _, n := range nodes {
		n.waitServing(t, "v2", 30*time.Second)
		if n.logCount("redis reachable: reading the cluster's state again") != 1 {
			t.Errorf("%s: no log line saying redis is back", n.base)
		}
		if up := n.metric(t, "skewless_redis_up"); up != 1 {
			t.Errorf("%s: skewless_redis_up %v after the outage", n.base, up)
		}
	}
	// The state came back from the instances: the sequence goes on, so an
	// event id never goes backwards for a tab.
	if st := c.status(t); st.Current != "v2" || st.Seq != 2 || len(st.Instances) != 3 {
		t.Errorf("after the outage: current %s seq %d, %d instances; want v2, 2, 3", st.Current, st.Seq, len(st.Instances))
	}
	for _, n := range nodes {
		if ev := openStream(t, n.base).nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: version|id: 2|data: {"version": "v2"}` {
			t.Errorf("%s: first event %q after the outage", n.base, ev)
		}
	}
	for _, stop := range stops {
		stop()
	}
	t.Logf("under load: %d requests straight to the instances (%d pages %v), %d failed", st.Requests.Load(), st.Pages.Load(), st.Seen(), st.Failed())
	for _, p := range st.Problems() {
		t.Error(p)
	}
	c.noPanic(t)
}
