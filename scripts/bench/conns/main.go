//go:build linux

// Command conns measures what an open connection costs a running skewless
// in memory: it opens N connections over raw TCP, each sending one request
// and reading its answer, keeps them open, and reports the growth of the
// server's VmRSS per connection. scripts/bench/memory.sh runs it.
//
//	-mode idle    keep-alive connections idle after one asset request
//	-mode stream  event streams (idle after their first event)
//
// -cookie N adds a Cookie field of N bytes to every request, so a head
// larger than a small read buffer shows what it costs afterwards.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the server (loopback)")
	pid := flag.Int("pid", 0, "the server's process id (for /proc/PID/status)")
	n := flag.Int("conns", 5000, "connections to open")
	mode := flag.String("mode", "idle", "idle (keep-alive connections after one request) or stream (event streams)")
	path := flag.String("path", "/assets/about-Br9WxIf2.js", "what an idle connection asks for first")
	cookie := flag.Int("cookie", 0, "bytes of Cookie field in every request head")
	settle := flag.Duration("settle", 3*time.Second, "wait this long before each reading")
	flag.Parse()
	if *pid == 0 || (*mode != "idle" && *mode != "stream") {
		fmt.Fprintln(os.Stderr, "conns: -pid is required; -mode is idle or stream")
		os.Exit(2)
	}
	target := *path
	if *mode == "stream" {
		target = "/_skewless/events"
	}
	head := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: conns\r\n"
	if *cookie > 0 {
		head += "Cookie: c=" + strings.Repeat("x", *cookie-2) + "\r\n"
	}
	head += "\r\n"

	time.Sleep(*settle)
	before := vmRSS(*pid)
	conns, err := open(*addr, head, *n, *mode == "stream")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conns:", err)
		os.Exit(1)
	}
	time.Sleep(*settle)
	after := vmRSS(*pid)
	fmt.Printf("%s: %d connections (request head %d bytes): VmRSS %.1f → %.1f MiB, %.1f KiB per connection\n",
		*mode, len(conns), len(head), before/(1<<20), after/(1<<20), (after-before)/float64(len(conns))/1024)
	for _, c := range conns {
		c.Close()
	}
}

// open dials n connections, 100 at a time, and reads each one's answer
// (for a stream: up to its first event).
func open(addr, head string, n int, stream bool) ([]net.Conn, error) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 100)
	)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial(addr, head, stream)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			conns = append(conns, c)
		})
	}
	wg.Wait()
	return conns, first
}

func dial(addr, head string, stream bool) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(head)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if stream {
		// Up to the blank line that ends the first event.
		var got []byte
		buf := make([]byte, 256)
		for !strings.Contains(string(got), "event: version") {
			k, err := resp.Body.Read(buf)
			if err != nil {
				c.Close()
				return nil, err
			}
			got = append(got, buf[:k]...)
		}
	} else if _, err := br.Discard(int(resp.ContentLength)); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// vmRSS reads VmRSS (in bytes) from /proc/PID/status.
func vmRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb * 1024
		}
	}
	return 0
}
