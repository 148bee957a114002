package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// member is a serving instance's side of a RedisStore: two goroutines,
// one that follows the cluster's channel and one that heartbeats (writes
// this instance's report with a TTL, reads the others'). Redis being down
// is seen by the heartbeat, said once, and ends with a re-read of
// everything.
type member struct {
	s       *RedisStore
	changes chan struct{} // to the registry's loop: read the state and peers
	kick    chan struct{} // to the heartbeat: beat now
	ps      *redis.PubSub
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	report   InstanceReport
	gen      uint64 // bumped by each new report
	written  uint64 // the gen last written to Redis
	peers    []InstanceReport
	known    []InstanceReport // the last complete list, for the log of joins and leaves
	since    time.Time        // when the connection (re)started: peers are complete 2 heartbeats later
	complete bool
	bad      map[string]string // unreadable reports, logged once each
}

func startMember(s *RedisStore) *member {
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{s: s, changes: make(chan struct{}, 1), kick: make(chan struct{}, 1), cancel: cancel,
		since: time.Now(), bad: map[string]string{}}
	m.report.InstanceInfo = *s.cfg.Instance
	m.gen = 1
	m.ps = s.rdb.Subscribe(ctx, s.keys.events()) // retried by listen when Redis is down
	m.wg.Add(2)
	go m.listen(ctx)
	go m.heartbeat(ctx)
	return m
}

func (m *member) signal() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
}

func (m *member) beatNow() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// stop ends both goroutines, then leaves the cluster: the report is
// removed and the others told, so no barrier waits for this instance.
func (m *member) stop() {
	m.cancel()
	_ = m.ps.Close()
	m.wg.Wait()
	s := m.s
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	id := s.cfg.Instance.ID
	_, _ = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.keys.instance(id))
		p.SRem(ctx, s.keys.instances(), id)
		p.Publish(ctx, s.keys.events(), s.keys.message("leave", id))
		return nil
	})
}

// listen follows the cluster's channel. Every subscription confirmation
// after the first is a reconnection: what was published meanwhile is
// lost, so everything is read again.
func (m *member) listen(ctx context.Context) {
	defer m.wg.Done()
	self := m.s.cfg.Instance.ID
	subscribed := 0
	for {
		msg, err := m.ps.ReceiveTimeout(ctx, 5*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = m.ps.Ping(ctx) // a dead connection shows on the next receive
				continue
			}
			sleepCtx(ctx, 250*time.Millisecond) // the next receive reconnects
			continue
		}
		switch msg := msg.(type) {
		case *redis.Subscription:
			if msg.Kind != "subscribe" {
				continue
			}
			if subscribed++; subscribed > 1 {
				m.reconnected()
			}
			m.signal()
			m.beatNow()
		case *redis.Message:
			kind, by, _ := strings.Cut(msg.Payload, " ")
			switch {
			case kind == "state" && by != self:
				m.signal()
			case kind == "report" || kind == "leave":
				m.beatNow() // read the reports now: a barrier may pass
			}
		}
	}
}

// reconnected: reports written before may be gone (a Redis restarted
// empty): no barrier passes until every live instance had a heartbeat to
// write its own again.
func (m *member) reconnected() {
	m.mu.Lock()
	m.since, m.complete = time.Now(), false
	m.written = 0
	m.mu.Unlock()
}

// rereadEvery is how many heartbeats apart the state is read again even
// without news: the safety net for a notice lost without a reconnection,
// and how data put under the keys by hand is noticed.
const rereadEvery = 5

func (m *member) heartbeat(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.s.cfg.Heartbeat)
	defer t.Stop()
	for beats := 1; ; beats++ {
		m.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if beats%rereadEvery == 0 {
				m.signal()
			}
		case <-m.kick:
		}
	}
}

