//go:build linux

// Command fanout measures how fast a running skewless tells N open event
// streams of a deploy, and what an open stream costs the server in memory.
// scripts/fanout.sh builds and starts the server on loopback and runs it.
//
// It opens the streams over raw TCP (one goroutine and two small buffers
// each), reads the server's memory before, halfway and after, then deploys
// (a staged folder renamed into the builds folder, later `skewless
// activate`) and records, per stream, when the kernel received the new
// version on its socket (SO_TIMESTAMPNS: the server's delivery, free of
// this client's own scheduling delays) and when this client read it, and
// when GET / first answered with it. Fan-out is activation → last stream.
// Linux only: it reads /proc and kernel receive times.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Targets from the issue.
const (
	targetFanout    = 250 * time.Millisecond
	targetPerStream = 20 << 10 // bytes of server RSS per open stream
)

type config struct {
	addr, metrics, builds, fixtures, bin string
	pid, streams, rounds, dialers        int
	deadline, roundTimeout               time.Duration
	strict                               bool
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8080", "the server's listener (loopback)")
	flag.StringVar(&c.metrics, "metrics", "127.0.0.1:9180", "the server's metrics listener")
	flag.IntVar(&c.pid, "pid", 0, "the server's process id (for /proc/PID/status)")
	flag.StringVar(&c.builds, "builds", "", "the server's builds folder (deploys go there)")
	flag.StringVar(&c.fixtures, "fixtures", "fixtures/builds", "where builds v1, v2, v3 are")
	flag.StringVar(&c.bin, "bin", "skewless", "the skewless binary (for `activate`)")
	flag.IntVar(&c.streams, "streams", 10000, "event streams to open")
	flag.IntVar(&c.rounds, "rounds", 3, "deploys: v2, v3 renamed into place, then `activate` v1, v2, v3, ...")
	flag.IntVar(&c.dialers, "dialers", 200, "streams being opened at once")
	flag.DurationVar(&c.deadline, "deadline", 120*time.Second, "give up (printing what was measured) after this")
	flag.DurationVar(&c.roundTimeout, "round-timeout", 10*time.Second, "give up on one deploy after this")
	flag.BoolVar(&c.strict, "strict", false, "exit 1 when a target is missed")
	freePorts := flag.Int("free-ports", 0, "print this many free loopback ports and exit")
	flag.Parse()
	if *freePorts > 0 {
		printFreePorts(*freePorts)
		return
	}
	if c.pid == 0 || c.builds == "" || c.streams < 2 {
		fmt.Fprintln(os.Stderr, "fanout: -pid, -builds and -streams ≥ 2 are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	defer cancel()
	b := newBench(c)
	err := b.run(ctx)
	miss := b.report(os.Stdout)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "fanout: %v\n", err)
		os.Exit(1)
	case miss && c.strict:
		os.Exit(1)
	}
}

// printFreePorts lets the script pick ports for the server.
func printFreePorts(n int) {
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanout:", err)
			os.Exit(1)
		}
		defer ln.Close()
		ports = append(ports, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	}
	fmt.Println(strings.Join(ports, " "))
}

// bench is one measurement: its streams, rounds and memory readings.
type bench struct {
	cfg     config
	t0      time.Time
	cur     atomic.Pointer[round] // the version the streams report to
	dead    []atomic.Bool         // stream i has ended (or never opened)
	conns   sync.Map              // i → net.Conn, closed at the end
	opened  time.Duration
	mem     []memReading // idle, half open, all open, after the deploys
	results []roundResult
	loads   []string
	http    *http.Client
}

func newBench(c config) *bench {
	return &bench{cfg: c, t0: time.Now(), dead: make([]atomic.Bool, c.streams),
		http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}}
}

// now is the monotonic time since the start in nanoseconds (never 0).
func (b *bench) now() int64 { return int64(time.Since(b.t0)) + 1 }

// fromWall converts a kernel (CLOCK_REALTIME) time to b.now's scale.
func (b *bench) fromWall(ns int64) int64 { return ns - b.t0.UnixNano() + 1 }

