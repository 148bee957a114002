package main

// skewless behind a real nginx reverse proxy with a cache, configured by
// scripts/nginx/skewless.conf (the file the README points operators to):
//   - a request head of 8.5 KiB (a 5 KB cookie and what a CDN adds) passes
//     through nginx and is served;
//   - the event stream (unbuffered) delivers an activation through nginx;
//   - an immutable chunk is cached by proxy_cache and, whether from the
//     cache or not, before or after a deploy, carries no Skewless-Version;
//   - 404s (no-store) and HTML (no-cache) are never answered from the cache.
// Skipped where nginx is not installed, unless CI is set.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxConfTemplate is the configuration operators are pointed to.
const nginxConfTemplate = "../scripts/nginx/skewless.conf"

// startNginx runs nginx in front of upstream (host:port) with the
// operators' configuration until the test ends, and returns its base URL.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	dir, port := t.TempDir(), freePort(t)
	conf := nginxConf(t, nginxConfTemplate, [][2]string{
		{"server 127.0.0.1:8080;", "server " + upstream + ";"},
		{"listen 80;", "listen 127.0.0.1:" + port + ";"},
		{"/var/cache/nginx/skewless", filepath.Join(dir, "cache")},
	})
	return runNginx(t, dir, port, conf)
}

// nginxConf reads a configuration operators are pointed to and makes a
// test's substitutions in it, failing when one no longer applies.
func nginxConf(t *testing.T, template string, subs [][2]string) string {
	t.Helper()
	tmpl, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(tmpl)
	for _, r := range subs {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("%s no longer holds %q, which this test replaces", template, r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	return conf
}

// runNginx runs nginx with conf (included in its http block), listening
// on port, until the test ends, and returns its base URL once
// /_skewless/health answers 200 through it.
func runNginx(t *testing.T, dir, port, conf string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("nginx is not installed")
			}
			t.Skip("nginx is not installed")
		}
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers reach the test's private folder
	}
	main := fmt.Sprintf(`%[1]s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 512; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/skewless.conf;
}
`, user, dir)
	for name, text := range map[string]string{"skewless.conf": conf, "nginx.conf": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	return runProxy(t, "nginx", cmd, "http://127.0.0.1:"+port, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(log)
	})
}

// runProxy runs a reverse proxy's command until the test ends and returns
// base once /_skewless/health answers 200 through it; errlog adds the
// proxy's own log to the failure of one that exits.
func runProxy(t *testing.T, name string, cmd *exec.Cmd, base string, errlog func() string) string {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	client := &http.Client{Timeout: time.Second}
	eventually(t, 15*time.Second, name+" answers", func() bool {
		select {
		case <-exited:
			t.Fatalf("%s exited: %s\n%s", name, out.String(), errlog())
		default:
		}
		resp, err := client.Get(base + "/_skewless/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func TestBehindNginx(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	base := startNginx(t, strings.TrimPrefix(ts.URL, "http://"))

	t.Run("8.5 KiB request head", func(t *testing.T) {
		for _, p := range []string{"/about", viteV1Report} {
			resps, _, end := rawExchange(t, strings.TrimPrefix(base, "http://"), browserHead(p)+headWith("/robots.txt", "Connection: close"))
			if len(resps) != 2 || resps[0].StatusCode != 200 || resps[1].StatusCode != 200 {
				t.Fatalf("%s: %d answers (%v)", p, len(resps), end)
			}
			if p == "/about" && resps[0].Header.Get("Skewless-Version") != "v1" {
				t.Errorf("/about through nginx: %v; want the app's page", resps[0].Header)
			}
		}
	})

	stream := openStream(t, base)
	if v := stream.nextEvent(t, 5*time.Second); v[2] != `data: {"version": "v1"}` {
		t.Fatalf("first event through nginx: %q", v)
	}
	cacheStatus := func(p string, want int) (string, *http.Response) {
		t.Helper()
		resp, _ := do(t, "GET", base+p)
		if resp.StatusCode != want {
			t.Fatalf("GET %s through nginx: %d, want %d", p, resp.StatusCode, want)
		}
		return resp.Header.Get("X-Cache-Status"), resp
	}
	// An immutable chunk: stored, then served by nginx, never naming a version.
	for i, want := range []string{"MISS", "HIT"} {
		status, resp := cacheStatus(viteV1About, 200)
		if status != want || resp.Header.Get("Cache-Control") != ccImmutable {
			t.Errorf("chunk, request %d: X-Cache-Status %q, Cache-Control %q; want %s", i+1, status, resp.Header.Get("Cache-Control"), want)
		}
		if v, ok := resp.Header["Skewless-Version"]; ok {
			t.Errorf("chunk, request %d (%s): Skewless-Version %q", i+1, status, v)
		}
	}
	// 404s and HTML reach skewless every time.
	for _, p := range []string{"/assets/gone-AAAAAAAA.js", "/", "/about"} {
		want := 200
		if strings.HasSuffix(p, ".js") {
			want = 404
		}
		for i := range 2 {
			if status, resp := cacheStatus(p, want); status == "HIT" || resp.Header.Get("Skewless-Version") != "v1" {
				t.Errorf("GET %s, request %d: X-Cache-Status %q, Skewless-Version %q; want it from skewless", p, i+1, status, resp.Header.Get("Skewless-Version"))
			}
		}
	}

	// A deploy reaches the stream through nginx; the cached chunk still
	// names no version (a stale one would mislead the helper).
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	if v := stream.nextEvent(t, 10*time.Second); v[2] != `data: {"version": "v2"}` {
		t.Fatalf("activation through nginx: %q", v)
	}
	status, resp := cacheStatus(viteV1About, 200)
	if _, ok := resp.Header["Skewless-Version"]; status != "HIT" || ok {
		t.Errorf("cached chunk after the deploy: X-Cache-Status %q, Skewless-Version %q", status, resp.Header.Get("Skewless-Version"))
	}
	if _, resp := cacheStatus("/", 200); resp.Header.Get("Skewless-Version") != "v2" {
		t.Errorf("/ after the deploy: Skewless-Version %q", resp.Header.Get("Skewless-Version"))
	}
}
