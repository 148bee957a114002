package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// RedisStoreConfig configures a RedisStore.
type RedisStoreConfig struct {
	// URL is the Redis server: redis://[[USER]:PASSWORD@]HOST:PORT/DB
	// (rediss:// for TLS, unix:///path.sock). Required.
	URL string
	// Cluster prefixes every key, so several apps share one Redis.
	// Optional. Default: "skewless".
	Cluster string
	// Instance makes the store a serving instance's: it follows the
	// cluster's channel, and reports what the instance has loaded with a
	// heartbeat. Commands (activate, status) leave it nil. Optional.
	Instance *InstanceInfo
	// Heartbeat is how often an instance refreshes its report, which
	// expires after instanceTTL heartbeats. Optional. Default: 1s.
	Heartbeat time.Duration
	// Log receives the store's connection changes. Optional. Default: none.
	Log *zap.Logger
}

// instanceTTL is how many heartbeats an instance's report outlives its
// last refresh: an instance that died leaves the barrier after that.
const instanceTTL = 5

// redisOpTimeout bounds one read or update of the shared state.
const redisOpTimeout = 3 * time.Second

var clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidClusterName reports whether name can prefix a cluster's keys.
func ValidClusterName(name string) bool { return clusterName.MatchString(name) }

// RedisStore keeps a cluster's state in Redis, under keys prefixed by the
// cluster's name (<c>):
//
//	<c>:state            the History, JSON (the format of state.json)
//	<c>:seq              the highest activation sequence number handed out
//	<c>:paths:<version>  a build's path list: hash {digest, list}
//	<c>:instances        the ids of the instances that reported (a set)
//	<c>:instance:<id>    an instance's report, JSON, expiring without heartbeat
//	<c>:events           the channel: "state <by>", "report <id>", "leave <id>"
//
// The truth is in the keys; the channel only says that something changed,
// and every (re)subscription re-reads them (pub/sub loses what happens
// while disconnected). Updates run under WATCH/MULTI on the state.
type RedisStore struct {
	cfg  RedisStoreConfig
	log  *zap.Logger
	rdb  *redis.Client
	keys redisKeys
	self string
	url  string // for logs: no password

	mu      sync.Mutex
	last    *History // the last good state read or written
	problem string   // what is wrong with the shared state ("": nothing)
	member  *member  // nil for a command's store

	up atomic.Bool
	// openTabs, when set, counts this instance's open tabs for its report.
	openTabs atomic.Pointer[func() map[string]int]
}

var _ ClusterStore = (*RedisStore)(nil)

// CountTabs makes every heartbeat report this instance's open tabs by
// build, as count returns them (`status --redis` adds them up).
func (s *RedisStore) CountTabs(count func() map[string]int) { s.openTabs.Store(&count) }

type redisKeys struct{ prefix string }

func (k redisKeys) state() string                  { return k.prefix + ":state" }
func (k redisKeys) seq() string                    { return k.prefix + ":seq" }
func (k redisKeys) paths(v string) string          { return k.prefix + ":paths:" + v }
func (k redisKeys) instances() string              { return k.prefix + ":instances" }
func (k redisKeys) instance(id string) string      { return k.prefix + ":instance:" + id }
func (k redisKeys) events() string                 { return k.prefix + ":events" }
func (k redisKeys) message(kind, by string) string { return kind + " " + by }

// quietRedis keeps go-redis's own log (a line per failed dial, to
// stderr) out of the server's: the store says once that Redis is down.
var quietRedis sync.Once

type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}

