package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
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
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (serve takes flags only: --builds DIR names the builds folder)", pos[0])
	}
	if err := cfg.validate(); err != nil {
		return usageError{oneLine(err)}
	}
	format := logFormat(cfg.LogFormat)
	log, access, stopLogs, err := newLoggers(format, cfg.LogLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	stopLogs = onlyOnce(stopLogs)
	defer stopLogs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP, as nginx users send it to reload: the certificate is read
	// again and the builds folder rescanned. It never ends the server.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := serve(ctx, cfg, log, access, serveHooks{reload: hup}); err != nil {
		// One line, in the format of the logs: plain for a person at a
		// terminal, JSON for whatever collects the logs.
		if format == "console" {
			stopLogs()
			fmt.Fprintln(os.Stderr, errorLine("serve", err))
		} else {
			log.Error(errorLine("serve", err))
		}
		return exitError{1}
	}
	return nil
}

// onlyOnce returns f, which does its work on the first call only.
func onlyOnce(f func()) func() {
	var once sync.Once
	return func() { once.Do(f) }
}

// logFormat resolves --log-format: as given, or console when stderr is a
// terminal (a person reads it) and JSON otherwise (a collector does).
func logFormat(flag string) string {
	if flag != "" {
		return flag
	}
	if isTerminal(os.Stderr) {
		return "console"
	}
	return "json"
}

// serveHooks connect serve to the process (its signals) and let a test
// follow the server's start and slow its loads. Every field is optional.
type serveHooks struct {
	listening func(net.Addr) // the port is open
	started   func()         // the builds found at start are loaded (or found invalid)
	loader    func(manifest.BuildLoader) manifest.BuildLoader
	// reload receives SIGHUP: reload the certificate, rescan the builds.
	reload <-chan os.Signal
}

// serve runs the server until ctx ends. It takes the builds folder's lock,
// opens the port, and only then starts loading builds: the port answers at
// once (/_skewless/health says 503 until the current build serves), and a
// taken port or a second server fails before any work.
func serve(ctx context.Context, cfg serveConfig, log *zap.Logger, access *accessLog, hooks serveHooks) error {
	if err := checkBuildsFolder(cfg.Builds); err != nil {
		return err
	}
	cert, ln, metricsLn, err := openListeners(cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	if metricsLn != nil {
		defer metricsLn.Close()
	}
	if cfg.Cluster.Redis == "" { // a cluster's instances may share one folder
		lock, err := manifest.LockServer(cfg.Builds)
		if err != nil {
			return stateFolderError(cfg.Builds, err)
		}
		defer lock.Release()
	}
	cluster, err := openCluster(cfg.Cluster, ln.Addr(), log)
	if err != nil {
		return err
	}
	if cluster != nil {
		defer cluster.Close() // after the registry: the instance leaves the cluster last
	}
	if err := markFolder(cfg); err != nil {
		return err
	}
	s, reg, loader, err := newServer(cfg, log, access, hooks, cluster)
	if err != nil {
		return err
	}
	defer loader.Close() // after the registry, closed below: it stops loading first
	if cluster != nil {
		cluster.CountTabs(func() map[string]int {
			counts, _ := s.events.tabs.snapshot()
			return known(counts, reg.Snapshot())
		})
	}
	stopMetrics := startMetrics(metricsLn, s.metrics, log)
	defer stopMetrics()
	app := newApp(s)
	errc := make(chan error, 1)
	var served net.Listener = newTimeoutListener(ln, cfg.timeout(), cfg.sendTimeoutOrDefault())
	if cert != nil {
		served = tlsListener(served, cert)
	}
	go func() { errc <- app.Listener(served) }()
	log.Info("listening", zap.String("url", serverURL(ln.Addr(), cert != nil, cfg.Base)), zap.String("addr", ln.Addr().String()),
		zap.String("builds", cfg.Builds))
	if hooks.listening != nil {
		hooks.listening(ln.Addr())
	}
	defer startTabsReport(cfg.Builds, s.events.tabs, reg, log)()
	if err = reg.Start(ctx); err == nil {
		defer reg.Close()
		err = waitServing(ctx, reg, errc, hooks, func() { reload(reg, cert, log) })
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

// openListeners loads the certificate and opens the ports: whatever can
// fail at start fails before anything is written into the builds folder.
func openListeners(cfg serveConfig) (cert *certificate, ln, metricsLn net.Listener, err error) {
	if cfg.TLSCert != "" {
		if cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, nil, nil, err
		}
	}
	if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, nil, nil, listenError("--addr", cfg.Addr, err)
	}
	if metricsLn, err = listenMetrics(cfg.MetricsAddr); err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	return cert, ln, metricsLn, nil
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
		Grace: cfg.Grace, Keep: cfg.Keep, Base: cfg.Base, Settle: cfg.Settle, Log: log.Named("builds"), Observer: m,
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
// hooks.started when the builds found at start are loaded, and calling
// onReload for each hooks.reload.
func waitServing(ctx context.Context, reg *manifest.Registry, errc <-chan error, hooks serveHooks, onReload func()) error {
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
		case <-hooks.reload:
			onReload()
		case <-ctx.Done():
			return nil
		}
	}
}

func loaderConfig(cfg serveConfig, log *zap.Logger) manifest.LoaderConfig {
	lc := manifest.LoaderConfig{ReadyFile: cfg.ReadyFile, CacheDir: manifest.CacheDir(cfg.Builds), Log: log.Named("loader"),
		Immutable: cfg.immutable, Base: cfg.Base}
	if cfg.Inject {
		lc.TransformHTML = func(version string, doc []byte) []byte {
			return injectHead(doc, helperTag(cfg.Base, version))
		}
	}
	return lc
}

// startTabsReport keeps the report of open tabs `skewless status` reads
// until the returned stop, which removes it and waits for its goroutine.
func startTabsReport(dir string, tabs *tabCounter, builds snapshotSource, log *zap.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&tabsReport{dir: dir, tabs: tabs, builds: builds, log: log.Named("tabs")}).run(ctx)
	}()
	return func() { cancel(); <-done }
}
