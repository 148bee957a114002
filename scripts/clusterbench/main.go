// Command clusterbench measures a running skewless cluster (instances on
// one machine sharing a Redis): how far apart the instances switch to a
// newly activated build, and how fast an activation reaches event streams
// spread over every instance. scripts/cluster-bench.sh starts the cluster
// and runs it.
//
// Switch spread: ACTIVATIONS times `skewless activate V --redis URL`, then
// each instance's own record of when it switched (the metric
// skewless_last_activation_timestamp_seconds); spread = last − first.
//
// Fan-out: STREAMS event streams opened round robin over the instances;
// each activation is timed from the first instance's switch to the moment
// this client read the new version on each stream. Every stream must get
// the same event id.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	nodes, metrics     []string
	redis, bin         string
	activations        int
	streams, rounds    int
	dialers            int
	deadline, roundMax time.Duration
}

func main() {
	var c config
	var nodes, metrics string
	flag.StringVar(&nodes, "nodes", "", "the instances' listeners, comma-separated host:port")
	flag.StringVar(&metrics, "metrics", "", "the instances' metrics listeners, in the same order")
	flag.StringVar(&c.redis, "redis", "", "the cluster's Redis URL")
	flag.StringVar(&c.bin, "bin", "skewless", "the skewless binary (for `activate`)")
	flag.IntVar(&c.activations, "activations", 20, "activations for the switch spread")
	flag.IntVar(&c.streams, "streams", 10000, "event streams for the fan-out (0: none)")
	flag.IntVar(&c.rounds, "rounds", 3, "activations for the fan-out")
	flag.IntVar(&c.dialers, "dialers", 100, "streams being opened at once")
	flag.DurationVar(&c.deadline, "deadline", 5*time.Minute, "give up after this")
	flag.DurationVar(&c.roundMax, "round-timeout", 30*time.Second, "give up on one fan-out round after this")
	flag.Parse()
	c.nodes, c.metrics = strings.Split(nodes, ","), strings.Split(metrics, ",")
	if nodes == "" || len(c.nodes) != len(c.metrics) || c.redis == "" {
		fmt.Fprintln(os.Stderr, "clusterbench: -nodes, -metrics (as many) and -redis are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	defer cancel()
	b := &bench{config: c, client: &http.Client{Timeout: 5 * time.Second}}
	if err := b.spread(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
	if c.streams > 0 {
		if err := b.fanout(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "clusterbench:", err)
			os.Exit(1)
		}
	}
}

type bench struct {
	config
	client *http.Client
	cur    string
	next   int
}

// flips is the activation order: roll forward and back.
var flips = []string{"v1", "v2", "v3", "v2"}

// activate makes the next build of flips current through the cluster and
// waits until every instance serves it; it returns the build and each
// instance's switch time.
func (b *bench) activate(ctx context.Context) (string, []time.Time, time.Duration, error) {
	v := flips[b.next%len(flips)]
	b.next++
	if v == b.cur {
		v = flips[b.next%len(flips)]
		b.next++
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, b.bin, "activate", v, "--redis", b.redis).CombinedOutput()
	if err != nil {
		return "", nil, 0, fmt.Errorf("activate %s: %v\n%s", v, err, out)
	}
	took := time.Since(start)
	var at []time.Time
	for i, n := range b.nodes {
		if err := b.waitServing(ctx, n, v); err != nil {
			return "", nil, 0, err
		}
		t, err := b.switchedAt(b.metrics[i])
		if err != nil {
			return "", nil, 0, err
		}
		at = append(at, t)
	}
	b.cur = v
	return v, at, took, nil
}

func (b *bench) waitServing(ctx context.Context, node, v string) error {
	want := `"version":"` + v + `"`
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		if resp, err := b.client.Get("http://" + node + "/_skewless/health"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), want) {
				return nil
			}
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s does not serve %s 10 s after its activation", node, v)
}

var switchMetric = regexp.MustCompile(`(?m)^skewless_last_activation_timestamp_seconds (\S+)$`)

func (b *bench) switchedAt(metrics string) (time.Time, error) {
	resp, err := b.client.Get("http://" + metrics + "/metrics")
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := switchMetric.FindSubmatch(body)
	if m == nil {
		return time.Time{}, fmt.Errorf("%s: no skewless_last_activation_timestamp_seconds", metrics)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	return time.Unix(0, int64(f*1e9)), err
}

func (b *bench) spread(ctx context.Context) error {
	var spreads, cmds []time.Duration
	for range b.activations {
		_, at, took, err := b.activate(ctx)
		if err != nil {
			return err
		}
		spreads = append(spreads, last(at).Sub(first(at)))
		cmds = append(cmds, took)
	}
	fmt.Printf("switch spread across %d instances over %d activations: p50 %s, max %s (bound: 250 ms)\n",
		len(b.nodes), len(spreads), ms(pct(spreads, 50)), ms(pct(spreads, 100)))
	fmt.Printf("`skewless activate --redis` until every instance serves it: p50 %s, max %s\n", ms(pct(cmds, 50)), ms(pct(cmds, 100)))
	return nil
}

// stream is one open event stream: the last version event it read.
type stream struct {
	id, version atomic.Value // string
	at          atomic.Int64 // UnixNano when read
}

func (b *bench) fanout(ctx context.Context) error {
	streams := make([]*stream, b.streams)
	var wg sync.WaitGroup
	sem := make(chan struct{}, b.dialers)
	errs := make(chan error, 1)
	opened := time.Now()
	for i := range streams {
		streams[i] = &stream{}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.follow(ctx, b.nodes[i%len(b.nodes)], streams[i], sem); err != nil && ctx.Err() == nil {
				select {
				case errs <- fmt.Errorf("stream %d: %w", i, err):
				default:
				}
			}
		}()
	}
	if err := waitAll(ctx, streams, b.cur, time.Minute, errs); err != nil {
		return err
	}
	fmt.Printf("fan-out: %d streams open over %d instances in %s\n", len(streams), len(b.nodes), time.Since(opened).Round(time.Millisecond))
	var results []time.Duration
	for r := range b.rounds {
		v, at, _, err := b.activate(ctx)
		if err != nil {
			return err
		}
		if err := waitAll(ctx, streams, v, b.roundMax, errs); err != nil {
			return err
		}
		arrivals := make([]time.Duration, len(streams))
		ids := map[string]int{}
		for i, s := range streams {
			arrivals[i] = time.Unix(0, s.at.Load()).Sub(first(at))
			ids[s.id.Load().(string)]++
		}
		if len(ids) != 1 {
			return fmt.Errorf("round %d: the streams got different event ids for %s: %v", r+1, v, ids)
		}
		fmt.Printf("fan-out round %d (%s): first instance switch → stream read: p50 %s, p99 %s, last %s (switch spread %s)\n",
			r+1, v, ms(pct(arrivals, 50)), ms(pct(arrivals, 99)), ms(pct(arrivals, 100)), ms(last(at).Sub(first(at))))
		results = append(results, pct(arrivals, 100))
	}
	fmt.Printf("fan-out to %d streams over %d instances: last stream %s after the first switch (worst of %d rounds)\n",
		len(streams), len(b.nodes), ms(pct(results, 100)), len(results))
	return nil
}

// follow opens one event stream on node and records each version event.
func (b *bench) follow(ctx context.Context, node string, s *stream, sem <-chan struct{}) error {
	var once sync.Once
	release := func() { once.Do(func() { <-sem }) }
	defer release()
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", node)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := fmt.Fprintf(conn, "GET /_skewless/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", node); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 512), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", node, resp.Status)
	}
	r := bufio.NewReaderSize(resp.Body, 256)
	var id string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, `data: {"version": "`):
			now := time.Now().UnixNano()
			s.id.Store(id)
			s.at.Store(now)
			s.version.Store(strings.TrimSuffix(strings.TrimPrefix(line, `data: {"version": "`), `"}`))
			release()
		}
	}
}

// waitAll waits until every stream read version v.
func waitAll(ctx context.Context, streams []*stream, v string, within time.Duration, errs <-chan error) error {
	end := time.Now().Add(within)
	for {
		n := 0
		for _, s := range streams {
			if got, _ := s.version.Load().(string); got == v {
				n++
			}
		}
		if n == len(streams) {
			return nil
		}
		select {
		case err := <-errs:
			return err
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d of %d streams have %s after %s", n, len(streams), v, within)
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func first(ts []time.Time) time.Time {
	return slices.MinFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

func last(ts []time.Time) time.Time {
	return slices.MaxFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
