package main

// Deploying, end to end (CONTRACT.md "Deploying"; serving steps 4-5):
//   - a folder renamed into the builds dir becomes current once it settles;
//   - a slow, non-atomic copy never serves a byte before it is complete;
//   - an invalid build never becomes current; status says why;
//   - `skewless deploy`, `activate` and `status` work with and without a
//     running server, and the server follows `activate` within a second;
//   - the current build and the history survive a restart;
//   - superseded builds stay live for --grace, then their hashed paths
//     answer 404 + Skewless-Asset: retired, also after their folder is
//     deleted and the server restarted;
//   - a corrupt state file is reported and rebuilt, never fatal.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the committed fixture builds.
const (
	v1About   = "/assets/about-Br9WxIf2.js"
	v2About   = "/assets/about-DPfrhiVb.js"
	sharedCSS = "/assets/index-BJZwVCD_.css"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// skewless runs the real binary with args and returns its combined output
// and exit code.
func skewless(t *testing.T, args ...string) (string, int) {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skewless-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "skewless")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("build skewless: %v", binErr)
	}
	for i, a := range args {
		if strings.HasPrefix(a, "../") {
			args[i], _ = filepath.Abs(a)
		}
	}
	cmd := exec.Command(binPath, args...)
	cmd.Dir = t.TempDir() // not a git checkout: default versions are timestamps
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run skewless %v: %v", args, err)
	}
	return string(out), code
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

// dropBuild moves a copy of a fixture build into the builds folder in one
// rename, the way a deploy script publishes a complete folder.
func dropBuild(t testing.TB, dir, src, version string) {
	t.Helper()
	stage := filepath.Join(t.TempDir(), version)
	copyTree(t, src, stage)
	// Same filesystem for an atomic rename: stage under the builds dir's
	// own scratch space (names starting with "_" are not builds).
	tmp := filepath.Join(dir, "_stage-"+version)
	if err := os.Rename(stage, tmp); err != nil {
		copyTree(t, stage, tmp)
	}
	if err := os.Rename(tmp, filepath.Join(dir, version)); err != nil {
		t.Fatal(err)
	}
}

func waitVersion(t testing.TB, ts *testServer, want string, within time.Duration) {
	t.Helper()
	eventually(t, within, "Skewless-Version "+want, func() bool { return ts.versionOf(t) == want })
}

