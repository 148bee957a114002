package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
	"github.com/skewless/skewless/manifest/manifesttest"
)

// A real cluster for the tests: Debian's redis-server on a free port (no
// persistence: a restart empties it), instances of the real binary with
// builds folders of their own, and nginx in front with the configuration
// operators are pointed to (scripts/nginx/cluster.conf).

// testCluster is one cluster: its Redis and its instances.
type testCluster struct {
	redis *manifesttest.Redis
	url   string
	args  []string // serve flags every instance gets
	nodes []*clusterNode
	store *manifest.RedisStore // to read the instances' reports
}

// clusterNode is one instance: the binary serving its own builds folder.
type clusterNode struct {
	dir     string
	base    string // http://127.0.0.1:PORT
	metrics string // http://127.0.0.1:PORT/metrics
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
}

// newTestCluster starts a Redis for the test; instances get args.
func newTestCluster(t *testing.T, args ...string) *testCluster {
	t.Helper()
	r := manifesttest.StartRedis(t)
	return &testCluster{redis: r, url: r.URL(0), args: args}
}

// start runs an instance on the builds folder dir and returns once its
// port is open (it may not serve yet).
func (c *testCluster) start(t *testing.T, dir string, extra ...string) *clusterNode {
	t.Helper()
	skewless(t, "--help") // builds the binary once
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:" + freePort(t),
		"--builds", dir, "--redis", c.url, "--settle", "50ms", "--log-format", "json"}, c.args...)
	n := &clusterNode{dir: dir, cmd: exec.Command(binPath, append(args, extra...)...), logs: &syncBuffer{}, exited: make(chan struct{})}
	n.metrics = "http://" + args[4] + "/metrics"
	pipe, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			n.logs.Write(append(sc.Bytes(), '\n'))
			if a := listeningAddr(sc.Text()); a != "" {
				addr <- a
			}
		}
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() { n.stop(t) })
	select {
	case a := <-addr:
		n.base = "http://" + a
	case <-n.exited:
		t.Fatalf("instance exited at start:\n%s", n.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("instance did not log its address within 10s")
	}
	c.nodes = append(c.nodes, n)
	return n
}

// stop ends the instance with SIGTERM (it leaves the cluster).
func (n *clusterNode) stop(t *testing.T) {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
		t.Errorf("instance %s did not stop within 10s of SIGTERM", n.base)
	}
}

// kill ends the instance as a crash would: no goodbye to the cluster.
func (n *clusterNode) kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

var clusterClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 5 * time.Second}

// health returns the instance's health status and the version it names.
func (n *clusterNode) health(t *testing.T) (int, string) {
	t.Helper()
	resp, err := clusterClient.Get(n.base + "/_skewless/health")
	if err != nil {
		t.Fatalf("health of %s: %v", n.base, err)
	}
	defer resp.Body.Close()
	var h struct{ Status, Version string }
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h.Version
}

// waitServing waits until the instance is healthy serving v.
func (n *clusterNode) waitServing(t *testing.T, v string, within time.Duration) {
	t.Helper()
	eventually(t, within, n.base+" serves "+v, func() bool {
		code, got := n.health(t)
		return code == 200 && got == v
	})
}

var metricLine = regexp.MustCompile(`(?m)^([a-z_]+)(?:\{[^}]*\})? (\S+)$`)

// metric reads one series of the instance's /metrics (the first of its
// name); -1 when absent.
func (n *clusterNode) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := clusterClient.Get(n.metrics)
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, m := range metricLine.FindAllStringSubmatch(string(b), -1) {
		if m[1] == name {
			f, _ := strconv.ParseFloat(m[2], 64)
			return f
		}
	}
	return -1
}

// switchedAt is when the instance last switched to a newly activated build.
func (n *clusterNode) switchedAt(t *testing.T) time.Time {
	t.Helper()
	f := n.metric(t, "skewless_last_activation_timestamp_seconds")
	return time.Unix(0, int64(f*1e9))
}

// logCount counts the instance's log lines with message msg.
func (n *clusterNode) logCount(msg string) int {
	return strings.Count(n.logs.String(), `"msg":"`+msg+`"`)
}

// cli runs a skewless command on the cluster.
func (c *testCluster) cli(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return skewless(t, append(args, "--redis", c.url)...)
}

