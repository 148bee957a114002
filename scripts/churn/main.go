// Command churn runs the skewless binary under continuous load on the pages
// and assets of three builds while `skewless activate` flips the current
// build, and fails on any failed request, 5xx, page that mixes builds, or
// asset a page names that does not load. scripts/churn.sh builds and runs
// it; server/churn_test.go is its short in-suite twin.
//
// The load and the checks of every response are package churncheck's:
// a page's injected data-version equals its Skewless-Version header and its
// entry script is that build's own; every script and link URL a page names
// answers 200 right after; every hashed asset of the three builds answers
// 200 with its own bytes throughout (all three stay live: --grace is an
// hour); every body is as long as its Content-Length.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skewless/skewless/server/churncheck"
)

// config is the command line.
type config struct {
	bin, fixtures, work string
	duration, flipEvery time.Duration
	grace               string
	pageWorkers         int
	assetWorkers        int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "the skewless binary (required)")
	flag.StringVar(&cfg.fixtures, "fixtures", "fixtures/builds", "folder holding the builds v1, v2 and v3")
	flag.StringVar(&cfg.work, "work", "", "scratch folder for the builds folder and the server log (default: a new temp folder)")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long the load runs")
	flag.DurationVar(&cfg.flipEvery, "flip-every", 200*time.Millisecond, "how often the current build flips (at most)")
	flag.StringVar(&cfg.grace, "grace", "1h", "the server's --grace; every build must stay live through the run (a short one shows the checks failing)")
	flag.IntVar(&cfg.pageWorkers, "page-workers", 6, "goroutines loading pages and the assets they name")
	flag.IntVar(&cfg.assetWorkers, "asset-workers", 3, "goroutines loading every hashed asset")
	flag.Parse()
	if cfg.bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "churn:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.work == "" {
		dir, err := os.MkdirTemp("", "skewless-churn-")
		if err != nil {
			return err
		}
		cfg.work = dir
	}
	fx, err := churncheck.LoadFixture(cfg.fixtures)
	if err != nil {
		return err
	}
	builds := filepath.Join(cfg.work, "builds")
	for _, v := range churncheck.Versions {
		if err := copyTree(filepath.Join(cfg.fixtures, v), filepath.Join(builds, v)); err != nil {
			return err
		}
	}
	srv, err := startServer(cfg.bin, builds, cfg.grace, filepath.Join(cfg.work, "server.log"))
	if err != nil {
		return err
	}
	defer srv.kill()

	st := &churncheck.Stats{Timestamps: true}
	stop := churncheck.StartLoad(srv.url, fx, cfg.pageWorkers, cfg.assetWorkers, st)
	start := time.Now()
	fl, flipErr := flip(cfg, srv.url, builds, start)
	stop()
	elapsed := time.Since(start)
	exitErr := srv.stop()

	printSummary(os.Stdout, st, elapsed, fl)
	switch {
	case flipErr != nil:
		return flipErr
	case exitErr != nil:
		return fmt.Errorf("server: %w", exitErr)
	case srv.errors.Load() > 0:
		return fmt.Errorf("the server logged %d errors (see %s)", srv.errors.Load(), filepath.Join(cfg.work, "server.log"))
	case st.Failed() > 0:
		return fmt.Errorf("%d bad answers", st.Failed())
	case fl.count == 0:
		return errors.New("no flips")
	}
	return nil
}

// flips is what the flipper did.
type flips struct {
	count             int
	follow            []time.Duration // from `activate` exiting to the server serving it
	slowestActivation time.Duration
}

