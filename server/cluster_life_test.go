package main

// Cluster mode: instances coming and going, and data under the cluster's
// keys that is not skewless's (CONTRACT.md "Cluster mode").
//
// Behaviours covered:
//   - an instance that joins learns the current build (and its sequence:
//     the same event id as the others) and the retired builds: it answers
//     a retired build's chunk with the retired marker though it never had
//     that build's folder;
//   - a live instance that lacks a new build holds the barrier; once it
//     dies without a goodbye (SIGKILL), its heartbeat expires and the
//     others switch without it, well before the barrier's timeout;
//   - foreign data under the state key (not JSON, another kind of value)
//     and an unreadable instance report: the instances keep serving,
//     report it in a log line, a metric and `status` (exit 1), the
//     barrier leaves the bad report out, `activate` refuses with what to
//     do; deleting the key makes the instances write back what they serve.
//     Never a panic.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skewless/skewless/manifest"
)

func TestClusterJoinAndLeave(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, "--grace", "1h", "--keep", "1")
	a, b := c.start(t, buildsOf(t, "v1")), c.start(t, buildsOf(t, "v1"))
	a.waitServing(t, "v1", 30*time.Second)
	for _, v := range []string{"v2", "v3"} {
		for _, n := range []*clusterNode{a, b} {
			dropBuild(t, n.dir, fixtures+"/"+v, v)
		}
		a.waitServing(t, v, 20*time.Second)
		b.waitServing(t, v, 5*time.Second)
	}
	if rec := findBuild(c.status(t), "v1"); rec == nil || rec.State != manifest.Retired {
		t.Fatalf("v1 after two deploys with --keep 1: %+v, want retired", rec)
	}

	// A joining instance, with only the current build's folder.
	joiner := c.start(t, buildsOf(t, "v3"))
	joiner.waitServing(t, "v3", 20*time.Second)
	if ev := openStream(t, joiner.base).nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: version|id: 3|data: {"version": "v3"}` {
		t.Errorf("the joiner's first event %q, want v3 with the cluster's id 3", ev)
	}
	eventually(t, 10*time.Second, "the joiner answers v1's chunk as retired", func() bool {
		resp, _ := do(t, "GET", joiner.base+viteV1About)
		return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "retired"
	})

	// b lacks the next build: the barrier waits for it while it lives.
	for _, n := range []*clusterNode{a, joiner} {
		dropBuild(t, n.dir, fixtures+"/v2", "v4")
		c.waitLoaded(t, n, "v4")
	}
	bID := c.report(t, b).ID
	if st := c.status(t); st.Proposed == nil || st.Proposed.Version != "v4" || !slices.Equal(st.Lacking, []string{bID}) {
		t.Fatalf("v4 loaded on 2 of 3: proposed %+v, lacking %v, want v4 lacking %s", st.Proposed, st.Lacking, bID)
	}
	for _, n := range []*clusterNode{a, b, joiner} {
		if code, v := n.health(t); code != 200 || v != "v3" {
			t.Fatalf("%s: health %d %q while the barrier waits, want 200 v3", n.base, code, v)
		}
	}
	b.kill()
	killed := time.Now()
	a.waitServing(t, "v4", 20*time.Second) // the barrier's timeout is 60s
	joiner.waitServing(t, "v4", 5*time.Second)
	t.Logf("the others switched %s after an instance died", time.Since(killed).Round(100*time.Millisecond))
	for _, n := range []*clusterNode{a, joiner} {
		if at := n.switchedAt(t); at.Before(killed) {
			t.Errorf("%s switched at %s, before the instance that lacked the build died", n.base, at.Format("15:04:05.000"))
		}
		if n.logCount("instance left the cluster (stopped, or its heartbeat expired)") != 1 {
			t.Errorf("%s did not log that the dead instance left", n.base)
		}
	}
	if st := c.status(t); len(st.Instances) != 2 || st.instance(b) != nil {
		t.Errorf("status lists %d instances (the dead one: %v), want 2", len(st.Instances), st.instance(b) != nil)
	}
	c.noPanic(t)
}

func TestClusterForeignData(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, "--grace", "1h")
	nodes := c.startAll(t, 2, "v1")
	for _, n := range nodes {
		n.waitServing(t, "v1", 30*time.Second)
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// An instance report that is not one: left out of the barrier.
	must(rdb.SAdd(ctx, "skewless:instances", "ghost").Err())
	must(rdb.Set(ctx, "skewless:instance:ghost", "{not json", time.Minute).Err())
	for _, n := range nodes {
		dropBuild(t, n.dir, fixtures+"/v2", "v2")
	}
	for _, n := range nodes {
		n.waitServing(t, "v2", 20*time.Second)
		if n.logCount("an instance report in redis is unreadable; that instance is left out of the barrier") != 1 {
			t.Errorf("%s did not log the unreadable report once", n.base)
		}
	}
	if out, code := c.cli(t, "status"); code != 1 || !strings.Contains(out, "instance ghost: skewless:instance:ghost is not an instance's report") {
		t.Errorf("status with an unreadable report: exit %d\n%s", code, out)
	}

	// A state that is not skewless's: kept serving, reported, left alone.
	for _, bad := range []func() error{
		func() error { return rdb.Set(ctx, "skewless:state", "<html>not a state</html>", 0).Err() },
		func() error { rdb.Del(ctx, "skewless:state"); return rdb.RPush(ctx, "skewless:state", "a", "b").Err() },
	} {
		must(bad())
		for _, n := range nodes {
			eventually(t, 15*time.Second, n.base+" reports the foreign state", func() bool {
				return n.metric(t, "skewless_cluster_state_problem") == 1
			})
			if code, v := n.health(t); code != 200 || v != "v2" {
				t.Errorf("%s with a foreign state: health %d %q, want 200 v2", n.base, code, v)
			}
		}
		out, code := c.cli(t, "status")
		if code != 1 || !strings.Contains(out, "problem: shared state holds data skewless cannot use") || !strings.Contains(out, "DEL skewless:state") {
			t.Errorf("status with a foreign state: exit %d\n%s", code, out)
		}
		if out, code := c.cli(t, "activate", "v1"); code != 1 || !strings.Contains(out, "the cluster's state is unusable") {
			t.Errorf("activate with a foreign state: exit %d\n%s", code, out)
		}
	}
	if n := nodes[0].logCount("the cluster's state in redis is not skewless's; it is left alone and decisions wait: " +
		"fix or delete the key (the instances then write back what they serve)"); n < 1 {
		t.Error("no log line about the foreign state")
	}
	if typ, _ := rdb.Type(ctx, "skewless:state").Result(); typ != "list" {
		t.Errorf("the foreign value was overwritten: now a %s", typ)
	}

	// The operator deletes it: the instances write back what they serve.
	must(rdb.Del(ctx, "skewless:state").Err())
	for _, n := range nodes {
		eventually(t, 15*time.Second, n.base+" clears the problem", func() bool {
			return n.metric(t, "skewless_cluster_state_problem") == 0
		})
	}
	if st := c.status(t); st.Current != "v2" || st.Seq != 2 {
		t.Errorf("after the foreign state was deleted: current %s seq %d, want v2 2", st.Current, st.Seq)
	}
	if out, code := c.cli(t, "activate", "v1"); code != 0 {
		t.Errorf("activate v1 once the state is back: exit %d\n%s", code, out)
	}
	for _, n := range nodes {
		n.waitServing(t, "v1", 5*time.Second)
	}
	c.noPanic(t)
}