// status is `skewless status --redis --json`.
func (c *testCluster) status(t *testing.T) clusterStatusJSON {
	t.Helper()
	out, _ := c.cli(t, "status", "--json")
	var st clusterStatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

// instance is n's report in the cluster's status (nil: none).
func (st clusterStatusJSON) instance(n *clusterNode) *manifest.InstanceReport {
	for i, r := range st.Instances {
		if "http://"+r.Addr == n.base {
			return &st.Instances[i]
		}
	}
	return nil
}

// report reads n's report from Redis (nil: none).
func (c *testCluster) report(t *testing.T, n *clusterNode) *manifest.InstanceReport {
	t.Helper()
	if c.store == nil {
		s, err := manifest.OpenRedisStore(manifest.RedisStoreConfig{URL: c.url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		c.store = s
	}
	live, _, err := c.store.Instances(context.Background())
	if err != nil {
		t.Fatalf("instances: %v", err)
	}
	return clusterStatusJSON{Instances: live}.instance(n)
}

// waitLoaded waits until n reports v loaded.
func (c *testCluster) waitLoaded(t *testing.T, n *clusterNode, v string) {
	t.Helper()
	eventually(t, 10*time.Second, n.base+" reports "+v+" loaded", func() bool {
		r := c.report(t, n)
		if r == nil {
			return false
		}
		_, ok := r.Loaded[v]
		return ok
	})
}

// nginx runs the operators' load balancer configuration over every
// instance started so far and returns its base URL.
func (c *testCluster) nginx(t *testing.T) string {
	t.Helper()
	var upstreams []string
	for _, n := range c.nodes {
		upstreams = append(upstreams, "server "+strings.TrimPrefix(n.base, "http://")+" max_fails=1 fail_timeout=2s;")
	}
	dir, port := t.TempDir(), freePort(t)
	conf := nginxConf(t, "../scripts/nginx/cluster.conf", [][2]string{
		{"server 127.0.0.1:8081 max_fails=1 fail_timeout=2s;  # adjust: each instance's --addr", strings.Join(upstreams, "\n    ")},
		{"server 127.0.0.1:8082 max_fails=1 fail_timeout=2s;", ""},
		{"server 127.0.0.1:8083 max_fails=1 fail_timeout=2s;", ""},
		{"listen 8080;", "listen 127.0.0.1:" + port + ";"},
	})
	return runNginx(t, dir, port, conf)
}

// buildsOf is a builds folder holding copies of fixture builds, each
// named as given: "v1" or "v4=../fixtures/esbuild-builds/e1".
func buildsOf(t *testing.T, builds ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range builds {
		v, src, ok := strings.Cut(b, "=")
		if !ok {
			src = filepath.Join(fixtures, v)
		}
		copyTree(t, src, filepath.Join(dir, v))
	}
	return dir
}

// servingOnly checks, for a while, that every instance keeps serving v:
// nobody switches early.
func servingOnly(t *testing.T, nodes []*clusterNode, v string, during time.Duration) {
	t.Helper()
	for end := time.Now().Add(during); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, n := range nodes {
			if code, got := n.health(t); code != 200 || got != v {
				t.Fatalf("%s: health %d %q while it should keep serving %s", n.base, code, got, v)
			}
		}
	}
}

func (n *clusterNode) String() string { return fmt.Sprintf("instance %s (%s)", n.base, n.dir) }

// startAll starts n instances, each on a builds folder of its own holding
// copies of builds (buildsOf).
func (c *testCluster) startAll(t *testing.T, n int, builds ...string) []*clusterNode {
	t.Helper()
	var nodes []*clusterNode
	for range n {
		nodes = append(nodes, c.start(t, buildsOf(t, builds...)))
	}
	return nodes
}

// waitAgreed waits until every instance is healthy serving the same build
// and returns it.
func (c *testCluster) waitAgreed(t *testing.T, within time.Duration) string {
	t.Helper()
	var v string
	eventually(t, within, "every instance serves the same build", func() bool {
		v = ""
		for i, n := range c.nodes {
			code, got := n.health(t)
			if code != 200 || (i > 0 && got != v) {
				return false
			}
			v = got
		}
		return true
	})
	return v
}

// switchSpreadOf is the time between the first and the last of nodes
// switching to the build each serves now, by each one's own record.
func switchSpreadOf(t *testing.T, nodes []*clusterNode) time.Duration {
	t.Helper()
	var first, last time.Time
	for _, n := range nodes {
		at := n.switchedAt(t)
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return last.Sub(first)
}

// noPanic checks that no instance panicked or exited.
func (c *testCluster) noPanic(t *testing.T) {
	t.Helper()
	for _, n := range c.nodes {
		select {
		case <-n.exited:
			if n.cmd.ProcessState != nil && n.cmd.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
				continue // killed by the test
			}
			t.Errorf("%s exited:\n%s", n, n.logs.String())
		default:
		}
		if strings.Contains(n.logs.String(), "panic") {
			t.Errorf("%s logged a panic:\n%s", n, n.logs.String())
		}
	}
}

// decisions is the instance's log without its access lines, for a failure.
func (n *clusterNode) decisions() string {
	var out []string
	for _, l := range strings.Split(n.logs.String(), "\n") {
		if !strings.Contains(l, `"msg":"request"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
