package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLoggers returns the application logger and the access logger. Access
// lines all share one message, so the access logger is never sampled:
// production sampling would keep one line in a hundred under load. Access
// lines are buffered (flushed every second and by stop), as nginx's
// "access_log ... buffer=" does: one write per request would cost more than
// serving it.
func newLoggers(format, level string) (app *zap.Logger, access *accessLog, stop func(), err error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	console := format == "console"
	enc := encoderConfig(console, console && isTerminal(os.Stderr))
	encoder := zapcore.NewJSONEncoder(enc)
	if console {
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	stderr := zapcore.Lock(os.Stderr)
	app = zap.New(zapcore.NewSamplerWithOptions(zapcore.NewCore(encoder, stderr, lvl), time.Second, 100, 100))
	if !lvl.Enabled(zapcore.InfoLevel) {
		return app, nil, func() {}, nil
	}
	lines := newLineWriter(stderr, 256<<10, time.Second)
	return app, newAccessLog(lines, console, enc), lines.Stop, nil
}

// encoderConfig is zap's production encoding with "ts" in ISO 8601 UTC;
// the console format has capital levels, coloured on a terminal.
func encoderConfig(console, color bool) zapcore.EncoderConfig {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = encodeTime
	if console {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		if color {
			enc.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
	}
	return enc
}

// lineWriter collects log lines in memory and writes them from a goroutine
// of its own, every interval or as soon as size bytes wait: a request never
// waits for the log's write (zap's BufferedWriteSyncer writes from the
// request that fills its buffer, which showed as that request's latency).
// Past four times size waiting (a stalled stderr), writers wait: lines are
// never dropped.
type lineWriter struct {
	out  zapcore.WriteSyncer
	size int

	mu      sync.Mutex
	room    *sync.Cond // signalled when the buffer was taken
	buf     []byte
	spare   []byte
	flushMu sync.Mutex // one write to out at a time, in order

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

var _ zapcore.WriteSyncer = (*lineWriter)(nil)

func newLineWriter(out zapcore.WriteSyncer, size int, interval time.Duration) *lineWriter {
	w := &lineWriter{out: out, size: size, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	go w.run(interval)
	return w
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.release(append(w.lines(), p...))
	return len(p), nil
}

// lines locks the buffer and returns it, to append whole lines to and
// hand back with release.
func (w *lineWriter) lines() []byte {
	w.mu.Lock()
	for len(w.buf) > 4*w.size {
		w.room.Wait()
	}
	return w.buf
}

// release stores b, what lines returned with lines appended, and unlocks.
func (w *lineWriter) release(b []byte) {
	w.buf = b
	full := len(b) >= w.size
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Sync writes what waits.
func (w *lineWriter) Sync() error { return w.flush() }

// Stop writes what waits and ends the writer's goroutine.
func (w *lineWriter) Stop() {
	close(w.stop)
	<-w.done
	_ = w.flush()
	_ = w.out.Sync()
}

func (w *lineWriter) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		case <-t.C:
		}
		_ = w.flush()
	}
}

func (w *lineWriter) flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.room.Broadcast()
	w.mu.Unlock()
	if len(b) == 0 {
		return nil
	}
	_, err := w.out.Write(b)
	w.mu.Lock()
	w.spare = b[:0]
	w.mu.Unlock()
	return err
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// timeCache is the last timestamp encodeTime formatted.
type timeCache struct {
	ms int64
	s  string // "2026-11-22T14:05:09.123Z"
}

var lastStamp atomic.Pointer[timeCache]

// encodeTime writes UTC ISO 8601 with milliseconds.
func encodeTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) { enc.AppendString(stamp(t)) }

// stamp formats t as UTC ISO 8601 with milliseconds, formatting each
// millisecond once (as nginx caches its time strings): every access line
// carries a timestamp, and formatting it per line would be a fair share of
// what a request costs.
func stamp(t time.Time) string {
	ms := t.UnixMilli()
	c := lastStamp.Load()
	if c == nil || c.ms != ms {
		c = &timeCache{ms: ms, s: t.UTC().Format("2006-01-02T15:04:05.000Z")}
		lastStamp.Store(c)
	}
	return c.s
}