func (b *bench) run(ctx context.Context) error {
	defer b.closeAll()
	b.loads = append(b.loads, loadavg())
	cur, err := b.currentVersion(ctx)
	if err != nil {
		return err
	}
	// The idle reading holds the garbage of loading the build, which the
	// first streams may reuse: the second half shows what one more costs.
	b.mem = append(b.mem, b.readMemory(ctx, "idle"))
	half := b.cfg.streams / 2
	for _, part := range [][2]int{{0, half}, {half, b.cfg.streams}} {
		if err := b.open(ctx, cur, part[0], part[1]); err != nil {
			return err
		}
		if err := sleep(ctx, time.Second); err != nil { // let the server settle
			return err
		}
		b.mem = append(b.mem, b.readMemory(ctx, fmt.Sprintf("%d open", part[1])))
	}
	for k := 1; k <= b.cfg.rounds; k++ {
		if err := sleep(ctx, 1500*time.Millisecond); err != nil { // quiet between deploys
			return err
		}
		res, err := b.deployRound(ctx, k)
		b.results = append(b.results, res)
		if err != nil {
			return err
		}
	}
	b.mem = append(b.mem, b.readMemory(ctx, "after deploys"))
	b.loads = append(b.loads, loadavg())
	return nil
}

// open opens streams [from, to), at most cfg.dialers at a time, and waits
// until each has received the current version.
func (b *bench) open(ctx context.Context, version string, from, to int) error {
	r := b.newRound(version, from, to)
	start := time.Now()
	sem := make(chan struct{}, b.cfg.dialers)
	var failed atomic.Int64
	var firstErr atomic.Value
	for i := from; i < to; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("opening streams: %w", ctx.Err())
		}
		go func() {
			if err := b.stream(ctx, i, sem); err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		}()
	}
	if err := b.wait(ctx, r, b.cfg.roundTimeout+time.Duration(to-from)*time.Millisecond); err != nil {
		return fmt.Errorf("%d of %d streams never got %s (%d failed, first: %v): %w",
			r.left.Load(), to-from, version, failed.Load(), firstErr.Load(), err)
	}
	b.opened += time.Since(start)
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d streams failed, first: %v", n, firstErr.Load())
	}
	return nil
}

// stream opens stream i and reads it until it ends. It frees its slot in
// sem once the response headers are in (or it failed).
func (b *bench) stream(ctx context.Context, i int, sem <-chan struct{}) error {
	var once sync.Once
	release := func() { once.Do(func() { <-sem }) }
	defer func() { release(); b.ended(i) }()
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", b.cfg.addr)
	if err != nil {
		return err
	}
	b.conns.Store(i, conn)
	defer conn.Close()
	sr, err := newStampReader(conn.(*net.TCPConn), b)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "GET /_skewless/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", b.cfg.addr); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(sr, 512), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("stream %d: %s, Content-Type %q", i, resp.Status, resp.Header.Get("Content-Type"))
	}
	release()
	return b.readEvents(i, bufio.NewReaderSize(resp.Body, 256), sr)
}

// readEvents is a minimal SSE parser: it only cares for `event: version`
// and the version in its data.
func (b *bench) readEvents(i int, r *bufio.Reader, sr *stampReader) error {
	isVersion, version := false, ""
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = trimEOL(line)
		switch {
		case len(line) == 0: // dispatch
			if rd := b.cur.Load(); isVersion && rd != nil && rd.version == version {
				rd.mark(i, b.now(), sr.last)
			}
			isVersion, version = false, ""
		case string(line) == "event: version":
			isVersion = true
		case len(line) > 6 && string(line[:6]) == "data: ":
			version = dataVersion(string(line[6:]))
		}
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// dataVersion picks the version out of `{"version": "v2"}`.
func dataVersion(data string) string {
	_, rest, _ := strings.Cut(data, `"version":`)
	rest, ok := strings.CutPrefix(strings.TrimLeft(rest, " "), `"`)
	v, _, closed := strings.Cut(rest, `"`)
	if !ok || !closed {
		return ""
	}
	return v
}

// stampReader reads a TCP connection with recvmsg and keeps the kernel's
// receive time of the latest data read (SO_TIMESTAMPNS).
type stampReader struct {
	rc   syscall.RawConn
	b    *bench
	oob  [64]byte
	last int64 // b.now scale; 0 when the kernel gave none
}

func newStampReader(c *net.TCPConn, b *bench) (*stampReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	return &stampReader{rc: rc, b: b}, serr
}

func (s *stampReader) Read(p []byte) (int, error) {
	var n, oobn int
	var err error
	if rerr := s.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, err = syscall.Recvmsg(int(fd), p, s.oob[:], 0)
		return err != syscall.EAGAIN
	}); rerr != nil {
		return 0, rerr
	}
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	msgs, _ := syscall.ParseSocketControlMessage(s.oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS &&
			len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			s.last = s.b.fromWall((*syscall.Timespec)(unsafe.Pointer(&m.Data[0])).Nano())
		}
	}
	return n, nil
}

