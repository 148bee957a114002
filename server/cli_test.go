package main

// The command line, from the built binary (CONTRACT.md "The binary"):
// every mistake and every failure a person can meet is one line on
// stderr, exactly as listed here, with exit code 2 for a mistake on the
// command line and 1 for anything else; help and version go to stdout
// with 0; a failed command creates nothing.

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// cli is one run of the binary: its output streams and exit code.
type cli struct {
	stdout, stderr string
	code           int
}

// runCLI runs the built binary in dir with args and the environment env
// ("NAME=value"), none of the developer's SKEWLESS_* variables.
func runCLI(t *testing.T, dir string, env []string, args ...string) cli {
	t.Helper()
	skewless(t, "version") // builds the binary once
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKEWLESS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run skewless %v: %v", args, err)
	}
	return cli{stdout.String(), stderr.String(), code}
}

// TestCLIErrors: each bad input, its exit code and its one line.
func TestCLIErrors(t *testing.T) {
	work := t.TempDir() // the working folder: no ./builds in it
	builds := t.TempDir()
	copyTree(t, filepath.Join(fixtures, "v1"), filepath.Join(builds, "v1"))
	notFolder := filepath.Join(work, "file")
	if err := os.WriteFile(notFolder, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(work, "broken")
	copyTree(t, filepath.Join(fixtures, "v2"), broken)
	if err := os.Remove(filepath.Join(broken, "index.html")); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	free := "127.0.0.1:" + freePort(t)
	v2, _ := filepath.Abs(filepath.Join(fixtures, "v2"))

	for _, tt := range []struct {
		args []string
		env  []string
		code int
		line string // the whole of stderr, one line
	}{
		// serve, the default command
		{args: nil, code: 1, line: `skewless serve: builds folder "./builds" does not exist; create it or pass --builds DIR`},
		{args: []string{"--builds", notFolder}, code: 1, line: `skewless serve: builds folder "` + notFolder + `" is not a folder; pass --builds DIR`},
		{args: []string{"--addr", busy, "--builds", builds}, code: 1, line: `skewless serve: cannot listen on ` + busy + `: the port is in use (another server?); stop it or pass --addr HOST:PORT`},
		{args: []string{"--addr", "nope", "--builds", builds}, code: 1, line: `skewless serve: cannot listen on "nope": missing port in address (--addr takes HOST:PORT or :PORT)`},
		{args: []string{"--addr", "localhost:http-alt2", "--builds", builds}, code: 1, line: `skewless serve: cannot listen on "localhost:http-alt2": the port "http-alt2" is not a number (--addr takes HOST:PORT or :PORT)`},
		{args: []string{"--addr", "127.0.0.1:0", "--metrics-addr", busy, "--builds", builds}, code: 1, line: `skewless serve: cannot listen on ` + busy + `: the port is in use (another server?); stop it or pass --metrics-addr HOST:PORT`},
		{args: []string{"--foo"}, code: 2, line: `skewless serve: unknown flag --foo (skewless serve --help lists the flags)`},
		{args: []string{"--grace", "soon"}, code: 2, line: `skewless serve: --grace "soon": not a duration (e.g. 300ms, 90s, 15m, 24h)`},
		{args: []string{"--keep", "many"}, code: 2, line: `skewless serve: --keep "many": not a whole number`},
		{args: []string{"--spa=maybe"}, code: 2, line: `skewless serve: --spa "maybe": not true or false`},
		{args: []string{"--addr"}, code: 2, line: `skewless serve: --addr needs a value`},
		{args: []string{"--keep", "-1", "--log-format", "xml"}, code: 2, line: `skewless serve: --keep must not be negative; --log-format must be json or console, not "xml"`},
		{args: []string{"--tls-cert", "cert.pem"}, code: 2, line: `skewless serve: --tls-cert and --tls-key go together: give both files, or neither for plain HTTP`},
		{args: []string{"--tls-cert", "none.pem", "--tls-key", "none.key", "--builds", builds}, code: 1, line: `skewless serve: TLS certificate none.pem with key none.key: open none.pem: no such file or directory`},
		{args: []string{"--base", "https://cdn.example/app/"}, code: 2, line: `skewless serve: --base "https://cdn.example/app/": give the URL path the builds are served under (/app/), not a URL`},
		{args: []string{"--immutable", "/a**"}, code: 2, line: `skewless serve: --immutable "/a**": "**" must be a whole segment ("/static/**", "/**/*.woff2")`},
		{args: []string{"serve", "builds"}, code: 2, line: `skewless serve: unexpected argument "builds" (serve takes flags only: --builds DIR names the builds folder)`},
		{env: []string{"SKEWLESS_GRACE=soon"}, code: 2, line: `skewless serve: SKEWLESS_GRACE="soon": not a duration (e.g. 300ms, 90s, 15m, 24h)`},
		{args: []string{"--version", "extra"}, code: 2, line: `skewless version: unexpected argument "extra" (skewless version takes no arguments)`},
		{args: []string{"frobnicate"}, code: 2, line: `skewless: unknown command "frobnicate" (skewless help lists the commands)`},
		{args: []string{"help", "frobnicate"}, code: 2, line: `skewless help: unknown command "frobnicate" (skewless help lists the commands)`},
		// deploy
		{args: []string{"deploy"}, code: 2, line: `skewless deploy: missing SRC (usage: skewless deploy SRC --builds DIR [--version V])`},
		{args: []string{"deploy", "a", "b"}, code: 2, line: `skewless deploy: unexpected argument "b" (usage: skewless deploy SRC --builds DIR [--version V])`},
		{args: []string{"deploy", "dist", "--builds", "out"}, code: 1, line: `skewless deploy: build folder "dist" does not exist (give the folder your build tool wrote, e.g. dist)`},
		{args: []string{"deploy", notFolder, "--builds", "out"}, code: 1, line: `skewless deploy: "` + notFolder + `" is not a folder (give the folder your build tool wrote, e.g. dist)`},
		{args: []string{"deploy", broken, "--builds", "out", "--version", "v9"}, code: 1, line: `skewless deploy: build "v9" is not ready: index.html is missing`},
		{args: []string{"deploy", filepath.Join(builds, "v1"), "--builds", "out", "--version", "../x"}, code: 2, line: `skewless deploy: version "../x" is not a valid build name (letters, digits, '.', '_', '-'; starting with a letter or digit)`},
		{args: []string{"deploy", v2, "--builds", builds, "--version", "v1"}, code: 1, line: `skewless deploy: version already exists: ` + filepath.Join(builds, "v1") + ` is there already (deploy under another --version, or activate v1)`},
		// activate
		{args: []string{"activate"}, code: 2, line: `skewless activate: missing VERSION (usage: skewless activate VERSION (--builds DIR | --redis URL [--cluster NAME]))`},
		{args: []string{"activate", "v1"}, code: 1, line: `skewless activate: builds folder "./builds" does not exist; create it or pass --builds DIR`},
		{args: []string{"activate", "../v1", "--builds", builds}, code: 2, line: `skewless activate: "../v1" is not a build version (letters, digits, '.', '_', '-'; starting with a letter or digit)`},
		{args: []string{"activate", "v7", "--builds", builds}, code: 1, line: `skewless activate: no build "v7" in ` + builds + ` (skewless status --builds ` + builds + ` lists the builds)`},
		// block, unblock; the cluster's commands
		{args: []string{"block"}, code: 2, line: `skewless block: missing VERSION (usage: skewless block VERSION (--builds DIR | --redis URL [--cluster NAME]) [--reason TEXT])`},
		{args: []string{"unblock", "v1"}, code: 1, line: `skewless unblock: builds folder "./builds" does not exist; create it or pass --builds DIR`},
		{args: []string{"block", "v7", "--builds", builds}, code: 1, line: `skewless block: no build "v7" in ` + builds},
		{args: []string{"activate", "v1", "--redis", "nope"}, code: 1, line: `skewless activate: redis URL: redis: invalid URL scheme: (want redis://HOST:PORT/DB)`},
		// status, prune
		{args: []string{"status", "--builds", "nope"}, code: 1, line: `skewless status: builds folder "nope" does not exist; create it or pass --builds DIR`},
		{args: []string{"status", "--json=yes"}, code: 2, line: `skewless status: --json "yes": not true or false`},
		{args: []string{"prune"}, code: 1, line: `skewless prune: builds folder "./builds" does not exist; create it or pass --builds DIR`},
		{args: []string{"prune", "v1", "--builds", builds}, code: 2, line: `skewless prune: unexpected argument "v1" (usage: skewless prune --builds DIR [--dry-run])`},
		// inspect
		{args: []string{"inspect"}, code: 2, line: `skewless inspect: missing DIR (usage: skewless inspect DIR [--json] [--immutable GLOB]... [--ready-file NAME] [--base /app/])`},
		{args: []string{"inspect", "dist"}, code: 1, line: `skewless inspect: build folder "dist" does not exist (give the folder your build tool wrote, e.g. dist)`},
		// health
		{args: []string{"health", "--addr", free}, code: 1, line: `skewless health: cannot reach http://` + free + `/_skewless/health: connection refused (is skewless serve running there?)`},
		{args: []string{"health", "--addr", "nope"}, code: 2, line: `skewless health: --addr "nope": give HOST:PORT or :PORT, as serve's --addr`},
		{args: []string{"health", "--url", "ftp://x"}, code: 2, line: `skewless health: --url "ftp://x": give an http:// or https:// URL`},
		{args: []string{"health", "--timeout", "0s"}, code: 2, line: `skewless health: --timeout must be positive`},
	} {
		name := strings.Join(append(append([]string{}, tt.env...), tt.args...), " ")
		t.Run(name, func(t *testing.T) {
			// serve at a terminal writes its errors plain: as --log-format console.
			args := tt.args
			if isServe(tt.args) && !hasArg(tt.args, "--log-format") {
				args = append([]string{"serve", "--log-format", "console"}, tt.args...)
				if len(tt.args) > 0 && tt.args[0] == "serve" {
					args = append([]string{"serve", "--log-format", "console"}, tt.args[1:]...)
				}
			}
			r := runCLI(t, work, tt.env, args...)
			if r.code != tt.code || r.stderr != tt.line+"\n" {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", r.code, r.stderr, tt.code, tt.line)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
	// Nothing was created by any of these: no ./builds, no out/.
	for _, p := range []string{"builds", "out", filepath.Join(builds, ".skewless")} {
		if !filepath.IsAbs(p) {
			p = filepath.Join(work, p)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a failed command created %s", p)
		}
	}
}

func isServe(args []string) bool {
	return len(args) == 0 || args[0] == "serve" || strings.HasPrefix(args[0], "-") && args[0] != "--version"
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// TestServeErrorJSON: without a terminal the logs are JSON, and so is a
// fatal error: one line whose message is the one a terminal shows.
func TestServeErrorJSON(t *testing.T) {
	r := runCLI(t, t.TempDir(), nil)
	var line struct{ Level, Msg string }
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || json.Unmarshal([]byte(r.stderr), &line) != nil {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if line.Level != "error" || line.Msg != `skewless serve: builds folder "./builds" does not exist; create it or pass --builds DIR` {
		t.Errorf("the error line: %+v", line)
	}
}

// TestCLIHelpAndVersion: help lists every command on stdout, each
// command's --help its flags; version prints one line.
func TestCLIHelpAndVersion(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runCLI(t, dir, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, c := range commands {
			if !regexp.MustCompile(`(?m)^  ` + c.name + ` +\S`).MatchString(r.stdout) {
				t.Errorf("%v does not list %s:\n%s", args, c.name, r.stdout)
			}
		}
	}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}} {
			r := runCLI(t, dir, nil, args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: skewless "+c.name) || r.stderr != "" {
				t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
			}
		}
	}
	r := runCLI(t, dir, nil, "serve", "--help")
	for _, flag := range []string{"-base string", "-tls-cert string", "-tls-key string", "-log-format string"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
	want := regexp.MustCompile(`^skewless (\(devel\)|v\S+)(, commit [0-9a-f]{12}(\+dirty)?( \(\S+\))?)?, go1\.\S+ \w+/\w+\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, dir, nil, args...)
		if r.code != 0 || !want.MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("%v: exit %d, %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestVersionLine: the release set at build time wins over the module
// version; the commit (shortened), a dirty checkout and the commit's time
// are said when Go recorded them.
func TestVersionLine(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for _, tt := range []struct {
		release string
		info    *debug.BuildInfo
		want    string
	}{
		{"", info, "skewless v1.2.0, commit 0123456789ab+dirty (2026-12-01T10:00:00Z), go1.26.8" + platform},
		{"v1.4.0", info, "skewless v1.4.0, commit 0123456789ab+dirty (2026-12-01T10:00:00Z), go1.26.8" + platform},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "skewless (devel), go1.26.8" + platform},
		{"v1.4.0", nil, "skewless v1.4.0, " + runtime.Version() + platform},
	} {
		if got := versionLine(tt.release, tt.info); got != tt.want {
			t.Errorf("versionLine(%q) = %q, want %q", tt.release, got, tt.want)
		}
	}
}

// TestHealthCommand: health answers 0 with one line once the current
// build serves, 1 with the server's reason otherwise, under a base too.
func TestHealthCommand(t *testing.T) {
	dir := t.TempDir()
	_, url := startBinary(t, "--builds", buildsWith(t, baseFixtures, "b1"), "--base", "/app/")
	addr := strings.TrimPrefix(url, "http://")
	r := runCLI(t, dir, []string{"SKEWLESS_BASE=/app/"}, "health", "--addr", addr)
	if r.code != 0 || r.stdout != "ok: http://"+addr+"/app/_skewless/health answered 200, serving b1\n" || r.stderr != "" {
		t.Errorf("health: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "health", "--addr", addr)
	if r.code != 1 || r.stderr != "skewless health: http://"+addr+"/_skewless/health answered 404 (not skewless's health endpoint? check --base)\n" {
		t.Errorf("health without the base: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "health", "--url", url+"/app/_skewless/health", "--timeout", "2s")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: ") {
		t.Errorf("health --url: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	// A server with no current build yet: 503, and the reason.
	empty := t.TempDir()
	_, url = startBinaryPort(t, "--builds", empty)
	addr = strings.TrimPrefix(url, "http://")
	r = runCLI(t, dir, nil, "health", "--addr", addr)
	if r.code != 1 || r.stderr != "skewless health: http://"+addr+"/_skewless/health answered 503: no current build\n" {
		t.Errorf("health with no current build: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestFailedCommandsCreateNothing: a deploy that fails (invalid build,
// existing version) and the read-only commands leave no folder behind.
func TestFailedCommandsCreateNothing(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "dist")
	copyTree(t, filepath.Join(fixtures, "v2"), src)
	if err := os.Remove(filepath.Join(src, "assets", "vendor-Bb1KB3MD.js")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, work, nil, "deploy", "dist", "--builds", "builds", "--version", "v2")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `skewless deploy: build "v2" is not ready: index.html loads /assets/vendor-Bb1KB3MD.js, which is not in the build; `) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("more than one line:\n%s", r.stderr)
	}
	empty := filepath.Join(work, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status", "--builds", "empty"}, {"prune", "--builds", "empty"}, {"prune", "--builds", "empty", "--dry-run"},
		{"activate", "v1", "--builds", "empty"}, {"inspect", "dist"},
	} {
		runCLI(t, work, nil, args...)
	}
	if _, err := os.Stat(filepath.Join(work, "builds")); err == nil {
		t.Error("a failed deploy created the builds folder")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("status, prune, activate created %v in an empty builds folder", entries)
	}
}

// startBinaryPort is startBinary for a server that may never have a current
// build: it returns once the port is open.
func startBinaryPort(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	skewless(t, "version")
	cmd := exec.Command(binPath, append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "", "--log-format", "json"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		buf := make([]byte, 64<<10)
		var text []byte
		for {
			n, err := pipe.Read(buf)
			text = append(text, buf[:n]...)
			for _, line := range strings.Split(string(text), "\n") {
				if a := listeningAddr(line); a != "" {
					select {
					case addr <- a:
					default:
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(10 * time.Second):
		t.Fatal("server did not log its address within 10s")
	}
	return nil, ""
}
