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
	if err := serve(ctx, cfg, log, access, serveHooks{}); err != nil {
		log.Error("cannot serve", zap.Error(err))
		return exitError{1}
	}
	return nil
}

// serveHooks let a test follow the server's start and slow its loads.
// Every field is optional.
type serveHooks struct {
	listening func(net.Addr) // the port is open
	started   func()         // the builds found at start are loaded (or found invalid)
	loader    func(manifest.BuildLoader) manifest.BuildLoader
}

// serve runs the server until ctx ends. It takes the builds folder's lock,
// opens the port, and only then starts loading builds: the port answers at
// once (/_skewless/health says 503 until the current build serves), and a
// taken port or a second server fails before any work.
func serve(ctx context.Context, cfg serveConfig, log *zap.Logger, access *accessLog, hooks serveHooks) error {
	if _, err := os.ReadDir(cfg.Builds); err != nil {
		return fmt.Errorf("builds folder %q: %w", cfg.Builds, err)
	}
	if cfg.Cluster.Redis == "" { // a cluster's instances may share one folder
		lock, err := manifest.LockServer(cfg.Builds)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	cluster, err := openCluster(cfg.Cluster, ln.Addr(), log)
	if err != nil {
		ln.Close()
		return err
	}
	if cluster != nil {
		defer cluster.Close() // after the registry: the instance leaves the cluster last
	}
	s, reg, loader, err := newServer(cfg, log, access, hooks, cluster)
	if err != nil {
		ln.Close()
		return err
	}
	defer loader.Close() // after the registry, closed below: it stops loading first
	stopMetrics, err := startMetrics(cfg.MetricsAddr, s.metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	app := newApp(s)
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(newTimeoutListener(ln, cfg.timeout(), cfg.sendTimeoutOrDefault())) }()
	log.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("builds", cfg.Builds))
	if hooks.listening != nil {
		hooks.listening(ln.Addr())
	}
	if err = reg.Start(ctx); err == nil {
		defer reg.Close()
		err = waitServing(ctx, reg, errc, hooks)
	}
	log.Info("shutting down")
	// Event streams never end on their own and fasthttp waits for every
	// connection: close them first, then let requests in flight finish.
	s.events.Close()
	if err := app.ShutdownWithTimeout(shutdownGrace); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	return err
}

// newServer makes the registry and the server over it (nothing started).
func newServer(cfg serveConfig, log *zap.Logger, access *accessLog, hooks serveHooks, cluster *manifest.RedisStore) (*server, *manifest.Registry, *manifest.Loader, error) {
	m := newMetrics()
	loader := manifest.NewLoader(loaderConfig(cfg, log))
	var bl manifest.BuildLoader = loader
	if hooks.loader != nil {
		bl = hooks.loader(bl)
	}
	var store manifest.StateStore // default: the builds folder's state file
	if cluster != nil {
		store = cluster
	}
	reg, err := manifest.NewRegistry(manifest.RegistryConfig{
		Dir: cfg.Builds, Loader: bl, Store: store, BarrierTimeout: cfg.Cluster.BarrierTimeout,
		Grace: cfg.Grace, Keep: cfg.Keep, Settle: cfg.Settle, Log: log.Named("builds"), Observer: m,
	})
	if err != nil {
		loader.Close()
		return nil, nil, nil, err
	}
	helper, err := manifest.NewContent("client.js", client.JS, time.Now())
	if err != nil {
		loader.Close()
		return nil, nil, nil, fmt.Errorf("prepare client helper: %w", err)
	}
	s := &server{cfg: cfg, builds: reg, log: log, access: access, client: helper,
		events: newHub(reg, cfg.Heartbeat, cfg.MaxSSE), metrics: m, cluster: cluster}
	m.follow(s)
	return s, reg, loader, nil
}

// waitServing runs until ctx ends or the listener fails, telling
// hooks.started when the builds found at start are loaded.
func waitServing(ctx context.Context, reg *manifest.Registry, errc <-chan error, hooks serveHooks) error {
	startup := reg.StartupDone()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-startup:
			startup = nil
			if hooks.started != nil {
				hooks.started()
			}
		case <-ctx.Done():
			return nil
		}
	}
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
