package manifest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// The Redis store against a real redis-server (Debian's): updates under
// WATCH/MULTI, a state lost or foreign, path lists, instances' reports
// and heartbeats, an outage.

const testBeat = 100 * time.Millisecond

func openRedis(t *testing.T, r *manifesttest.Redis, instance string) *RedisStore {
	t.Helper()
	cfg := RedisStoreConfig{URL: r.URL(0), Cluster: "t", Heartbeat: testBeat}
	if instance != "" {
		cfg.Instance = &InstanceInfo{ID: instance, Host: "test", Addr: "127.0.0.1:1", PID: 1, Started: time.Now()}
	}
	s, err := OpenRedisStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rawClient(t *testing.T, r *manifesttest.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisStoreUpdate(t *testing.T) {
	r := manifesttest.StartRedis(t)
	s := openRedis(t, r, "")
	ctx := context.Background()
	h, err := s.Read(ctx)
	if err != nil || h.Current != "" || h.Seq != 0 {
		t.Fatalf("first start: %+v, %v", h, err)
	}
	h, err = s.Update(ctx, func(h *History) error { h.Activate("v1", Summary{Files: 3}, time.Now()); return nil })
	if err != nil || h.Current != "v1" || h.Rev != 1 || h.Seq != 1 {
		t.Fatalf("update: %+v, %v", h, err)
	}
	// An update that changes nothing writes nothing.
	if h, err = s.Update(ctx, func(*History) error { return nil }); err != nil || h.Rev != 1 {
		t.Errorf("no-op update: rev %d, %v", h.Rev, err)
	}
	// fn's error is returned as is, and nothing is stored.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, func(h *History) error { h.Current = "x"; return boom }); err != boom {
		t.Errorf("fn error: %v", err)
	}
	c := rawClient(t, r)
	if seq, _ := c.Get(ctx, "t:seq").Result(); seq != "1" {
		t.Errorf("t:seq %q", seq)
	}
	got, err := s.Read(ctx)
	if err != nil || got.Current != "v1" || got.Rev != 1 {
		t.Errorf("read back: %+v, %v", got, err)
	}
}

// Writers on several connections (several instances) never lose an
// update: each runs again on the fresher state when another got first.
func TestRedisStoreConcurrentUpdates(t *testing.T) {
	r := manifesttest.StartRedis(t)
	stores := []*RedisStore{openRedis(t, r, ""), openRedis(t, r, ""), openRedis(t, r, "")}
	const each = 15
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for j := range each {
				v := fmt.Sprintf("v%d-%d", i, j)
				if _, err := s.Update(context.Background(), func(h *History) error {
					h.Activate(v, Summary{}, time.Now())
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	h, err := stores[0].Read(context.Background())
	if err != nil || h.Seq != 3*each || len(h.Builds) != 3*each {
		t.Errorf("seq %d, %d builds, %v; want %d", h.Seq, len(h.Builds), err, 3*each)
	}
}

// A Redis restarted without persistence (or a deleted key): the state
// comes back as the instance knew it, and the next update writes it back.
func TestRedisStoreLostState(t *testing.T) {
	r := manifesttest.StartRedis(t)
	s := openRedis(t, r, "")
	ctx := context.Background()
	if _, err := s.Update(ctx, func(h *History) error { h.Activate("v1", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	rawClient(t, r).Del(ctx, "t:state", "t:seq")
	h, err := s.Read(ctx)
	if !errors.Is(err, ErrCorruptState) || h == nil || h.Current != "v1" {
		t.Fatalf("lost: %+v, %v", h, err)
	}
	if _, err := s.Update(ctx, func(*History) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if h, err = openRedis(t, r, "").Read(ctx); err != nil || h.Current != "v1" || h.Seq != 1 {
		t.Errorf("written back: %+v, %v", h, err)
	}
	// A store that never knew the state finds the sequence mark: the
	// sequence goes on above it.
	rawClient(t, r).Del(ctx, "t:state")
	rawClient(t, r).Set(ctx, "t:seq", "40", 0)
	if h, err = openRedis(t, r, "").Read(ctx); !errors.Is(err, ErrCorruptState) || h.Seq != 40 {
		t.Errorf("rebuilt from the mark: %+v, %v", h, err)
	}
}

// Data under the state key that is not skewless's is reported, and never
// overwritten.
func TestRedisStoreForeignData(t *testing.T) {
	r := manifesttest.StartRedis(t)
	ctx := context.Background()
	c := rawClient(t, r)
	for name, put := range map[string]func() error{
		"not JSON":       func() error { return c.Set(ctx, "t:state", "hello", 0).Err() },
		"another format": func() error { return c.Set(ctx, "t:state", `{"format": 9, "builds": {}}`, 0).Err() },
		"not a version":  func() error { return c.Set(ctx, "t:state", `{"format": 1, "builds": {"../x": {}}}`, 0).Err() },
		"proposed nonsense": func() error {
			return c.Set(ctx, "t:state", `{"format": 1, "builds": {}, "proposed": {"version": "a b"}}`, 0).Err()
		},
		"a list": func() error { return c.RPush(ctx, "t:state", "x").Err() },
	} {
		t.Run(name, func(t *testing.T) {
			c.Del(ctx, "t:state")
			if err := put(); err != nil {
				t.Fatal(err)
			}
			before, _ := c.Dump(ctx, "t:state").Result()
			s := openRedis(t, r, "")
			if _, err := s.Read(ctx); !errors.Is(err, ErrForeignState) {
				t.Errorf("read: %v", err)
			}
			if _, err := s.Update(ctx, func(h *History) error { h.Activate("v1", Summary{}, time.Now()); return nil }); !errors.Is(err, ErrForeignState) {
				t.Errorf("update: %v", err)
			}
			if after, _ := c.Dump(ctx, "t:state").Result(); after != before {
				t.Error("the foreign data was overwritten")
			}
			if s.Problem() == "" {
				t.Error("no problem reported")
			}
		})
	}
}

func TestRedisStorePaths(t *testing.T) {
	r := manifesttest.StartRedis(t)
	s := openRedis(t, r, "")
	ctx := context.Background()
	d1, err := s.SavePaths(ctx, "v1", []string{"/a.js", "/b.css"})
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := s.SavePaths(ctx, "v1", []string{"/a.js", "/b.css"}); d2 != d1 {
		t.Errorf("digest %q then %q", d1, d2)
	}
	got, err := openRedis(t, r, "").LoadPaths(ctx, "v1")
	if err != nil || fmt.Sprint(got) != "[/a.js /b.css]" {
		t.Errorf("loaded %v, %v", got, err)
	}
	if _, err := s.LoadPaths(ctx, "v9"); err == nil {
		t.Error("a path list never saved loaded")
	}
}

// Instances report with a heartbeat; a report that expires (an instance
// that died) leaves the list; a closed store leaves at once; every store
// hears the others' state changes.
func TestRedisStoreInstances(t *testing.T) {
	r := manifesttest.StartRedis(t)
	a, b := openRedis(t, r, "a"), openRedis(t, r, "b")
	a.Report(InstanceReport{Serving: "v1", Loaded: map[string]string{"v1": "d1"}})
	ids := func(s *RedisStore) string {
		peers, complete := s.Peers()
		out := ""
		for _, p := range peers {
			out += p.ID + "=" + p.Loaded["v1"] + " "
		}
		return fmt.Sprint(out, complete)
	}
	waitFor(t, 5*time.Second, "b sees a's report", func() bool { return ids(b) == "a=d1 b= true" })

	drain(b.Changes())
	if _, err := a.Update(context.Background(), func(h *History) error { h.Activate("v1", Summary{}, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Changes():
	case <-time.After(2 * time.Second):
		t.Fatal("b did not hear a's update")
	}

	// An instance that died: its report outlives it by its TTL only.
	c := rawClient(t, r)
	ctx := context.Background()
	c.Set(ctx, "t:instance:ghost", `{"id": "ghost", "loaded": {}}`, 3*testBeat)
	c.SAdd(ctx, "t:instances", "ghost")
	waitFor(t, 2*time.Second, "the ghost appears", func() bool { return ids(a) == "a=d1 b= ghost= true" })
	waitFor(t, 3*time.Second, "the ghost expires", func() bool { return ids(a) == "a=d1 b= true" })

	// A report that is not an instance's is left out: once a good report
	// written with it shows, the list was read with the junk in it.
	c.Set(ctx, "t:instance:junk", "<html>", 0)
	c.Set(ctx, "t:instance:ghost2", `{"id": "ghost2", "loaded": {}}`, 0)
	c.SAdd(ctx, "t:instances", "junk", "ghost2")
	waitFor(t, 2*time.Second, "ghost2 appears, junk does not", func() bool { return ids(a) == "a=d1 b= ghost2= true" })
	c.Del(ctx, "t:instance:ghost2")
	waitFor(t, 3*time.Second, "ghost2 gone", func() bool { return ids(a) == "a=d1 b= true" })

	b.Close()
	waitFor(t, time.Second, "a closed store leaves at once", func() bool { return ids(a) == "a=d1 true" })
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// Redis down: the store says so, fails fast, and when Redis is back (empty,
// as after a restart without persistence) it signals a re-read and trusts
// the list of instances only after they all had time to report again.
func TestRedisStoreOutage(t *testing.T) {
	r := manifesttest.StartRedis(t)
	a, b := openRedis(t, r, "a"), openRedis(t, r, "b")
	waitFor(t, 5*time.Second, "both see each other", func() bool {
		p, complete := a.Peers()
		return len(p) == 2 && complete
	})
	r.Stop()
	waitFor(t, 5*time.Second, "a sees redis down", func() bool { return !a.Up() })
	start := time.Now()
	if _, err := a.Update(context.Background(), func(*History) error { return nil }); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("update while down: %v", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("an update while down took %s: it must fail fast", took)
	}
	if _, complete := a.Peers(); complete {
		t.Error("peers complete while redis is down")
	}
	drain(a.Changes())
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a sees redis back", func() bool { return a.Up() })
	select {
	case <-a.Changes():
	case <-time.After(2 * time.Second):
		t.Fatal("no re-read signalled after the outage")
	}
	waitFor(t, 5*time.Second, "both report again, complete", func() bool {
		p, complete := a.Peers()
		return len(p) == 2 && complete
	})
	_ = b
}
