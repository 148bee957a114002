package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/skewless/skewless/manifest"
)

// serveConfig is the configuration of `skewless serve`.
type serveConfig struct {
	Addr        string        // listen address. Default: ":8080".
	Builds      string        // the builds folder. Default: "./builds".
	Grace       time.Duration // how long a superseded build stays live. Default: 24h.
	Keep        int           // most superseded builds live at once. Default: 10.
	Settle      time.Duration // quiet time before a dropped build is validated. Default: 300ms.
	ReadyFile   string        // a file that must exist before a build is ready. Default: none.
	SPA         bool          // serve index.html for unknown extension-less paths. Default: true.
	Inject      bool          // inject the client helper into HTML. Default: true.
	Heartbeat   time.Duration // event stream comment interval. Default: 15s.
	MaxSSE      int           // most open event streams. Default: 10000.
	MetricsAddr string        // Prometheus listener; empty turns it off. Default: "127.0.0.1:9180".
	LogFormat   string        // "json" or "console". Default: "json".
	LogLevel    string        // debug, info, warn, error. Default: "info".
	Immutable   []string      // --immutable globs: more paths to cache for a year. Default: none.
	Cluster     clusterConfig // --redis, --cluster, --barrier-timeout: cluster mode. Default: off.

	// immutable is Immutable compiled by validate.
	immutable manifest.Globs

	// connTimeout bounds how long a request head may take to arrive and how
	// long a keep-alive connection may sit idle; zero is connTimeout's
	// default. Not a flag: tests shorten it.
	connTimeout time.Duration
}

func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := newFlagSet("serve", "[flags]")
	fs.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	buildsFlag(fs, &cfg.Builds)
	fs.DurationVar(&cfg.Grace, "grace", 24*time.Hour, "how long a superseded build's files stay served")
	fs.IntVar(&cfg.Keep, "keep", 10, "most superseded builds live at once")
	fs.DurationVar(&cfg.Settle, "settle", 300*time.Millisecond, "quiet time before a dropped build is validated")
	fs.StringVar(&cfg.ReadyFile, "ready-file", "", "a file that must exist in a build before it is ready (none when empty)")
	fs.BoolVar(&cfg.SPA, "spa", true, "answer unknown extension-less paths with index.html")
	fs.BoolVar(&cfg.Inject, "inject", true, "inject the client helper into every HTML document")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", 15*time.Second, "event stream heartbeat interval")
	fs.IntVar(&cfg.MaxSSE, "max-sse", 10000, "most open event streams; more get 503")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:9180", "Prometheus /metrics listener (empty turns it off)")
	fs.StringVar(&cfg.LogFormat, "log-format", "json", "log format: json or console")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	immutableFlag(fs, &cfg.Immutable)
	clusterFlags(fs, &cfg.Cluster, true)
	return fs
}

func (c *serveConfig) validate() error {
	var errs []error
	if c.Grace < 0 {
		errs = append(errs, errors.New("--grace must not be negative"))
	}
	if c.Keep < 0 {
		errs = append(errs, errors.New("--keep must not be negative"))
	}
	if c.Settle < 0 {
		errs = append(errs, errors.New("--settle must not be negative"))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, errors.New("--heartbeat must be positive"))
	}
	if c.MaxSSE < 0 {
		errs = append(errs, errors.New("--max-sse must not be negative"))
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format must be json or console, not %q", c.LogFormat))
	}
	var err error
	if c.immutable, err = manifest.ParseGlobs(c.Immutable); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Cluster.validate())
	return errors.Join(errs...)
}

// immutableFlag registers --immutable GLOB: repeatable, and
// comma-separated (SKEWLESS_IMMUTABLE="/fonts/**,/**/*.wasm"); values from
// the environment and the command line add up.
func immutableFlag(fs *flag.FlagSet, dst *[]string) {
	fs.Func("immutable", "also cache the files matching this glob for a year (repeatable; ** spans folders, * stays in one; e.g. /fonts/**)", func(v string) error {
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				*dst = append(*dst, g)
			}
		}
		return nil
	})
}

func buildsFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "builds", "./builds", "the builds folder: one sub-folder per build, named by its version")
}

func newFlagSet(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: skewless %s %s\n\nflags (each also from the environment variable SKEWLESS_<NAME>, e.g. SKEWLESS_BUILDS):\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags applies SKEWLESS_<NAME> environment variables, then the
// command line, which wins. Positional arguments may come before flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "SKEWLESS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	})
	if envErr != nil {
		fmt.Fprintf(fs.Output(), "invalid environment: %v\n", envErr)
		return nil, envErr
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
