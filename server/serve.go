package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
	"github.com/skewless/skewless/server/client"
)

// shutdownGrace bounds how long requests in flight may take to finish.
const shutdownGrace = 5 * time.Second

func runServe(args []string) error {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(os.Stderr, "skewless serve: unexpected argument %q\n", pos[0])
		return exitError{2}
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "skewless serve: %v\n", err)
		return exitError{2}
	}
	log, access, stopLogs, err := newLoggers(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skewless serve: %v\n", err)
		return exitError{2}
	}
	defer stopLogs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, access, nil); err != nil {
		log.Error("cannot serve", zap.Error(err))
		return exitError{1}
	}
	return nil
}

// serve runs the server until ctx ends. listening, when set, is told the
// address once requests are accepted.
func serve(ctx context.Context, cfg serveConfig, log *zap.Logger, access *accessLog, listening func(net.Addr)) error {
	m := newMetrics()
	loader := manifest.NewLoader(loaderConfig(cfg, log))
	defer loader.Close()
	reg, err := manifest.NewRegistry(manifest.RegistryConfig{
		Dir: cfg.Builds, Loader: loader,
		Grace: cfg.Grace, Keep: cfg.Keep, Settle: cfg.Settle, Log: log.Named("builds"), Observer: m,
	})
	if err != nil {
		return err
	}
	if err := reg.Start(ctx); err != nil {
		return err
	}
	defer reg.Close()
	helper, err := manifest.NewContent("client.js", client.JS, time.Now())
	if err != nil {
		return fmt.Errorf("prepare client helper: %w", err)
	}
	s := &server{cfg: cfg, builds: reg, log: log, access: access, client: helper,
		events: newHub(reg, cfg.Heartbeat, cfg.MaxSSE), metrics: m}
	m.follow(s)
	app := newApp(s)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	stopMetrics, err := startMetrics(cfg.MetricsAddr, s.metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(newTimeoutListener(ln, cfg.timeout())) }()
	log.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("builds", cfg.Builds),
		zap.String("current", reg.Snapshot().Version()))
	if listening != nil {
		listening(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Event streams never end on their own and fasthttp waits for every
	// connection: close them first, then let requests in flight finish.
	s.events.Close()
	if err := app.ShutdownWithTimeout(shutdownGrace); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	return nil
}

func loaderConfig(cfg serveConfig, log *zap.Logger) manifest.LoaderConfig {
	lc := manifest.LoaderConfig{ReadyFile: cfg.ReadyFile, CacheDir: manifest.CacheDir(cfg.Builds), Log: log.Named("loader"),
		Immutable: cfg.immutable}
	if cfg.Inject {
		lc.TransformHTML = func(version string, doc []byte) []byte {
			return injectHead(doc, helperTag(version))
		}
	}
	return lc
}

// flagError turns a flag parsing error (already printed by the flag
// package, with usage) into an exit code: 0 for --help, 2 otherwise.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return exitError{2}
}