// OpenRedisStore connects to the cluster's Redis. A serving instance's
// store starts following the cluster even when Redis cannot be reached
// yet (Read says so until it can); a command's store fails at once.
func OpenRedisStore(cfg RedisStoreConfig) (*RedisStore, error) {
	if cfg.Cluster == "" {
		cfg.Cluster = "skewless"
	}
	if !ValidClusterName(cfg.Cluster) {
		return nil, fmt.Errorf("cluster name %q: use letters, digits, '.', '_', '-' (at most 64)", cfg.Cluster)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	quietRedis.Do(func() { redis.SetLogger(discardLog{}) })
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w (want redis://HOST:PORT/DB)", err)
	}
	// Fail fast: the server serves from memory whatever Redis does, and a
	// decision that cannot be written is made again once it can.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	opt.MaxRetries, opt.PoolSize, opt.PoolTimeout = 1, 8, 2*time.Second
	opt.ClientName = "skewless"
	s := &RedisStore{cfg: cfg, log: cfg.Log, rdb: redis.NewClient(opt), keys: redisKeys{cfg.Cluster},
		self: "activate@" + hostname(), url: RedactURL(cfg.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = s.rdb.Ping(ctx).Err()
	cancel()
	s.up.Store(err == nil)
	if cfg.Instance == nil {
		if err != nil {
			s.rdb.Close()
			return nil, fmt.Errorf("redis %s: %w", s.url, err)
		}
		return s, nil
	}
	s.self = cfg.Instance.ID
	if err != nil {
		s.log.Warn("redis unreachable at start: nothing serves until the cluster's state is read",
			zap.String("redis", s.url), zap.Error(err))
	}
	s.member = startMember(s)
	return s, nil
}

// Self implements ClusterStore.
func (s *RedisStore) Self() string { return s.self }

// Up reports whether Redis answered the last heartbeat.
func (s *RedisStore) Up() bool { return s.up.Load() }

// Problem implements ClusterStore.
func (s *RedisStore) Problem() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.problem
}

// Keys names the cluster's keys, for people (status, logs).
func (s *RedisStore) Keys() (state, instances string) { return s.keys.state(), s.keys.instances() }

// usable fails fast while a serving instance's heartbeat finds Redis
// down: the loop must not wait on it.
func (s *RedisStore) usable() error {
	if s.member != nil && !s.up.Load() {
		return fmt.Errorf("%w: redis %s", ErrStoreUnavailable, s.url)
	}
	return nil
}

// Read implements StateStore. A state that is gone (Redis restarted
// without persistence, the key deleted) comes back as this process last
// knew it, with an error wrapping ErrCorruptState, so the caller writes it
// back; data that is not a state wraps ErrForeignState and is left alone.
func (s *RedisStore) Read(ctx context.Context) (*History, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	raw, err := s.rdb.Get(ctx, s.keys.state()).Bytes()
	if errors.Is(err, redis.Nil) {
		mark, merr := s.seqMark(ctx, s.rdb)
		if merr != nil {
			return nil, merr
		}
		h, lost := s.rebuilt(mark)
		if lost {
			return h, fmt.Errorf("%w: redis %s has no %s (restarted without persistence, or deleted)", ErrCorruptState, s.url, s.keys.state())
		}
		return h, nil
	}
	if err != nil {
		return nil, s.classify(err)
	}
	h, err := s.decode(raw)
	if err != nil {
		return nil, err
	}
	s.remember(h)
	return h, nil
}

// rebuilt is the state that replaces a missing one: what this process
// last knew, or a state whose sequence goes on above the mark; lost is
// false on a first start (neither).
func (s *RedisStore) rebuilt(mark uint64) (h *History, lost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil {
		return s.last.clone(), true
	}
	h = newHistory()
	h.Seq = mark
	return h, mark > 0
}

// decode reads a state, noting (and logging once) data it cannot use.
func (s *RedisStore) decode(raw []byte) (*History, error) {
	h, err := decodeHistory(raw)
	if err != nil {
		err = fmt.Errorf("%w: %s: %v", ErrForeignState, s.keys.state(), err)
		s.setProblem(err.Error())
		return nil, err
	}
	return h, nil
}

func (s *RedisStore) remember(h *History) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = h
	s.problem = ""
}

func (s *RedisStore) setProblem(p string) {
	s.mu.Lock()
	was := s.problem
	s.problem = p
	s.mu.Unlock()
	if p != was {
		s.log.Error("the cluster's state in redis is not skewless's; it is left alone and decisions wait: "+
			"fix or delete the key (the instances then write back what they serve)",
			zap.String("redis", s.url), zap.String("problem", p))
	}
}

// classify wraps a Redis error: a wrong type under a key is foreign data;
// anything else means Redis cannot be used now.
func (s *RedisStore) classify(err error) error {
	if strings.HasPrefix(err.Error(), "WRONGTYPE") {
		err = fmt.Errorf("%w: %s holds another kind of value: %v", ErrForeignState, s.keys.state(), err)
		s.setProblem(err.Error())
		return err
	}
	return fmt.Errorf("%w: redis %s: %v", ErrStoreUnavailable, s.url, err)
}

// Update implements StateStore: fn runs on the state read under WATCH, and
// the result is written in one MULTI/EXEC with the sequence mark and a
// notice on the channel; when another writer got there first, it runs
// again on the fresher state. An update that changes nothing writes
// nothing.
func (s *RedisStore) Update(ctx context.Context, fn func(*History) error) (*History, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	for range 100 {
		h, err := s.update(ctx, fn)
		if !errors.Is(err, redis.TxFailedErr) {
			return h, err
		}
	}
	return nil, fmt.Errorf("%w: redis %s: too many concurrent writers", ErrStoreUnavailable, s.url)
}

// fnError carries fn's own error through go-redis untouched.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (s *RedisStore) update(ctx context.Context, fn func(*History) error) (*History, error) {
	var out *History
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		h, write, mark, err := s.fresh(ctx, tx)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(h)
		if err := fn(h); err != nil {
			return fnError{err}
		}
		if after, _ := json.Marshal(h); !write && bytes.Equal(before, after) {
			out = h
			return nil
		}
		h.Rev++
		b, err := jsonIndent(h)
		if err != nil {
			return fnError{fmt.Errorf("encode state: %w", err)}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.keys.state(), b, 0)
			if h.Seq > mark {
				p.Set(ctx, s.keys.seq(), h.Seq, 0)
			}
			p.Publish(ctx, s.keys.events(), s.keys.message("state", s.self))
			return nil
		})
		out = h
		return err
	}, s.keys.state(), s.keys.seq())
	var fe fnError
	switch {
	case err == nil:
		s.remember(out)
		return out, nil
	case errors.As(err, &fe):
		return nil, fe.err
	case errors.Is(err, redis.TxFailedErr), errors.Is(err, ErrForeignState):
		return nil, err
	}
	return nil, s.classify(err)
}

