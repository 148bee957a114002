package manifest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"go.uber.org/zap"
)

// compressor makes the best variants (brotli 11, gzip 9) of the contents
// loads hand it, in the background, and swaps them in: a build is served
// as soon as it is read and hashed, and requests never wait for
// compression nor do it themselves.
//
// It runs at most limit goroutines, started when work arrives and gone
// when the queue is empty, each owned by wg; Close cancels them and waits.
// Work yields to loads: while any build loads, workers stop at their next
// checkpoint (every 64 KiB of input) until no load runs, so a deploy or a
// restart is never slowed by the compression of the one before it.
//
// Jobs hold their content weakly: a content no build holds any more is
// not compressed, and is not kept alive for it.
type compressor struct {
	log   *zap.Logger
	cache *diskCache // nil: no disk cache
	limit int
	every time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	queue      []job
	running    map[uint64]bool
	workers    int
	nextSeq    uint64
	batches    []*batch // in order of their last job
	loads      int
	resume     chan struct{} // closed while no build loads
	idle       chan struct{} // closed while nothing is queued or running
	idleClosed bool
	lastLog    time.Time

	compressed  atomic.Int64
	cacheWrites atomic.Int64
}

type job struct {
	seq uint64
	c   weak.Pointer[Content]
	b   *batch
}

// batch is what one load handed over. It is done when its last job and
// every job queued before it are: then every content of its build that
// was not final is, shared ones included.
type batch struct {
	version string
	start   time.Time
	lastSeq uint64
	jobs    int
	done    int
}

func newCompressor(log *zap.Logger, cache *diskCache, limit int, every time.Duration) *compressor {
	ctx, cancel := context.WithCancel(context.Background())
	closedCh := make(chan struct{})
	close(closedCh)
	idle := make(chan struct{})
	close(idle)
	return &compressor{log: log, cache: cache, limit: limit, every: every, ctx: ctx, cancel: cancel,
		running: map[uint64]bool{}, resume: closedCh, idle: idle, idleClosed: true}
}

// enqueue hands over the contents of build version that need their best
// variants, most wanted first.
func (c *compressor) enqueue(version string, contents []*Content) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	b := &batch{version: version, start: time.Now(), jobs: len(contents)}
	for _, ct := range contents {
		c.nextSeq++
		c.queue = append(c.queue, job{seq: c.nextSeq, c: weak.Make(ct), b: b})
	}
	b.lastSeq = c.nextSeq
	c.batches = append(c.batches, b)
	if len(c.queue) > 0 && c.idleClosed {
		c.idle, c.idleClosed = make(chan struct{}), false
	}
	for c.workers < c.limit && c.workers < len(c.queue) {
		c.workers++
		c.wg.Add(1)
		go c.work()
	}
	c.settle()
}

// work runs jobs until the queue is empty or the compressor is closed.
func (c *compressor) work() {
	defer c.wg.Done()
	for {
		err := c.waitLoads()
		c.mu.Lock()
		if err != nil || len(c.queue) == 0 {
			c.workers--
			c.settle()
			c.mu.Unlock()
			return
		}
		j := c.queue[0]
		c.queue[0] = job{}
		c.queue = c.queue[1:]
		c.running[j.seq] = true
		c.mu.Unlock()

		made := c.compress(j)

		c.mu.Lock()
		delete(c.running, j.seq)
		if made {
			j.b.done++
		}
		c.settle()
		c.mu.Unlock()
	}
}

// compress makes and swaps in the best variants of j's content, and
// caches them. It reports whether it made them.
func (c *compressor) compress(j job) bool {
	ct := j.c.Value()
	if ct == nil || ct.Variants().Final {
		return false // no build holds it any more, or it is done
	}
	br, gz, err := compressFinal(ct.Identity.Bytes(), c.checkpoint)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			c.log.Warn("cannot compress", zap.String("version", j.b.version), zap.String("hash", ct.Hash), zap.Error(err))
		}
		return false
	}
	ct.variants.Store(finalVariants(ct, br, gz))
	c.compressed.Add(1)
	if c.cache != nil {
		if err := c.cache.write(ct.sum, ct.Identity.Size, br, gz); err != nil {
			c.cache.warnOnce("cannot keep variants on disk; they are made again after a restart", err)
		} else {
			c.cacheWrites.Add(1)
		}
	}
	return true
}

// checkpoint ends work on Close and pauses it while a build loads.
func (c *compressor) checkpoint() error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	return c.waitLoads()
}

func (c *compressor) waitLoads() error {
	c.mu.Lock()
	ch := c.resume
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// loadStarted and loadEnded bracket a load: background work waits while
// any load runs.
func (c *compressor) loadStarted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads++
	if c.loads == 1 {
		c.resume = make(chan struct{})
	}
}

func (c *compressor) loadEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads--
	if c.loads == 0 {
		close(c.resume)
	}
}

// settle logs the batches that are done and marks the compressor idle when
// nothing is left. Called with mu held.
func (c *compressor) settle() {
	lowest := c.nextSeq + 1
	if len(c.queue) > 0 {
		lowest = c.queue[0].seq
	}
	for seq := range c.running {
		lowest = min(lowest, seq)
	}
	for len(c.batches) > 0 && c.batches[0].lastSeq < lowest {
		b := c.batches[0]
		c.batches = c.batches[1:]
		c.log.Info("variants ready", zap.String("version", b.version), zap.Int("compressed", b.done),
			zap.Int("queued", b.jobs), zap.Duration("took", time.Since(b.start)))
	}
	if len(c.queue) == 0 && len(c.running) == 0 && !c.idleClosed {
		close(c.idle)
		c.idleClosed = true
	}
	if len(c.queue) > 0 && time.Since(c.lastLog) >= c.every {
		c.lastLog = time.Now()
		c.log.Info("compressing in the background", zap.Int("queued", len(c.queue)), zap.Int("running", len(c.running)),
			zap.Int64("compressed", c.compressed.Load()))
	}
}

// waitIdle returns once nothing is queued or running, or ctx ends.
func (c *compressor) waitIdle(ctx context.Context) error {
	c.mu.Lock()
	ch := c.idle
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goOwned runs fn on a goroutine Close waits for, unless closed.
func (c *compressor) goOwned(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

func (c *compressor) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) + len(c.running)
}

// close stops the workers at their next checkpoint and waits for them.
// What was queued is dropped: the next process finds it uncompressed and
// compresses it then.
func (c *compressor) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue, c.batches = nil, nil
	if !c.idleClosed {
		close(c.idle)
		c.idleClosed = true
	}
}
