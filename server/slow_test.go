//go:build linux

package main

// Slow readers (nginx's send_timeout): a client that stops taking a large
// file, held in memory or served from disk, is cut off after the send
// timeout without progress; a slow but steady download is never cut,
// however long it takes. Linux: the tests read the server's side of the
// connection in /proc/net/tcp to see when it closes, and keep the client's
// receive buffer small so that the server's writes block.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testSendTimeout is the send timeout the tests serve with. A blocked
// write wakes only once the kernel has sent half of what it queued (up to
// 2 MiB of a loopback connection's 4 MiB send buffer): the steady reader
// reads fast enough for that to take well under this.
const testSendTimeout = 2 * time.Second

// slowFiles are large files beyond what socket buffers hold: one kept in
// memory, one served from disk (over the loader's 8 MiB).
var slowFiles = []struct {
	name string
	size int
}{
	{"/big-memory.bin", 8<<20 - 1},
	{"/big-disk.bin", 12 << 20},
}

// slowServer serves fixture v1 with the slow files, under
// testSendTimeout, and returns its address and the files' bytes.
func slowServer(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := buildsWith(t, fixtures, "v1")
	files := map[string][]byte{}
	for _, f := range slowFiles {
		b := bytes.Repeat([]byte("0123456789abcdef"), f.size/16+1)[:f.size]
		if err := os.WriteFile(filepath.Join(dir, "v1", f.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		files[f.name] = b
	}
	cfg := testConfig(t, dir)
	cfg.sendTimeout = testSendTimeout
	return strings.TrimPrefix(startServer(t, cfg).URL, "http://"), files
}

// dialSmallWindow connects with a 16 KiB receive buffer (no autotuning),
// so that a client that stops reading stops the server's writes soon.
func dialSmallWindow(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		_ = c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// serverSideOpen reports whether the server still holds its end of conn
// open (ESTABLISHED in /proc/net/tcp); a close moves it on at once, even
// with unsent bytes queued.
func serverSideOpen(t *testing.T, conn net.Conn) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no /proc/net/tcp (CI runs on Linux): %v", err)
		}
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	local, remote := procAddr(t, conn.RemoteAddr()), procAddr(t, conn.LocalAddr())
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == local && f[2] == remote {
			return f[3] == "01"
		}
	}
	return false
}

// procAddr spells an IPv4 loopback address as /proc/net/tcp does.
func procAddr(t *testing.T, a net.Addr) string {
	ta := a.(*net.TCPAddr)
	ip := ta.IP.To4()
	if ip == nil {
		t.Fatalf("%s: not IPv4", a)
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
}

func TestStalledReaderIsCutOff(t *testing.T) {
	t.Parallel()
	addr, files := slowServer(t)
	for _, f := range slowFiles {
		t.Run(f.name, func(t *testing.T) {
			conn := dialSmallWindow(t, addr)
			if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", f.name); err != nil {
				t.Fatal(err)
			}
			// The client reads nothing: the server's write blocks, then
			// fails after the send timeout, and the server closes.
			start := time.Now()
			eventually(t, 20*time.Second, "the server closes the stalled connection", func() bool { return !serverSideOpen(t, conn) })
			took := time.Since(start)
			t.Logf("closed %s after the request (send timeout %s)", took.Round(time.Millisecond), testSendTimeout)
			if took < testSendTimeout/2 {
				t.Errorf("closed after %s, long before the %s send timeout", took, testSendTimeout)
			}
			// What was in flight arrives; the file does not.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 200 || n >= int64(len(files[f.name])) {
				t.Errorf("status %d, %d of %d bytes: want the download cut", resp.StatusCode, n, len(files[f.name]))
			}
		})
	}
}

func TestSteadySlowReaderIsServed(t *testing.T) {
	t.Parallel()
	addr, files := slowServer(t)
	const rate = 3 << 20 // bytes a second: each file takes longer than the send timeout
	for _, f := range slowFiles {
		t.Run(f.name, func(t *testing.T) {
			conn := dialSmallWindow(t, addr)
			if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", f.name); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			br := bufio.NewReaderSize(conn, 16<<10)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Read at a steady pace, a little at a time: never a pause
			// near the send timeout.
			start := time.Now()
			var got bytes.Buffer
			buf := make([]byte, 16<<10)
			for {
				n, err := resp.Body.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d bytes in %s: %v", got.Len(), time.Since(start), err)
				}
				if ahead := time.Duration(got.Len())*time.Second/rate - time.Since(start); ahead > 0 {
					time.Sleep(ahead) // the client's pace, not a wait for the server
				}
			}
			took := time.Since(start)
			t.Logf("%d bytes in %s (send timeout %s)", got.Len(), took.Round(time.Millisecond), testSendTimeout)
			if !bytes.Equal(got.Bytes(), files[f.name]) {
				t.Fatalf("got %d bytes, not the file's %d", got.Len(), len(files[f.name]))
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(files[f.name])) {
				t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
			}
			if took < testSendTimeout {
				t.Errorf("the download took %s: too fast to show a slow reader is kept", took)
			}
		})
	}
}