// beat writes this instance's report (with its TTL, and a notice when it
// changed) and reads the live instances' reports.
func (m *member) beat(ctx context.Context) {
	s := m.s
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m.mu.Lock()
	rep, gen, changed := m.report, m.gen, m.gen != m.written
	m.mu.Unlock()
	rep.Seen = time.Now().UTC()
	rep.StateProblem = s.Problem()
	if count := s.openTabs.Load(); count != nil {
		rep.OpenTabs = (*count)()
	}
	b, _ := json.Marshal(rep)
	pipe := s.rdb.Pipeline()
	pipe.Set(ctx, s.keys.instance(rep.ID), b, instanceTTL*s.cfg.Heartbeat)
	pipe.SAdd(ctx, s.keys.instances(), rep.ID)
	if changed {
		pipe.Publish(ctx, s.keys.events(), s.keys.message("report", rep.ID))
	}
	ids := pipe.SMembers(ctx, s.keys.instances())
	_, err := pipe.Exec(ctx)
	var live []InstanceReport
	var gone []string
	var bad map[string]string
	if err == nil {
		live, gone, bad, err = s.readReports(ctx, ids.Val())
	}
	if err != nil {
		m.down(err)
		return
	}
	if len(gone) > 0 {
		_ = s.rdb.SRem(ctx, s.keys.instances(), gone).Err()
	}
	m.logBad(bad)
	m.upAgain()
	m.mu.Lock()
	if m.written < gen {
		m.written = gen
	}
	m.mu.Unlock()
	m.setPeers(live)
}

// down notes a failed heartbeat; a first one is said once.
func (m *member) down(err error) {
	m.mu.Lock()
	m.complete = false
	m.mu.Unlock()
	if m.s.up.Swap(false) {
		m.s.log.Warn("redis unreachable: serving the last state; deploys and activations wait for redis",
			zap.String("redis", m.s.url), zap.Error(err))
		m.signal()
	}
}

// upAgain notes a good heartbeat; the first after an outage starts a
// re-read of everything.
func (m *member) upAgain() {
	if m.s.up.Swap(true) {
		return
	}
	m.reconnected()
	m.s.log.Info("redis reachable: reading the cluster's state again", zap.String("redis", m.s.url))
	m.signal()
}

// setPeers keeps the live instances' reports, signalling when they, or
// whether they can be trusted, changed.
func (m *member) setPeers(live []InstanceReport) {
	slices.SortFunc(live, func(a, b InstanceReport) int { return strings.Compare(a.ID, b.ID) })
	m.mu.Lock()
	complete := time.Since(m.since) >= 2*m.s.cfg.Heartbeat
	changed := complete != m.complete || len(live) != len(m.peers)
	for i := 0; !changed && i < len(live); i++ {
		changed = !live[i].sameAs(m.peers[i])
	}
	var joined, left []string
	if complete {
		// Not while the list may be short: after a Redis restart every
		// instance would seem to leave and join again.
		joined, left = diffIDs(m.known, live, m.s.cfg.Instance.ID)
		m.known = live
	}
	m.peers, m.complete = live, complete
	m.mu.Unlock()
	for _, id := range joined {
		m.s.log.Info("instance joined the cluster", zap.String("instance", id))
	}
	for _, id := range left {
		m.s.log.Info("instance left the cluster (stopped, or its heartbeat expired)", zap.String("instance", id))
	}
	if changed {
		m.signal()
	}
}

func diffIDs(before, after []InstanceReport, self string) (joined, left []string) {
	had := map[string]bool{self: true}
	for _, r := range before {
		had[r.ID] = true
	}
	for _, r := range after {
		if !had[r.ID] {
			joined = append(joined, r.ID)
		}
		delete(had, r.ID)
	}
	delete(had, self)
	for id := range had {
		left = append(left, id)
	}
	slices.Sort(left)
	return joined, left
}

func (m *member) logBad(bad map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, why := range bad {
		if m.bad[id] != why {
			m.s.log.Error("an instance report in redis is unreadable; that instance is left out of the barrier",
				zap.String("instance", id), zap.String("problem", why))
		}
	}
	m.bad = bad
}

// Report implements ClusterStore.
func (s *RedisStore) Report(r InstanceReport) {
	m := s.member
	if m == nil {
		return
	}
	m.mu.Lock()
	r.InstanceInfo = *s.cfg.Instance
	if r.sameAs(m.report) {
		m.mu.Unlock()
		return
	}
	m.report = r
	m.gen++
	m.mu.Unlock()
	m.beatNow()
}

// Peers implements ClusterStore.
func (s *RedisStore) Peers() ([]InstanceReport, bool) {
	m := s.member
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.peers), m.complete && s.up.Load()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
