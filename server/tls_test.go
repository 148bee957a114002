package main

// TLS from files (--tls-cert/--tls-key) and SIGHUP:
//   - the server answers HTTPS on --addr with the certificate of the files,
//     event stream included;
//   - SIGHUP reloads the certificate (a handshake after it gets the new
//     one), keeps the old one when the new files are bad, rescans the
//     builds folder, and never ends the process.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number to certFile and keyFile, each replaced in one rename (as
// certbot and cert-manager do), and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "skewless test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func replaceFile(t *testing.T, p string, b []byte) {
	t.Helper()
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// trusting is an HTTPS client that trusts exactly cert.
func trusting(cert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableCompression: true,
	}}
}

// servedSerial connects to addr and returns the serial number of the
// certificate the server presents.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the certificate, not trusting it
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestTLSServes(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := writeCert(t, certFile, keyFile, 1)
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	ts := startServer(t, cfg)
	base := strings.Replace(ts.URL, "http://", "https://", 1)
	client := trusting(cert)

	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Header.Get("Skewless-Version") != "v1" || !strings.Contains(string(body), `data-version="v1"`) {
		t.Fatalf("GET / over TLS: %d, tls %v, version %q", resp.StatusCode, resp.TLS != nil, resp.Header.Get("Skewless-Version"))
	}
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("protocol %s, want HTTP/1.1 (no h2 offered)", resp.Proto)
	}
	if resp, err := client.Get(base + v1About); err != nil || resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != cacheImmutable {
		t.Fatalf("a hashed asset over TLS: %v %v", resp, err)
	}
	// The event stream over TLS: its first event arrives.
	resp, err = client.Get(base + "/_skewless/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	got := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") {
				got <- sc.Text()
				return
			}
		}
	}()
	select {
	case line := <-got:
		if !strings.Contains(line, `"v1"`) {
			t.Errorf("first event over TLS: %s", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event over TLS within 5s")
	}
	// Plain HTTP on the TLS port gets no page.
	if resp, err := httpClient.Get(ts.URL + "/"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP on the TLS port got a 200")
	}
}

// liveBinary is the binary's serve command, with its log readable while
// it runs.
type liveBinary struct {
	cmd  *exec.Cmd
	logs syncBuffer
	addr string
}

// startLive runs serve with args and returns once the current build
// serves (its log says so).
func startLive(t *testing.T, args ...string) *liveBinary {
	t.Helper()
	skewless(t, "version")
	b := &liveBinary{}
	b.cmd = exec.Command(binPath, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	pipe, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.cmd.Process.Kill(); _ = b.cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.logs.Write(append(sc.Bytes(), '\n'))
			if a := listeningAddr(sc.Text()); a != "" {
				addr <- a
			}
		}
	}()
	select {
	case b.addr = <-addr:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not log its address within 10s")
	}
	eventually(t, 20*time.Second, "the current build serves", func() bool { return servingLine.MatchString(b.logs.String()) })
	return b
}

// alive reports whether the process still runs.
func (b *liveBinary) alive() bool {
	return b.cmd.Process.Signal(syscall.Signal(0)) == nil && b.cmd.ProcessState == nil
}

func TestSIGHUPReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	b := startLive(t, "--builds", buildsWith(t, fixtures, "v1"), "--metrics-addr", "", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.Contains(b.logs.String(), `"url":"https://127.0.0.1:`) {
		t.Errorf("the start-up line lacks the https URL:\n%s", b.logs.String())
	}
	if got := servedSerial(t, b.addr); got != 1 {
		t.Fatalf("serial %d at start, want 1", got)
	}

	cert2 := writeCert(t, certFile, keyFile, 2)
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the new certificate served", func() bool { return servedSerial(t, b.addr) == 2 })
	if !strings.Contains(b.logs.String(), `"msg":"TLS certificate reloaded"`) {
		t.Errorf("no log line for the reload:\n%s", b.logs.String())
	}
	resp, err := trusting(cert2).Get("https://" + b.addr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / with the new certificate: %v %v", resp, err)
	}
	resp.Body.Close()

	// Bad files: the error is logged, the certificate that serves stays.
	replaceFile(t, certFile, []byte("not a certificate"))
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the failed reload logged", func() bool {
		return strings.Contains(b.logs.String(), `"msg":"TLS certificate not reloaded; the previous one keeps serving"`)
	})
	if got := servedSerial(t, b.addr); got != 2 || !b.alive() {
		t.Fatalf("after a bad reload: serial %d, alive %v", got, b.alive())
	}
}

// TestSIGHUPRescans: SIGHUP never ends the server; it rescans the builds
// folder (counted in the metrics as a requested rescan).
func TestSIGHUPRescans(t *testing.T) {
	b := startLive(t, "--builds", buildsWith(t, fixtures, "v1"), "--metrics-addr", "127.0.0.1:0")
	metricsAddr := regexp.MustCompile(`"msg":"metrics","addr":"([^"]+)"`).FindStringSubmatch(b.logs.String())
	if metricsAddr == nil {
		t.Fatalf("no metrics line:\n%s", b.logs.String())
	}
	for i := 1; i <= 2; i++ {
		if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "a requested rescan counted", func() bool {
			_, body := do(t, "GET", "http://"+metricsAddr[1]+"/metrics")
			m := regexp.MustCompile(`skewless_watch_rescans_total\{reason="requested"\} (\d+)`).FindStringSubmatch(body)
			return m != nil && m[1] == strconv.Itoa(i)
		})
	}
	if !b.alive() {
		t.Fatal("the server ended on SIGHUP")
	}
	if resp, _ := do(t, "GET", "http://"+b.addr+"/_skewless/health"); resp.StatusCode != 200 {
		t.Fatalf("health after SIGHUP: %d", resp.StatusCode)
	}
	if n := strings.Count(b.logs.String(), `"msg":"SIGHUP: reloading"`); n != 2 {
		t.Errorf("%d reload lines for two SIGHUPs", n)
	}
}

// TestTLSClosedStreamsAreNoticedAtOnce: over TLS too, a client that
// closes its event stream leaves the count at once, not at the next
// heartbeat (the close is seen on the connection under TLS).
func TestTLSClosedStreamsAreNoticedAtOnce(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := writeCert(t, certFile, keyFile, 1)
	cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	heartbeat, within := goneClientSeen()
	cfg.Heartbeat = heartbeat
	cfg.MetricsAddr = "127.0.0.1:0"
	ts := startServer(t, cfg)
	metrics := ts.metricsURL(t)
	gauge := func(n int) bool {
		_, m := do(t, "GET", metrics)
		return strings.Contains(m, fmt.Sprintf("skewless_event_streams %d\n", n))
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	var conns []*tls.Conn
	for range 2 {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"), &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /_skewless/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
		readUntil(t, conn, "event: version")
		conns = append(conns, conn)
	}
	eventually(t, 5*time.Second, "2 open streams counted", func() bool { return gauge(2) })
	for _, c := range conns {
		c.Close()
	}
	eventually(t, within, "closed TLS streams uncounted (heartbeat: "+heartbeat.String()+")", func() bool { return gauge(0) })
}