// ended marks stream i gone, so rounds stop waiting for it.
func (b *bench) ended(i int) {
	if !b.dead[i].Swap(true) {
		if rd := b.cur.Load(); rd != nil {
			rd.lose(i)
		}
	}
}

func (b *bench) closeAll() {
	b.conns.Range(func(_, c any) bool { c.(net.Conn).Close(); return true })
}

// wait waits until every live stream reported r, or timeout.
func (b *bench) wait(ctx context.Context, r *round, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return nil
	case <-t.C:
		return fmt.Errorf("timed out after %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deployRound makes another build current and measures who learns of it
// when.
func (b *bench) deployRound(ctx context.Context, k int) (roundResult, error) {
	version, how := plan(k)
	res := roundResult{round: k, version: version, how: how}
	stage := filepath.Join(b.cfg.builds, "_stage") // `_` names are not builds
	if how == "rename" {
		if err := copyTree(ctx, filepath.Join(b.cfg.fixtures, version), stage); err != nil {
			return res, err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
	r := b.newRound(version, 0, b.cfg.streams)
	cpu0, self0 := procCPU(b.cfg.pid), procCPU(os.Getpid())
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	seen := make(chan int64, 1)
	go b.pollActivation(pollCtx, version, seen)
	r.start = b.now()
	var err error
	if how == "rename" {
		err = os.Rename(stage, filepath.Join(b.cfg.builds, version))
	} else {
		err = runQuiet(ctx, b.cfg.bin, "activate", version, "--builds", b.cfg.builds)
	}
	if err != nil {
		return res, fmt.Errorf("round %d (%s %s): %w", k, how, version, err)
	}
	werr := b.wait(ctx, r, b.cfg.roundTimeout)
	res.serverCPU, res.clientCPU = procCPU(b.cfg.pid)-cpu0, procCPU(os.Getpid())-self0
	var polled int64
	select { // the poll may be a request behind the streams
	case polled = <-seen:
	case <-time.After(2 * time.Second):
		stopPoll()
		polled = <-seen
	}
	res.fill(r, polled)
	if werr != nil {
		return res, fmt.Errorf("round %d (%s %s): %d streams never got it: %w", k, how, version, res.missing, werr)
	}
	return res, nil
}

// plan: v2 and v3 are dropped into the builds folder; later rounds roll
// between the three with `skewless activate`.
func plan(k int) (version, how string) {
	versions := []string{"v1", "v2", "v3"}
	if k <= 2 {
		return versions[k], "rename"
	}
	return versions[(k-3)%3], "activate"
}

// pollActivation asks GET / every millisecond until it answers with
// version, and sends the time it first did (0 if never).
func (b *bench) pollActivation(ctx context.Context, version string, seen chan<- int64) {
	at := int64(0)
	defer func() { seen <- at }()
	url := "http://" + b.cfg.addr + "/"
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := b.http.Do(req); err == nil {
			now := b.now()
			_, _ = io.Copy(io.Discard, resp.Body) // keep the connection
			resp.Body.Close()
			if resp.Header.Get("Skewless-Version") == version {
				at = now
				return
			}
		}
		_ = sleep(ctx, time.Millisecond)
	}
}

func runQuiet(ctx context.Context, bin string, args ...string) error {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, out)
	}
	return nil
}

// copyTree copies a build folder, keeping modification times (a build's
// .br/.gz siblings must not look older than their sources).
func copyTree(ctx context.Context, src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return runQuiet(ctx, "cp", "-a", src, dst)
}

// currentVersion waits (bounded by ctx) until the server is healthy and
// returns its current version.
func (b *bench) currentVersion(ctx context.Context) (string, error) {
	for {
		if resp, err := b.http.Get("http://" + b.cfg.addr + "/_skewless/health"); err == nil {
			resp.Body.Close()
			if v := resp.Header.Get("Skewless-Version"); resp.StatusCode == http.StatusOK && v != "" {
				return v, nil
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", fmt.Errorf("the server is not healthy: %w", err)
		}
	}
}

// round is one version every open stream must receive.
type round struct {
	version string
	start   int64          // when the deploy began (b.now scale)
	read    []atomic.Int64 // when stream i read it; 0 not yet, -1 never will
	stamp   []atomic.Int64 // when the kernel received it (0: unknown)
	left    atomic.Int64
	done    chan struct{}
}

// newRound makes r the round streams report to, waiting for the live
// streams among [from, to).
func (b *bench) newRound(version string, from, to int) *round {
	n := b.cfg.streams
	r := &round{version: version, read: make([]atomic.Int64, n), stamp: make([]atomic.Int64, n), done: make(chan struct{})}
	left := int64(n)
	for i := range b.dead {
		if i < from || i >= to || b.dead[i].Load() {
			r.read[i].Store(-1)
			left--
		}
	}
	r.left.Store(left)
	if left == 0 {
		close(r.done)
	}
	b.cur.Store(r)
	return r
}

func (r *round) mark(i int, read, stamp int64) {
	if r.read[i].CompareAndSwap(0, read) {
		r.stamp[i].Store(stamp)
		r.arrived()
	}
}

func (r *round) lose(i int) {
	if r.read[i].CompareAndSwap(0, -1) {
		r.arrived()
	}
}

func (r *round) arrived() {
	if r.left.Add(-1) == 0 {
		close(r.done)
	}
}

// roundResult is what one deploy measured. Times are from the deploy (the
// rename, or `activate` started); fan-outs from the activation.
type roundResult struct {
	round                int
	version, how         string
	missing              int
	polled, activation   time.Duration // GET / answered it; min(polled, first stream)
	lastRead, lastStamp  time.Duration
	fanRead, fanStamp    []time.Duration // sorted
	serverCPU, clientCPU time.Duration
}

func (res *roundResult) fill(r *round, polled int64) {
	rel := func(t int64) time.Duration { return time.Duration(t - r.start) }
	if polled > 0 {
		res.polled = rel(polled)
	}
	act := polled
	for i := range r.read {
		for _, t := range []int64{r.read[i].Load(), r.stamp[i].Load()} {
			if t > 0 && (act <= 0 || t < act) {
				act = t
			}
		}
	}
	res.activation = rel(act)
	for i := range r.read {
		t, s := r.read[i].Load(), r.stamp[i].Load()
		if t <= 0 {
			res.missing++
			continue
		}
		res.fanRead = append(res.fanRead, time.Duration(t-act))
		res.lastRead = max(res.lastRead, rel(t))
		if s > 0 {
			res.fanStamp = append(res.fanStamp, time.Duration(s-act))
			res.lastStamp = max(res.lastStamp, rel(s))
		}
	}
	slices.Sort(res.fanRead)
	slices.Sort(res.fanStamp)
}

// fanout is the fan-out the target applies to: until the last stream's
// socket had the event (until it was read, without kernel times).
func (res *roundResult) fanout() []time.Duration {
	if len(res.fanStamp) == len(res.fanRead) {
		return res.fanStamp
	}
	return res.fanRead
}

// memReading is the server's memory at one moment.
type memReading struct {
	label string
	vmRSS float64
	prom  map[string]float64
}

const (
	promRSS        = "process_resident_memory_bytes"
	promHeap       = "go_memstats_heap_inuse_bytes"
	promStack      = "go_memstats_stack_inuse_bytes"
	promGoroutines = "go_goroutines"
	promStreams    = "skewless_event_streams"
)

func (b *bench) readMemory(ctx context.Context, label string) memReading {
	m := memReading{label: label, vmRSS: vmRSS(b.cfg.pid), prom: map[string]float64{}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.cfg.metrics+"/metrics", nil)
	resp, err := b.http.Do(req)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		switch name {
		case promRSS, promHeap, promStack, promGoroutines, promStreams:
			var v float64
			if _, err := fmt.Sscan(value, &v); err == nil {
				m.prom[name] = v
			}
		}
	}
	return m
}

// vmRSS reads VmRSS (in bytes) from /proc/PID/status.
func vmRSS(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			_, _ = fmt.Sscan(rest, &kb)
			return kb * 1024
		}
	}
	return 0
}

