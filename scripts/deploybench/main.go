// Command deploybench measures the deploy path of the skewless binary on
// generated builds of realistic size (issue 10's benchmarks):
//
//   - drop: a build of -files small JavaScript files (-bytes in all) is
//     renamed into the builds folder of a running server; it measures the
//     time until the first response that carries its version, that time
//     less --settle, the load time the server logs, and the server's RSS
//     before and after;
//   - rollback: the same build is dropped and, while it loads, the live
//     build is activated; it measures how soon the server follows, and
//     says which build is current once the large one has loaded;
//   - restart: a server with two live builds of -restart-mib MiB each is
//     stopped and started again; it measures the time until the port
//     accepts connections, until /_skewless/health answers 200 (the
//     current build serves) and until both builds are loaded.
//
// With -gen DIR it only writes one generated build into DIR.
// scripts/deploy-bench.sh builds the binary and runs it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	bin, work, gen, only string
	files                int
	bytes                int64
	restartMiB           int
	settle               time.Duration
	seed                 uint64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "the skewless binary (required unless -gen)")
	flag.StringVar(&cfg.work, "work", "", "scratch folder (default: a new temp folder)")
	flag.StringVar(&cfg.gen, "gen", "", "only write one generated build (-files, -bytes, -seed) into this folder")
	flag.StringVar(&cfg.only, "only", "", "run one measurement: drop, rollback or restart (default: all)")
	flag.IntVar(&cfg.files, "files", 20000, "files in the dropped build")
	flag.Int64Var(&cfg.bytes, "bytes", 42_000_000, "bytes in the dropped build")
	flag.IntVar(&cfg.restartMiB, "restart-mib", 64, "size of each of the two builds of the restart measurement, MiB")
	flag.DurationVar(&cfg.settle, "settle", 300*time.Millisecond, "the server's --settle")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated content")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "deploybench:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.gen != "" {
		n, err := genBuild(cfg.gen, cfg.files, cfg.bytes, cfg.seed)
		fmt.Printf("wrote %d files, %d bytes into %s\n", cfg.files+1, n, cfg.gen)
		return err
	}
	if cfg.bin == "" {
		return errors.New("-bin is required")
	}
	if cfg.work == "" {
		dir, err := os.MkdirTemp("", "skewless-deploybench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.work = dir
	}
	if cfg.only == "" || cfg.only == "drop" {
		if err := measureDrop(cfg); err != nil {
			return fmt.Errorf("drop: %w", err)
		}
	}
	if cfg.only == "" || cfg.only == "rollback" {
		if err := measureRollback(cfg); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	if cfg.only == "" || cfg.only == "restart" {
		if err := measureRestart(cfg); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	return nil
}

func measureDrop(cfg config) error {
	builds := filepath.Join(cfg.work, "drop")
	if _, err := genBuild(filepath.Join(builds, "base"), 50, 100_000, cfg.seed+100); err != nil {
		return err
	}
	srv, err := startServer(cfg, builds, "")
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.waitLog("serving|activated", "base", 60*time.Second); err != nil {
		return err
	}
	stage := filepath.Join(builds, "_stage-big")
	n, err := genBuild(stage, cfg.files, cfg.bytes, cfg.seed)
	if err != nil {
		return err
	}
	rssBefore := rssKiB(srv.cmd.Process.Pid)
	start := time.Now()
	if err := os.Rename(stage, filepath.Join(builds, "big")); err != nil {
		return err
	}
	if err := srv.waitVersion("big", 30*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	rssAfter := rssKiB(srv.cmd.Process.Pid)
	time.Sleep(3 * time.Second)
	fmt.Printf("drop of a %d-file, %.1f MB build: current after %s (%s after the %s settle); load %s (server log)\n",
		cfg.files+1, float64(n)/1e6, took.Round(time.Millisecond), (took - cfg.settle).Round(time.Millisecond), cfg.settle, srv.loadTook("big"))
	fmt.Printf("  server RSS: %d MiB before, %d MiB once current, %d MiB 3s later\n", rssBefore>>10, rssAfter>>10, rssKiB(srv.cmd.Process.Pid)>>10)
	return nil
}

// measureRollback drops the large build and, while it loads, activates
// the live build: the rollback must be followed at once, and the large
// build must end ready, not current.
func measureRollback(cfg config) error {
	builds := filepath.Join(cfg.work, "rollback")
	for i, v := range []string{"base1", "base2"} {
		if _, err := genBuild(filepath.Join(builds, v), 50, 100_000, cfg.seed+uint64(200+i)); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond) // base2 is newer: current at start, base1 live
	}
	srv, err := startServer(cfg, builds, "")
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.waitVersion("base2", time.Minute); err != nil {
		return err
	}
	stage := filepath.Join(builds, "_stage-big")
	if _, err := genBuild(stage, cfg.files, cfg.bytes, cfg.seed); err != nil {
		return err
	}
	if err := os.Rename(stage, filepath.Join(builds, "big")); err != nil {
		return err
	}
	time.Sleep(cfg.settle + 2*time.Second) // the load is under way
	if srv.count("build loaded") > 2 {
		return errors.New("the large build loaded before the rollback: use more -files")
	}
	start := time.Now()
	out, err := exec.Command(cfg.bin, "activate", "base1", "--builds", builds).CombinedOutput()
	if err != nil {
		return fmt.Errorf("activate: %v: %s", err, out)
	}
	followed := "never"
	if err := srv.waitVersion("base1", 30*time.Minute, "big"); err == nil {
		followed = time.Since(start).Round(time.Millisecond).String()
	}
	if err := srv.waitLog("build loaded", "big", 30*time.Minute); err != nil {
		return err
	}
	time.Sleep(time.Second)
	resp, err := http.Head(srv.base + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("rollback during the load of the %d-file build: followed after %s (activate command included); "+
		"the large build loaded in %s and then: current is %s\n", cfg.files+1, followed,
		srv.loadTook("big"), resp.Header.Get("Skewless-Version"))
	return nil
}

func measureRestart(cfg config) error {
	builds := filepath.Join(cfg.work, "restart")
	for i, v := range []string{"r1", "r2"} {
		files := cfg.restartMiB
		if _, err := genBuild(filepath.Join(builds, v), files, int64(cfg.restartMiB)<<20, cfg.seed+uint64(10+i)); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond) // r2 is the newer folder: current on the first start
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	first, err := timeStart(cfg, builds, port, 2)
	if err != nil {
		return err
	}
	fmt.Printf("first start, two %d MiB builds: %s\n", cfg.restartMiB, first)
	again, err := timeStart(cfg, builds, port, 2)
	if err != nil {
		return err
	}
	fmt.Printf("restart, two live %d MiB builds: %s\n", cfg.restartMiB, again)
	return nil
}

// startTimes are the moments of a start that matter.
type startTimes struct{ portOpen, healthy, allLoaded time.Duration }

func (s startTimes) String() string {
	return fmt.Sprintf("port open %s, current serving (health 200) %s, both loaded %s",
		s.portOpen.Round(time.Millisecond), s.healthy.Round(time.Millisecond), s.allLoaded.Round(time.Millisecond))
}

// timeStart starts the server on port, times it, and stops it.
func timeStart(cfg config, builds, port string, loads int) (startTimes, error) {
	var t startTimes
	start := time.Now()
	srv, err := startServer(cfg, builds, "127.0.0.1:"+port)
	if err != nil {
		return t, err
	}
	defer srv.stop()
	for {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond); err == nil {
			c.Close()
			t.portOpen = time.Since(start)
			break
		}
		if time.Since(start) > time.Minute {
			return t, errors.New("the port did not open within a minute")
		}
		time.Sleep(2 * time.Millisecond)
	}
	for {
		if resp, err := http.Get("http://127.0.0.1:" + port + "/_skewless/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.healthy = time.Since(start)
				break
			}
		}
		if time.Since(start) > 30*time.Minute {
			return t, errors.New("not healthy within 30 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for srv.count("build loaded") < loads {
		if time.Since(start) > 30*time.Minute {
			return t, errors.New("the builds did not load within 30 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.allLoaded = time.Since(start)
	return t, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// server is a running skewless process and its JSON log.
type server struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	logs []map[string]any
	addr chan string
	done chan struct{}
}

func startServer(cfg config, builds, addr string) (*server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s := &server{addr: make(chan string, 1), done: make(chan struct{})}
	s.cmd = exec.Command(cfg.bin, "serve", "--builds", builds, "--addr", addr, "--metrics-addr", "",
		"--settle", cfg.settle.String(), "--log-format", "json")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go s.read(stderr)
	select {
	case a := <-s.addr:
		s.base = "http://" + a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("the server exited: %v", s.logs)
	case <-time.After(30 * time.Minute): // a server that loads every build before it listens
		s.stop()
		return nil, errors.New("the server did not listen within 30 minutes")
	}
}

func (s *server) read(r io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		s.mu.Lock()
		s.logs = append(s.logs, e)
		s.mu.Unlock()
		if e["msg"] == "listening" {
			select {
			case s.addr <- fmt.Sprint(e["addr"]):
			default:
			}
		}
	}
}

// count is how many log lines have message msg.
func (s *server) count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.logs {
		if e["msg"] == msg {
			n++
		}
	}
	return n
}

// waitLog waits for a log line with one of the messages (a|b) for version.
func (s *server) waitLog(msgs, version string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, e := range s.logs {
			if strings.Contains("|"+msgs+"|", "|"+fmt.Sprint(e["msg"])+"|") && e["version"] == version {
				s.mu.Unlock()
				return nil
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no %q line for %s within %s", msgs, version, within)
}

// loadTook is what the server logged as the load time of version.
func (s *server) loadTook(version string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.logs {
		if e["msg"] == "build loaded" && e["version"] == version {
			if f, ok := e["took"].(float64); ok {
				return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
			}
		}
	}
	return "?"
}

// waitVersion polls / until it carries Skewless-Version v; it gives up
// early when it carries one of the versions in not.
func (s *server) waitVersion(v string, within time.Duration, not ...string) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Head(s.base + "/"); err == nil {
			resp.Body.Close()
			switch got := resp.Header.Get("Skewless-Version"); {
			case got == v:
				return nil
			case slices.Contains(not, got):
				return fmt.Errorf("%s is current, not %s", got, v)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s not current within %s", v, within)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = s.cmd.Wait()
}

// rssKiB is the resident set of process pid, in KiB.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
