package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBinary runs the real binary's serve command on a builds folder with
// a build and returns its base URL, read from the "listening" log line,
// once the current build serves.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, base, _ := startBinaryLogs(t, args...)
	return cmd, base
}

// startBinaryLogs is startBinary that also keeps what the server writes to
// stderr: stderr waits for the process to close it (to exit), then returns
// it whole, and must be called before cmd.Wait.
func startBinaryLogs(t *testing.T, args ...string) (cmd *exec.Cmd, base string, stderr func() string) {
	t.Helper()
	skewless(t, "--help") // builds the binary once
	cmd = exec.Command(binPath, append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", ""}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	var text syncBuffer
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			text.Write(append(sc.Bytes(), '\n'))
			if a := listeningAddr(sc.Text()); a != "" {
				addr <- a
			}
		}
	}()
	stderr = func() string {
		select {
		case <-eof:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not close stderr within 10s")
		}
		return text.String()
	}
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(10 * time.Second):
		t.Fatal("server did not log its address within 10s")
	}
	// The port opens before the builds load: wait until the log says the
	// current build serves (asking /_skewless/health would add requests to
	// the access lines tests count).
	eventually(t, 20*time.Second, "the binary serves its current build", func() bool {
		return servingLine.MatchString(text.String())
	})
	return cmd, base, stderr
}

// servingLine matches the log line (JSON or console) that says the
// current build serves.
var servingLine = regexp.MustCompile(`"msg":"(activated|serving)"|\t(activated|serving)\t`)

// listeningAddr is the address a "listening" log line gives, in the JSON
// or the console format, or "".
func listeningAddr(line string) string {
	var l struct{ Msg, Addr string }
	if _, fields, ok := strings.Cut(line, "\tlistening\t"); ok {
		l.Msg, line = "listening", fields
	}
	if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" {
		return l.Addr
	}
	return ""
}

// SIGTERM with an open event stream and a download in flight: the stream
// ends, the download completes whole, and the process exits within 2s.
func TestSIGTERMWithOpenStreams(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, fixtures+"/v1", dir+"/v1")
	// 24 MiB: more than socket buffers hold, so the body is still being
	// written when the signal arrives (and over 8 MiB: a file-backed one).
	big := bytes.Repeat([]byte("skewless "), 24<<20/9)
	if err := os.WriteFile(dir+"/v1/assets/data-B1gF1LE5.bin", big, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, url := startBinary(t, "--builds", dir)
	s := openStream(t, url)
	s.nextEvent(t, time.Second)

	// A download that is mid-body when the signal arrives: read the
	// headers, send SIGTERM, then read the rest.
	resp, err := httpClient.Get(url + "/assets/data-B1gF1LE5.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(body)) != resp.ContentLength || !bytes.Equal(body, big) {
		t.Fatalf("download cut: %d of %d bytes, %v", len(body), resp.ContentLength, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("still running 2s after SIGTERM")
	}
	t.Logf("exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	for range s.lines { // the stream has ended
	}
}