func TestDropAtomicFolderActivates(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	if got := ts.versionOf(t); got != "v1" {
		t.Fatalf("start: version %q, want v1", got)
	}
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)

	// v1 is live: its lazy chunk still loads, with immutable caching.
	resp, _ := ts.get(t, "GET", v1About)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != cacheImmutable {
		t.Fatalf("live v1 chunk: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// The shared CSS is served, and / is v2's page.
	if resp, _ := ts.get(t, "GET", sharedCSS); resp.StatusCode != 200 {
		t.Fatalf("shared css: %d", resp.StatusCode)
	}
	if _, body := ts.get(t, "GET", "/"); !strings.Contains(body, `data-version="v2"`) {
		t.Fatalf("index is not v2's: %s", body)
	}
}

func TestSlowCopyNeverServesHalfDone(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	cfg := testConfig(t, dir)
	cfg.Settle = 100 * time.Millisecond
	ts := startServer(t, cfg)

	// Copy v2 file by file into place, index.html first, the rest later:
	// what `cp -r` over a slow link does.
	src := filepath.Join(fixtures, "v2")
	dst := filepath.Join(dir, "v2")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	index, _ := os.ReadFile(filepath.Join(src, "index.html"))
	if err := os.WriteFile(filepath.Join(dst, "index.html"), index, 0o644); err != nil {
		t.Fatal(err)
	}
	// Long enough for the folder to settle and be found invalid.
	eventually(t, 5*time.Second, "v2 reported invalid", func() bool {
		return ts.Logs.FilterMessage("build invalid").FilterField(stringField("version", "v2")).Len() > 0
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("half-copied v2 is serving: version %q", v)
	}
	out, _ := skewless(t, "status", "--builds", dir)
	if !strings.Contains(out, "v2: index.html loads /assets/index-RI6W6SFG.js, which is not in the build") {
		t.Fatalf("status does not say what v2 lacks:\n%s", out)
	}
	// The rest arrives: v2 is validated again and becomes current.
	copyTree(t, src, dst)
	waitVersion(t, ts, "v2", 5*time.Second)
}

func TestInvalidBuildNeverCurrent(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	bad := filepath.Join(t.TempDir(), "broken")
	copyTree(t, filepath.Join(fixtures, "v2"), bad)
	if err := os.Remove(filepath.Join(bad, "assets", "vendor-Bb1KB3MD.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bad, filepath.Join(dir, "broken")); err != nil {
		copyTree(t, bad, filepath.Join(dir, "broken"))
	}
	eventually(t, 5*time.Second, "broken reported invalid", func() bool {
		return ts.Logs.FilterMessage("build invalid").Len() > 0
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("invalid build became current: %q", v)
	}
	out, _ := skewless(t, "status", "--builds", dir)
	for _, want := range []string{"broken", "invalid", "index.html loads /assets/vendor-Bb1KB3MD.js, which is not in the build",
		".vite/manifest.json lists assets/vendor-Bb1KB3MD.js, which is not in the build"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestDeployCommand(t *testing.T) {
	dir := t.TempDir()
	out, code := skewless(t, "deploy", filepath.Join(fixtures, "v1"), "--builds", dir, "--version", "v1")
	if code != 0 || !strings.Contains(out, "deployed v1") {
		t.Fatalf("deploy v1: exit %d\n%s", code, out)
	}
	// Modification times are kept: content reuse and precompressed
	// siblings depend on them.
	a, _ := os.Stat(filepath.Join(fixtures, "v1", "assets", "about-Br9WxIf2.js"))
	b, err := os.Stat(filepath.Join(dir, "v1", "assets", "about-Br9WxIf2.js"))
	if err != nil || !a.ModTime().Equal(b.ModTime()) {
		t.Fatalf("mtime not kept: %v %v", err, b)
	}
	if _, err := os.Stat(filepath.Join(dir, "v1", ".vite", "manifest.json")); err != nil {
		t.Fatalf("build manifest not copied: %v", err)
	}

	t.Run("existing version", func(t *testing.T) {
		out, code := skewless(t, "deploy", filepath.Join(fixtures, "v2"), "--builds", dir, "--version", "v1")
		if code == 0 || !strings.Contains(out, "already exists") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("invalid source", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src")
		copyTree(t, filepath.Join(fixtures, "v2"), src)
		os.Remove(filepath.Join(src, "index.html"))
		out, code := skewless(t, "deploy", src, "--builds", dir, "--version", "v9")
		if code == 0 || !strings.Contains(out, "index.html is missing") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "v9")); err == nil {
			t.Fatal("an invalid build was created")
		}
		entries, _ := os.ReadDir(filepath.Join(dir, ".skewless", "incoming"))
		if len(entries) != 0 {
			t.Fatalf("leftovers in incoming: %v", entries)
		}
	})
	t.Run("default version", func(t *testing.T) {
		out, code := skewless(t, "deploy", filepath.Join(fixtures, "v3"), "--builds", dir)
		if code != 0 || !strings.Contains(out, "deployed 20") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("bad version name", func(t *testing.T) {
		out, code := skewless(t, "deploy", filepath.Join(fixtures, "v3"), "--builds", dir, "--version", "../x")
		if code == 0 || !strings.Contains(out, "not a valid build name") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
}

func TestDeployWhileServing(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	if out, code := skewless(t, "deploy", filepath.Join(fixtures, "v2"), "--builds", dir, "--version", "v2"); code != 0 {
		t.Fatalf("deploy: %s", out)
	}
	waitVersion(t, ts, "v2", 5*time.Second)
}

func TestActivateWithServerRunning(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1", "v2", "v3")
	ts := startServer(t, testConfig(t, dir))
	if v := ts.versionOf(t); v != "v3" {
		t.Fatalf("start: %q", v)
	}
	out, code := skewless(t, "activate", "v1", "--builds", dir)
	if code != 0 || !strings.Contains(out, "v1 is current") {
		t.Fatalf("activate: exit %d\n%s", code, out)
	}
	// "A running server follows within a second."
	waitVersion(t, ts, "v1", time.Second)
	// The previous current build is live: its chunk still loads.
	if resp, _ := ts.get(t, "GET", "/assets/about-uI4s7U0r.js"); resp.StatusCode != 200 {
		t.Fatalf("v3 chunk after rollback: %d", resp.StatusCode)
	}
	out, _ = skewless(t, "status", "--builds", dir)
	if !regexpMatch(`(?m)^v1\s+current\s+2\s`, out) || !regexpMatch(`(?m)^v3\s+live\s+1\s`, out) {
		t.Fatalf("status after rollback:\n%s", out)
	}

	t.Run("unknown version", func(t *testing.T) {
		out, code := skewless(t, "activate", "v9", "--builds", dir)
		if code == 0 || !strings.Contains(out, `no build "v9"`) {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
}

func TestActivateStoppedThenRestart(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1", "v2", "v3")
	ts := startServer(t, testConfig(t, dir))
	if v := ts.versionOf(t); v != "v3" {
		t.Fatalf("start: %q", v)
	}
	ts.Stop()
	if out, code := skewless(t, "activate", "v2", "--builds", dir); code != 0 {
		t.Fatalf("activate: %s", out)
	}
	// Restart resumes on the activated build, not the newest folder, and
	// the sequence keeps counting up.
	ts = startServer(t, testConfig(t, dir))
	if v := ts.versionOf(t); v != "v2" {
		t.Fatalf("after restart: %q, want v2", v)
	}
	_, body := ts.get(t, "GET", "/_skewless/version")
	for _, want := range []string{`"version":"v2"`, `{"version":"v2","state":"current"}`, `{"version":"v3","state":"live"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("version body lacks %s: %s", want, body)
		}
	}
}

func TestGraceExpiryRetires(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	cfg := testConfig(t, dir)
	cfg.Grace = 300 * time.Millisecond
	ts := startServer(t, cfg)
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	eventually(t, 5*time.Second, "v1 chunk retired", func() bool {
		resp, _ := ts.get(t, "GET", v1About)
		return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "retired"
	})
	resp, body := ts.get(t, "GET", v1About)
	if resp.Header.Get("Cache-Control") != "no-store" || strings.Contains(body, "<html") {
		t.Fatalf("retired answer: %q %q", resp.Header.Get("Cache-Control"), body)
	}
	// A path the current build shares stays served.
	if resp, _ := ts.get(t, "GET", sharedCSS); resp.StatusCode != 200 {
		t.Fatalf("shared css after retirement: %d", resp.StatusCode)
	}
	if ts.Logs.FilterMessage("retired").FilterField(stringField("version", "v1")).Len() != 1 {
		t.Fatal("no log line for the retirement")
	}
}

func TestKeepLimitRetires(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	cfg := testConfig(t, dir)
	cfg.Keep = 1
	ts := startServer(t, cfg)
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	dropBuild(t, dir, filepath.Join(fixtures, "v3"), "v3")
	waitVersion(t, ts, "v3", 5*time.Second)
	// v2 is the one superseded build kept; v1 is beyond --keep 1.
	eventually(t, 5*time.Second, "v1 retired", func() bool {
		resp, _ := ts.get(t, "GET", v1About)
		return resp.Header.Get("Skewless-Asset") == "retired"
	})
	if resp, _ := ts.get(t, "GET", v2About); resp.StatusCode != 200 {
		t.Fatalf("v2 chunk: %d", resp.StatusCode)
	}
}

func TestRetiredMarkerSurvivesDeletionAndRestart(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	cfg := testConfig(t, dir)
	cfg.Grace = 0
	ts := startServer(t, cfg)
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	// With --grace 0 the snapshot that activates v2 already has v1
	// retired: no window in which its chunks still answer.
	if resp, _ := ts.get(t, "GET", v1About); resp.Header.Get("Skewless-Asset") != "retired" {
		t.Fatalf("v1 chunk right after the switch: %d %q", resp.StatusCode, resp.Header.Get("Skewless-Asset"))
	}
	ts.Stop()
	if err := os.RemoveAll(filepath.Join(dir, "v1")); err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, cfg)
	resp, _ := ts.get(t, "GET", v1About)
	if resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
		t.Fatalf("after deletion and restart: %d %q", resp.StatusCode, resp.Header.Get("Skewless-Asset"))
	}
}

func TestRemovingLiveFolderRetiresIt(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	if resp, _ := ts.get(t, "GET", v1About); resp.StatusCode != 200 {
		t.Fatalf("live chunk: %d", resp.StatusCode)
	}
	if err := os.RemoveAll(filepath.Join(dir, "v1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "removed live build's chunk retired", func() bool {
		resp, _ := ts.get(t, "GET", v1About)
		return resp.StatusCode == 404 && resp.Header.Get("Skewless-Asset") == "retired"
	})
	if v := ts.versionOf(t); v != "v2" {
		t.Fatalf("current changed: %q", v)
	}
	if resp, _ := ts.get(t, "GET", sharedCSS); resp.StatusCode != 200 {
		t.Fatalf("shared css: %d", resp.StatusCode)
	}
}

func TestRemovingCurrentFolderFallsBack(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	if err := os.RemoveAll(filepath.Join(dir, "v2")); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, ts, "v1", 5*time.Second)
	resp, _ := ts.get(t, "GET", v2About)
	if resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
		t.Fatalf("removed current's chunk: %d %q", resp.StatusCode, resp.Header.Get("Skewless-Asset"))
	}
}

func TestCorruptStateFileIsRebuilt(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1", "v2")
	if err := os.MkdirAll(filepath.Join(dir, ".skewless"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".skewless", "state.json"), []byte(`{"format": 1, "builds": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, testConfig(t, dir))
	if v := ts.versionOf(t); v != "v2" {
		t.Fatalf("version %q, want the newest valid build", v)
	}
	if ts.Logs.FilterMessage("state file unusable; rebuilding it from the build folders").Len() != 1 {
		t.Fatal("corrupt state not reported")
	}
	out, code := skewless(t, "status", "--builds", dir, "--json")
	if code != 0 || !strings.Contains(out, `"current": "v2"`) {
		t.Fatalf("state not rebuilt: exit %d\n%s", code, out)
	}
}

func TestStatusCommandJSON(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	if out, code := skewless(t, "status", "--builds", dir, "--json"); code != 0 || !strings.Contains(out, `"state": "pending"`) {
		t.Fatalf("a never-served valid folder is pending: exit %d\n%s", code, out)
	}
	if out, code := skewless(t, "status", "--builds", filepath.Join(dir, "nope")); code == 0 || !strings.Contains(out, "nope") {
		t.Fatalf("missing builds folder: exit %d\n%s", code, out)
	}
}
