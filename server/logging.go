package main

import (
	"fmt"
	"os"
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
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
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
