package main

// skewless behind a real Caddy reverse proxy, configured by
// scripts/caddy/Caddyfile (the file the README points operators to):
//   - an 8.5 KiB request head passes through Caddy and is served;
//   - the event stream delivers an activation through Caddy at once
//     (no buffering);
//   - skewless's caching headers reach the client unchanged.
// Skipped where caddy is not installed, unless CI is set.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const caddyfileTemplate = "../scripts/caddy/Caddyfile"

// startCaddy runs caddy in front of upstream (host:port) with the
// operators' Caddyfile until the test ends, and returns its base URL.
func startCaddy(t *testing.T, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("caddy is not installed")
		}
		t.Skip("caddy is not installed")
	}
	dir := t.TempDir()
	tmpl, err := os.ReadFile(caddyfileTemplate)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := string(tmpl)
	for _, r := range [][2]string{
		{":80 {", ":" + port + " {"},
		{"reverse_proxy 127.0.0.1:8080 {", "reverse_proxy " + upstream + " {"},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("%s no longer holds %q, which this test replaces", caddyfileTemplate, r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	// No admin endpoint (its port 2019 may be taken), nothing outside dir.
	conf = "{\n\tadmin off\n\tdefault_bind 127.0.0.1\n}\n\n" + conf
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return runProxy(t, "caddy", cmd, "http://127.0.0.1:"+port, func() string { return "" })
}

func TestBehindCaddy(t *testing.T) {
	t.Parallel()
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	base := startCaddy(t, strings.TrimPrefix(ts.URL, "http://"))

	resps, _, end := rawExchange(t, strings.TrimPrefix(base, "http://"), browserHead("/about")+headWith("/robots.txt", "Connection: close"))
	if len(resps) != 2 {
		t.Fatalf("8.5 KiB head through caddy: %d answers (%v)", len(resps), end)
	}
	if resps[0].StatusCode != 200 || resps[0].Header.Get("Skewless-Version") != "v1" {
		t.Fatalf("8.5 KiB head through caddy: %d %v; want the app's page", resps[0].StatusCode, resps[0].Header)
	}
	resp, _ := do(t, "GET", base+viteV1About)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != ccImmutable {
		t.Errorf("chunk through caddy: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, _ = do(t, "GET", base+"/assets/gone-AAAAAAAA.js")
	if resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "unknown" || resp.Header.Get("Cache-Control") != cacheNever {
		t.Errorf("missing chunk through caddy: %d, %v", resp.StatusCode, resp.Header)
	}

	stream := openStream(t, base)
	if v := stream.nextEvent(t, 5*time.Second); v[2] != `data: {"version": "v1"}` {
		t.Fatalf("first event through caddy: %q", v)
	}
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	if v := stream.nextEvent(t, 10*time.Second); v[2] != `data: {"version": "v2"}` {
		t.Fatalf("activation through caddy: %q", v)
	}
}