// fresh reads the state inside a WATCH. A missing one is rebuilt (and
// must be written even if fn changes nothing).
func (s *RedisStore) fresh(ctx context.Context, tx *redis.Tx) (h *History, write bool, mark uint64, err error) {
	mark, err = s.seqMark(ctx, tx)
	if err != nil {
		return nil, false, 0, err
	}
	raw, err := tx.Get(ctx, s.keys.state()).Bytes()
	if errors.Is(err, redis.Nil) {
		h, lost := s.rebuilt(mark)
		if lost {
			s.log.Warn("the cluster's state was missing from redis; writing back what this instance knew",
				zap.String("redis", s.url), zap.String("current", h.Current), zap.Uint64("seq", h.Seq))
		}
		return h, true, mark, nil
	}
	if err != nil {
		return nil, false, 0, s.classify(err)
	}
	h, err = s.decode(raw)
	return h, false, mark, err
}

// seqMark reads the sequence mark: 0 when missing, or not a number (the
// state's own sequence then counts).
func (s *RedisStore) seqMark(ctx context.Context, c redis.Cmdable) (uint64, error) {
	str, err := c.Get(ctx, s.keys.seq()).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, s.classify(err)
	}
	n, _ := strconv.ParseUint(str, 10, 64)
	return n, nil
}

// SavePaths implements StateStore: <c>:paths:<v>, rewritten only when the
// list changed.
func (s *RedisStore) SavePaths(ctx context.Context, v string, paths []string) (string, error) {
	if !ValidVersion(v) {
		return "", fmt.Errorf("save paths: bad version %q", v)
	}
	data := encodePaths(paths)
	digest := pathsDigest(data)
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	if old, err := s.rdb.HGet(ctx, s.keys.paths(v), "digest").Result(); err == nil && old == digest {
		return digest, nil
	}
	if err := s.rdb.HSet(ctx, s.keys.paths(v), "digest", digest, "list", data).Err(); err != nil {
		return "", fmt.Errorf("save paths of %q in redis: %w", v, err)
	}
	return digest, nil
}

// LoadPaths implements StateStore.
func (s *RedisStore) LoadPaths(ctx context.Context, v string) ([]string, error) {
	if !ValidVersion(v) {
		return nil, fmt.Errorf("load paths: bad version %q", v)
	}
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	b, err := s.rdb.HGet(ctx, s.keys.paths(v), "list").Bytes()
	if err != nil {
		return nil, fmt.Errorf("load paths of %q from redis: %w", v, err)
	}
	return decodePaths(b), nil
}

// Instances reads the reports of the live instances now (for `status`).
// Reports that are not an instance's JSON are returned by id in bad.
func (s *RedisStore) Instances(ctx context.Context) (live []InstanceReport, bad map[string]string, err error) {
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	ids, err := s.rdb.SMembers(ctx, s.keys.instances()).Result()
	if err != nil {
		return nil, nil, s.classify(err)
	}
	live, _, bad, err = s.readReports(ctx, ids)
	return live, bad, err
}

// readReports reads the reports of ids: those alive, the ids whose report
// expired, and those whose report is unreadable (with why).
func (s *RedisStore) readReports(ctx context.Context, ids []string) (live []InstanceReport, gone []string, bad map[string]string, err error) {
	if len(ids) == 0 {
		return nil, nil, nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.keys.instance(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, nil, s.classify(err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		var r InstanceReport
		if err := json.Unmarshal([]byte(str), &r); err != nil || r.ID != ids[i] {
			if bad == nil {
				bad = map[string]string{}
			}
			bad[ids[i]] = fmt.Sprintf("%s is not an instance's report", keys[i])
			continue
		}
		live = append(live, r)
	}
	return live, gone, bad, nil
}

// Close stops following the cluster (an instance leaves it at once: its
// report is removed) and closes the connections.
func (s *RedisStore) Close() error {
	if s.member != nil {
		s.member.stop()
	}
	return s.rdb.Close()
}

// Changes implements StateStore: signalled when the state or the
// instances' reports may have changed, and after every reconnection.
func (s *RedisStore) Changes() <-chan struct{} {
	if s.member == nil {
		return nil
	}
	return s.member.changes
}

// RedactURL is a Redis URL as logs and messages show it: its password
// left out.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "redis"
	}
	return u.Redacted()
}