// flip runs `skewless activate` on a beat until the duration is over and
// waits, after each, for the server to follow ("within a second").
func flip(cfg config, base, builds string, start time.Time) (flips, error) {
	var fl flips
	beat := time.NewTicker(cfg.flipEvery)
	defer beat.Stop()
	cur, err := versionOf(base)
	if err != nil {
		return fl, err
	}
	for i := 0; time.Since(start) < cfg.duration; i++ {
		next := churncheck.FlipOrder[i%len(churncheck.FlipOrder)]
		if next == cur {
			continue
		}
		issued := time.Now()
		out, err := exec.Command(cfg.bin, "activate", next, "--builds", builds).CombinedOutput()
		if err != nil {
			return fl, fmt.Errorf("activate %s: %v\n%s", next, err, out)
		}
		done := time.Now()
		fl.slowestActivation = max(fl.slowestActivation, done.Sub(issued))
		for {
			v, err := versionOf(base)
			if err != nil {
				return fl, err
			}
			if v == next {
				break
			}
			if time.Since(done) > 2*time.Second {
				return fl, fmt.Errorf("the server still serves %s 2s after `activate %s`", v, next)
			}
			time.Sleep(5 * time.Millisecond)
		}
		fl.follow = append(fl.follow, time.Since(done))
		fl.count++
		cur = next
		<-beat.C
	}
	return fl, nil
}

var probe = &http.Client{Timeout: 5 * time.Second}

func versionOf(base string) (string, error) {
	resp, err := probe.Head(base + "/")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Skewless-Version"), nil
}

// server is the skewless process.
type server struct {
	cmd    *exec.Cmd
	url    string
	errors atomic.Int64 // error-level log lines, panics, data races
	logged chan struct{}
}

// startServer runs `skewless serve` on a free loopback port, copies its log
// to logPath and counts the errors in it.
func startServer(bin, builds, grace, logPath string) (*server, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "", "--builds", builds, "--grace", grace)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, logged: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(s.logged)
		defer log.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			fmt.Fprintf(log, "%s\n", line)
			var entry struct{ Level, Msg, Addr string }
			if json.Unmarshal(line, &entry) != nil {
				if strings.Contains(string(line), "panic") || strings.Contains(string(line), "DATA RACE") {
					s.errors.Add(1)
				}
				continue
			}
			switch {
			case entry.Msg == "listening":
				addr <- entry.Addr
			case entry.Level == "error" || entry.Level == "dpanic" || entry.Level == "panic" || entry.Level == "fatal":
				s.errors.Add(1)
			}
		}
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
		return s, nil
	case <-time.After(15 * time.Second):
		s.kill()
		return nil, fmt.Errorf("the server did not log its address within 15s (see %s)", logPath)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case err := <-exited:
		<-s.logged
		return err
	case <-time.After(10 * time.Second):
		return errors.New("still running 10s after SIGTERM")
	}
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
	}
}

// copyTree copies a build folder, keeping modification times.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
}

// percentile returns the p-th percentile of ds (which it sorts).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[int(float64(len(ds)-1)*p)]
}

// printSummary prints the first problems, then one line: the flips, the
// load, and the bad answers of each kind.
func printSummary(w io.Writer, s *churncheck.Stats, elapsed time.Duration, fl flips) {
	for _, p := range s.Problems() {
		fmt.Fprintln(w, "  ", p)
	}
	fmt.Fprintf(w, "churn: %s, %d flips (server following: p50 %s, max %s; slowest activate %s), "+
		"%d requests (%.0f/s; %d pages %v, %d hashed assets): %d failed requests, %d 5xx, %d mixed pages, %d unservable assets, %d other bad answers\n",
		elapsed.Round(time.Millisecond), fl.count, percentile(fl.follow, 0.5).Round(time.Millisecond),
		percentile(fl.follow, 1).Round(time.Millisecond), fl.slowestActivation.Round(time.Millisecond),
		s.Requests.Load(), float64(s.Requests.Load())/elapsed.Seconds(), s.Pages.Load(), s.Seen(), s.Assets.Load(),
		s.Transport.Load(), s.ServerErr.Load(), s.Mixed.Load(), s.Missing.Load(), s.Wrong.Load())
}
