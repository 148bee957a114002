package main

// Cluster mode: `block` and `unblock` with --redis (CONTRACT.md "Cluster
// mode", "Blocked builds"). A build blocked on the cluster is blocked on
// every instance: its own chunks answer 404 with the blocked marker and
// every event stream names it; an instance that joins afterwards learns
// it; `unblock` serves the build's chunks again everywhere.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
)

func TestClusterBlock(t *testing.T) {
	t.Parallel()
	c, nodes := twoInstancesOnV2(t)
	// The instances' own folders: a command given --builds for one points
	// to --redis instead of changing a state no instance reads.
	if out, code := skewless(t, "activate", "v1", "--builds", nodes[0].dir); code != 1 ||
		!strings.Contains(out, `is a folder of cluster "skewless", whose builds are decided in Redis: give --redis redis://`) {
		t.Errorf("activate --builds on an instance's folder: exit %d, %q; want it refused, naming --redis", code, out)
	}
	// A tab on each instance running v2: status adds them up.
	for _, n := range nodes {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", n.base+"/_skewless/events?v=v2", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
	eventually(t, 10*time.Second, "status --redis adds up the instances' open tabs", func() bool {
		return c.status(t).OpenTabs["v2"] == 2
	})
	stream := openStream(t, nodes[1].base)
	stream.nextEvent(t, 5*time.Second) // the current version

	if out, code := c.cli(t, "block", "v1", "--reason", "leaks tokens"); code != 0 {
		t.Fatalf("block v1 --redis: exit %d\n%s", code, out)
	}
	blocked := func(base string) bool {
		resp, _ := do(t, "GET", base+viteV1About)
		return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "blocked"
	}
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.base+" answers v1's chunk as blocked", func() bool { return blocked(n.base) })
	}
	if ev := stream.nextEvent(t, 5*time.Second); strings.Join(ev, "|") != `event: blocked|data: {"versions": ["v1"]}` {
		t.Errorf("the stream's event after block: %q, want event: blocked naming v1", ev)
	}
	if rec := findBuild(c.status(t), "v1"); rec == nil || rec.BlockReason != "leaks tokens" {
		t.Errorf("status --redis after block: v1 %+v, want blocked with its reason", rec)
	}

	joiner := c.start(t, buildsOf(t, "v2"))
	joiner.waitServing(t, "v2", 20*time.Second)
	eventually(t, 10*time.Second, "the joiner answers v1's chunk as blocked", func() bool { return blocked(joiner.base) })

	if out, code := c.cli(t, "activate", "v1"); code == 0 || !strings.Contains(out, "v1 is blocked: unblock it first") {
		t.Errorf("activate of a blocked build on the cluster: exit %d, %q; want it refused", code, out)
	}
	if out, code := c.cli(t, "unblock", "v1"); code != 0 {
		t.Fatalf("unblock v1 --redis: exit %d\n%s", code, out)
	}
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.base+" serves v1's chunk again", func() bool {
			resp, _ := do(t, "GET", n.base+viteV1About)
			return resp.StatusCode == 200
		})
	}
	if out, code := c.cli(t, "block", "v2"); code == 0 || !strings.Contains(out, "activate another first (skewless activate OTHER --redis redis://") {
		t.Errorf("block of the cluster's current build: exit %d, %q; want it refused, naming --redis", code, out)
	}
	if out, code := c.cli(t, "block", "v9"); code == 0 || !strings.Contains(out, `no build "v9" in cluster`) {
		t.Errorf("block of an unknown build: exit %d, %q", code, out)
	}
	c.noPanic(t)
}

// TestClusterMarkersSurviveRedisRestart: after a Redis restarted empty,
// the instances write back the state and the path lists they know, so an
// instance that joins afterwards still answers a blocked build's paths
// with the marker.
func TestClusterMarkersSurviveRedisRestart(t *testing.T) {
	t.Parallel()
	c, nodes := twoInstancesOnV2(t)
	if out, code := c.cli(t, "block", "v1"); code != 0 {
		t.Fatalf("block v1 --redis: exit %d\n%s", code, out)
	}
	c.redis.Stop()
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.base+" notices redis is down", func() bool { return n.metric(t, "skewless_redis_up") == 0 })
	}
	if err := c.redis.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the state written back", func() bool {
		out, code := c.cli(t, "status", "--json")
		return code == 0 && strings.Contains(out, `"current": "v2"`)
	})
	joiner := c.start(t, buildsOf(t, "v2"))
	joiner.waitServing(t, "v2", 20*time.Second)
	eventually(t, 10*time.Second, "the joiner answers v1's chunk as blocked", func() bool {
		resp, _ := do(t, "GET", joiner.base+viteV1About)
		return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "blocked"
	})
	c.noPanic(t)
}

// TestServerOnItsOwnUnmarksClusterFolder: a folder last served by a
// cluster's instance is a server's own again once a server on its own
// serves it: commands given --builds work on it.
func TestServerOnItsOwnUnmarksClusterFolder(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1")
	if err := manifest.MarkCluster(dir, manifest.ClusterMark{Redis: "redis://127.0.0.1:6379/0", Cluster: "skewless"}); err != nil {
		t.Fatal(err)
	}
	if out, code := skewless(t, "status", "--builds", dir); code != 1 || !strings.Contains(out, "is a folder of cluster") {
		t.Fatalf("status --builds on a cluster's folder: exit %d, %q; want it refused", code, out)
	}
	if out, code := skewless(t, "prune", "--builds", dir); code != 1 || !strings.Contains(out, "prune does not delete a cluster's folders") {
		t.Fatalf("prune --builds on a cluster's folder: exit %d, %q; want it refused", code, out)
	}
	startServer(t, testConfig(t, dir))
	if _, ok := manifest.ClusterOf(dir); ok {
		t.Error("the folder is still marked as a cluster's with a server on its own serving it")
	}
	if out, code := skewless(t, "status", "--builds", dir); code != 0 {
		t.Errorf("status --builds once a server on its own serves the folder: exit %d, %q", code, out)
	}
}

// twoInstancesOnV2 is a cluster of two instances that served v1 and then
// v2 (v1 live).
func twoInstancesOnV2(t *testing.T) (*testCluster, []*clusterNode) {
	t.Helper()
	c := newTestCluster(t, "--grace", "1h")
	nodes := c.startAll(t, 2, "v1")
	for _, n := range nodes {
		n.waitServing(t, "v1", 30*time.Second)
	}
	for _, n := range nodes {
		dropBuild(t, n.dir, fixtures+"/v2", "v2")
	}
	for _, n := range nodes {
		n.waitServing(t, "v2", 20*time.Second)
	}
	return c, nodes
}
