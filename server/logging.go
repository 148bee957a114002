package main

import (
	"fmt"
	"os"
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
func newLoggers(format, level string) (app, access *zap.Logger, stop func(), err error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = encodeTime
	var encoder zapcore.Encoder
	if format == "console" {
		enc.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if !isTerminal(os.Stderr) {
			enc.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	stderr := zapcore.Lock(os.Stderr)
	buffered := &zapcore.BufferedWriteSyncer{WS: stderr, Size: 256 << 10, FlushInterval: time.Second}
	access = zap.New(zapcore.NewCore(encoder, buffered, lvl))
	app = zap.New(zapcore.NewSamplerWithOptions(zapcore.NewCore(encoder, stderr, lvl), time.Second, 100, 100))
	return app, access.Named("http"), func() { _ = buffered.Stop() }, nil
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

// encodeTime writes UTC ISO 8601 with milliseconds, formatting each
// millisecond once (as nginx caches its time strings): every access line
// carries a timestamp, and formatting it per line would be a fair share of
// what a request costs.
func encodeTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	ms := t.UnixMilli()
	c := lastStamp.Load()
	if c == nil || c.ms != ms {
		c = &timeCache{ms: ms, s: t.UTC().Format("2006-01-02T15:04:05.000Z")}
		lastStamp.Store(c)
	}
	enc.AppendString(c.s)
}