// procCPU is the user+system CPU time of a process (in 10 ms clock ticks).
func procCPU(pid int) time.Duration {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	var user, sys int64
	_, _ = fmt.Sscan(fields[11], &user)
	_, _ = fmt.Sscan(fields[12], &sys)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func kib(bytes float64) string  { return fmt.Sprintf("%.1f KiB", bytes/1024) }
func mib(bytes float64) string  { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// spread is "p50/p99/max" of sorted durations, in ms.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	pct := func(p float64) time.Duration { return d[min(max(int(p*float64(len(d))+0.5)-1, 0), len(d)-1)] }
	return ms(pct(.5)) + "/" + ms(pct(.99)) + "/" + ms(d[len(d)-1])
}

// report prints what was measured and says whether a target was missed.
func (b *bench) report(w io.Writer) (miss bool) {
	fmt.Fprintf(w, "\nskewless fan-out: %d streams to %s, opened in %v; load average %s\n",
		b.cfg.streams, b.cfg.addr, b.opened.Round(time.Millisecond), strings.Join(b.loads, " → "))
	perStream := b.reportMemory(w)
	worst := b.reportRounds(w)
	rssOK := perStream > 0 && perStream <= targetPerStream
	fanOK := worst != nil && len(b.results) == b.cfg.rounds
	for _, r := range b.results {
		f := r.fanout()
		fanOK = fanOK && r.missing == 0 && len(f) > 0 && f[len(f)-1] <= targetFanout
	}
	fan, act := "-", "-"
	if worst != nil {
		fan, act = spread(worst.fanout()), ms(worst.activation)+" ("+worst.how+")"
	}
	fmt.Fprintf(w, "\n%-8s %-11s %-24s %-21s %s\n", "streams", "RSS/stream", "fan-out p50/p99/max ms", "deploy→activation ms", "targets")
	fmt.Fprintf(w, "%-8d %-11s %-24s %-21s fan-out ≤ %v: %s, RSS/stream ≤ %s: %s\n", b.cfg.streams, kib(perStream),
		fan, act, targetFanout, verdict(fanOK), kib(targetPerStream), verdict(rssOK))
	return !rssOK || !fanOK
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// reportMemory prints the readings and returns the server's VmRSS per
// stream: the larger of (all − idle)/N and (all − half)/(N − N/2), as the
// idle reading may hold garbage the first streams reused.
func (b *bench) reportMemory(w io.Writer) float64 {
	fmt.Fprintf(w, "\n%-14s %10s %10s %11s %11s %10s %8s\n", "server memory", "VmRSS", "RSS(prom)", "heap_inuse", "stack_inuse", "goroutines", "streams")
	for _, m := range b.mem {
		fmt.Fprintf(w, "%-14s %10s %10s %11s %11s %10.0f %8.0f\n", m.label, mib(m.vmRSS), mib(m.prom[promRSS]),
			mib(m.prom[promHeap]), mib(m.prom[promStack]), m.prom[promGoroutines], m.prom[promStreams])
	}
	if len(b.mem) < 3 {
		return 0
	}
	all, perStream := b.mem[2], 0.0
	for _, from := range []struct {
		m memReading
		n int
	}{{b.mem[0], b.cfg.streams}, {b.mem[1], b.cfg.streams - b.cfg.streams/2}} {
		n := float64(from.n)
		d := func(name string) float64 { return (all.prom[name] - from.m.prom[name]) / n }
		rss := (all.vmRSS - from.m.vmRSS) / n
		fmt.Fprintf(w, "per stream, the last %d: VmRSS %s, heap_inuse %s, stack_inuse %s, goroutines %.2f\n",
			from.n, kib(rss), kib(d(promHeap)), kib(d(promStack)), d(promGoroutines))
		perStream = max(perStream, rss)
	}
	return perStream
}

// reportRounds prints one line per deploy and returns the slowest.
func (b *bench) reportRounds(w io.Writer) (worst *roundResult) {
	fmt.Fprintf(w, "\n%-5s %-12s %8s %8s %9s %9s | %-22s %8s %7s %8s %8s\n", "round", "deploy", "→GET /", "→active",
		"→last rcv", "→last read", "fan-out p50/p99/max", "read max", "missing", "srv CPU", "cli CPU")
	for i := range b.results {
		r := &b.results[i]
		if f := r.fanout(); len(f) > 0 && (worst == nil || f[len(f)-1] > worst.fanout()[len(worst.fanout())-1]) {
			worst = r
		}
		readMax := "-"
		if len(r.fanRead) > 0 {
			readMax = ms(r.fanRead[len(r.fanRead)-1])
		}
		fmt.Fprintf(w, "%-5d %-12s %8s %8s %9s %9s | %-22s %8s %7d %8s %8s\n", r.round, r.how+" "+r.version,
			ms(r.polled), ms(r.activation), ms(r.lastStamp), ms(r.lastRead), spread(r.fanout()), readMax,
			r.missing, ms(r.serverCPU), ms(r.clientCPU))
	}
	fmt.Fprintln(w, "(ms from the deploy; active: the first sign of the new build (GET / or a stream); fan-out: active →")
	fmt.Fprintln(w, " the kernel received it on each stream's socket; read max: → this client read it; CPU: whole round)")
	return worst
}
