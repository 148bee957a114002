package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
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
	LogFormat   string        // "json" or "console". Default: "" (console when stderr is a terminal, else json).
	LogLevel    string        // debug, info, warn, error. Default: "info".
	Immutable   []string      // --immutable globs: more paths to cache for a year. Default: none.
	// MaxHeaderBytes bounds a request head (request line and header
	// fields): larger gets 431, a request line that alone exceeds it 414.
	// Default: 32768, as nginx's large_client_header_buffers 4 8k.
	MaxHeaderBytes int
	// TrustProxy are the peers whose X-Forwarded-For names the client in
	// access lines. Default: none.
	TrustProxy prefixList
	// Base is the URL prefix the builds are served under. Default: "/".
	Base string
	// TLSCert and TLSKey are PEM files (certificate chain, private key):
	// with both, the server speaks HTTPS. Default: none (plain HTTP).
	TLSCert, TLSKey string
	Cluster         clusterConfig // --redis, --cluster, --barrier-timeout: cluster mode. Default: off.

	// immutable is Immutable compiled by validate.
	immutable manifest.Globs

	// connTimeout bounds how long a request head may take to arrive and how
	// long a keep-alive connection may sit idle; zero is connTimeout's
	// default. Not a flag: tests shorten it.
	connTimeout time.Duration
	// sendTimeout bounds how long a response may make no progress; zero
	// is sendTimeout's default. Not a flag: tests shorten it.
	sendTimeout time.Duration
}

// Bounds of --max-header-bytes: a browser's request head needs about a
// KiB, and every request being read holds a buffer of this size.
const (
	minHeaderBytes = 1 << 10
	maxHeaderBytes = 1 << 20
)

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
	fs.StringVar(&cfg.LogFormat, "log-format", "", "log format: json or console (default: console when stderr is a terminal, json otherwise)")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	immutableFlag(fs, &cfg.Immutable)
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", 32<<10, "largest request head accepted (larger: 431; a longer request line: 414)")
	fs.Var(&cfg.TrustProxy, "trust-proxy", "proxy addresses or CIDRs (repeatable or comma-separated) whose X-Forwarded-For names the client in access lines")
	baseFlag(fs, &cfg.Base)
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS with --tls-key (reloaded on SIGHUP)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
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
	if c.MaxHeaderBytes < minHeaderBytes || c.MaxHeaderBytes > maxHeaderBytes {
		errs = append(errs, fmt.Errorf("--max-header-bytes must be between %d and %d", minHeaderBytes, maxHeaderBytes))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both files, or neither for plain HTTP"))
	}
	if base, err := normalizeBase(c.Base); err != nil {
		errs = append(errs, err)
	} else {
		c.Base = base
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format must be json or console, not %q", c.LogFormat))
	}
	var err error
	if c.immutable, err = manifest.ParseGlobs(c.Immutable); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Cluster.validate())
	return errors.Join(errs...)
}

// immutableFlag registers --immutable GLOB: a list flag (see
// replaceable): repeatable and comma-separated
// (SKEWLESS_IMMUTABLE="/fonts/**,/**/*.wasm").
func immutableFlag(fs *flag.FlagSet, dst *[]string) {
	fs.Var(&stringList{dst: dst}, "immutable", "also cache the files matching this glob for a year (repeatable or comma-separated; ** spans folders, * stays in one; e.g. /fonts/**)")
}

// stringList is a list flag of strings, each value comma-separated.
type stringList struct {
	dst     *[]string
	replace bool
}

var _ flag.Value = (*stringList)(nil)

func (l *stringList) String() string {
	if l == nil || l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *stringList) Set(v string) error {
	if l.replace {
		*l.dst, l.replace = nil, false
	}
	for g := range strings.SplitSeq(v, ",") {
		if g = strings.TrimSpace(g); g != "" {
			*l.dst = append(*l.dst, g)
		}
	}
	return nil
}

func (l *stringList) replaceOnSet() { l.replace = true }

func buildsFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "builds", "./builds", "the builds folder: one sub-folder per build, named by its version")
}

func newFlagSet(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	usageLines.Store(name, args)
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
			if r, ok := f.Value.(replaceable); ok {
				r.replaceOnSet()
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

// replaceable is a list flag (--immutable, --trust-proxy): repeatable,
// each value comma-separated, the values adding up; values given on the
// command line replace its environment variable's, as the command line
// wins for every other flag (an operator overriding a container's
// SKEWLESS_TRUST_PROXY gets what they typed, not a merge).
type replaceable interface{ replaceOnSet() }

// prefixList is a repeatable flag of addresses and CIDRs, each value
// comma-separated: "10.0.0.0/8,127.0.0.1".
type prefixList struct {
	prefixes []netip.Prefix
	replace  bool
}

var _ flag.Value = (*prefixList)(nil)

func (l *prefixList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(l.prefixes))
	for i, p := range l.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	if l.replace {
		l.prefixes, l.replace = nil, false
	}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return err
		}
		l.prefixes = append(l.prefixes, p)
	}
	return nil
}

func (l *prefixList) replaceOnSet() { l.replace = true }

// parsePrefix parses a CIDR or a single address (as nginx's
// set_real_ip_from takes either), IPv4-mapped IPv6 as IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
