package main

// Deploy decisions that must hold on builds of any size (issue 10, and the
// retention by path of issue 8; CONTRACT.md "Deploying", "Serving" 4-5):
//   - the last explicit decision wins: an activate during a slow load is
//     followed within a second, and the loaded build ends ready;
//   - the port opens before any build loads; health is 503 until the
//     current build serves;
//   - changes inside a present build are served; an invalid change keeps
//     the last good load serving and is reported;
//   - one server per builds folder;
//   - a lost or corrupt state never reuses a sequence number;
//   - a live build serves every non-HTML file the current build lacks,
//     whatever its name; after it retires those paths answer retired, also
//     after a restart and the folder's deletion; HTML is only the current
//     build's.

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skewless/skewless/manifest"
)

// gate holds the loads of one version until released: a load made slow
// honestly, by waiting, as a large build's would be.
type gate struct {
	version string
	entered chan struct{} // closed when a held load has started
	release chan struct{}
	once    sync.Once
}

func newGate(version string) *gate {
	return &gate{version: version, entered: make(chan struct{}), release: make(chan struct{})}
}

// wrap is a serveHooks.loader.
func (g *gate) wrap(l manifest.BuildLoader) manifest.BuildLoader { return &gatedLoader{l, g} }

func (g *gate) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("no load of %s started within 10s", g.version)
	}
}

type gatedLoader struct {
	manifest.BuildLoader
	g *gate
}

func (l *gatedLoader) Load(ctx context.Context, version, dir string) (*manifest.Build, error) {
	if version == l.g.version {
		l.g.once.Do(func() { close(l.g.entered) })
		select {
		case <-l.g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return l.BuildLoader.Load(ctx, version, dir)
}

// statusJSON runs `skewless status --json` and returns each build's state.
func statusJSON(t *testing.T, dir string) (map[string]manifest.BuildStatus, uint64) {
	t.Helper()
	out, code := skewless(t, "status", "--builds", dir, "--json")
	var doc struct {
		Seq    uint64                 `json:"seq"`
		Builds []manifest.BuildStatus `json:"builds"`
	}
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &doc); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	m := map[string]manifest.BuildStatus{}
	for _, b := range doc.Builds {
		m[b.Version] = b
	}
	return m, doc.Seq
}

// A rollback during a slow load is followed within a second, and the slow
// build does not take over when its load ends: it is ready.
func TestRollbackDuringSlowLoad(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1", "v2")
	g := newGate("v3")
	ts := startServerLoaded(t, testConfig(t, dir), serveHooks{loader: g.wrap})
	waitVersion(t, ts, "v2", 5*time.Second)
	skewless(t, "--help") // build the binary before the clock matters

	dropBuild(t, dir, filepath.Join(fixtures, "v3"), "v3")
	g.waitEntered(t)
	out, code := skewless(t, "activate", "v1", "--builds", dir)
	if code != 0 || !strings.Contains(out, "v1 is current") || !strings.Contains(out, "follows within a second") {
		t.Fatalf("activate during the load: exit %d\n%s", code, out)
	}
	waitVersion(t, ts, "v1", churnFollowTimeout) // "within a second", with slack for -race

	close(g.release)
	eventually(t, 10*time.Second, "v3 ready once loaded", func() bool {
		return fetchVersionDoc(t, ts).buildStates()["v3"] == "ready"
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("the slow build took over after the rollback: version %q", v)
	}
	if st, _ := statusJSON(t, dir); st["v3"].State != manifest.Ready || st["v1"].State != manifest.Current {
		t.Fatalf("status: v3 %v, v1 %v; want ready and current", st["v3"].State, st["v1"].State)
	}
	// Activating the ready build is instant, and so is the restart's view.
	if out, code := skewless(t, "activate", "v3", "--builds", dir); code != 0 || !strings.Contains(out, "follows within a second") {
		t.Fatalf("activate v3: exit %d\n%s", code, out)
	}
	waitVersion(t, ts, "v3", churnFollowTimeout)
}

// The port opens before any build loads; health answers 503 until the
// current build serves, then 200.
func TestPortOpensBeforeLoading(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	g := newGate("v1")
	ts := startServerHooks(t, testConfig(t, dir), serveHooks{loader: g.wrap})
	g.waitEntered(t)
	resp, body := ts.get(t, "GET", "/_skewless/health")
	if resp.StatusCode != 503 {
		t.Fatalf("health while the current build loads: %d %s", resp.StatusCode, body)
	}
	if resp, _ := ts.get(t, "GET", "/"); resp.StatusCode != 503 || resp.Header.Get("Skewless-Version") != "" {
		t.Fatalf("a page while the current build loads: %d, version %q", resp.StatusCode, resp.Header.Get("Skewless-Version"))
	}
	close(g.release)
	eventually(t, 10*time.Second, "health 200 once v1 serves", func() bool {
		resp, _ := ts.get(t, "GET", "/_skewless/health")
		return resp.StatusCode == 200
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("version %q", v)
	}
}

// A taken port or a bad --addr fails at once, with one line, before any
// build is read.
func TestServeFailsFastOnTheAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := buildsWith(t, fixtures, "v1")
	for _, tc := range []struct{ addr, want string }{
		{taken.Addr().String(), "the port is in use"},
		{"nonsense:port", `cannot listen on \"nonsense:port\": the port \"port\" is not a number`},
	} {
		start := time.Now()
		out, code := skewless(t, "serve", "--builds", dir, "--addr", tc.addr, "--metrics-addr", "")
		t.Logf("--addr %s: exit %d after %s", tc.addr, code, time.Since(start).Round(time.Millisecond))
		if code == 0 || !strings.Contains(out, tc.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("--addr %s: exit %d, want one line with %q:\n%s", tc.addr, code, tc.want, out)
		}
	}
}

// One server per builds folder: a second one exits at once with one line
// naming the holder; the first keeps serving.
func TestSecondServerOnOneBuildsFolder(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	cmd, base := startBinary(t, "--builds", dir)
	out, code := skewless(t, "serve", "--builds", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "")
	want := "is already served by skewless pid " + strconv.Itoa(cmd.Process.Pid)
	if code == 0 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("second server: exit %d, want one line with %q:\n%s", code, want, out)
	}
	if resp, _ := do(t, "GET", base+"/_skewless/health"); resp.StatusCode != 200 {
		t.Fatalf("the first server after the second one's attempt: %d", resp.StatusCode)
	}
	// Deploys are decided once: one activation, one sequence number.
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	eventually(t, 5*time.Second, "v2 current", func() bool {
		resp, _ := do(t, "HEAD", base+"/")
		return resp.Header.Get("Skewless-Version") == "v2"
	})
	if _, seq := statusJSON(t, dir); seq != 2 {
		t.Fatalf("seq %d after one deploy over v1, want 2", seq)
	}
}

// Files added, edited or removed in the current build after it went live
// are served as they now are; status follows.
func TestChangesInsideTheCurrentBuild(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	v1 := filepath.Join(dir, "v1")
	writeInBuild(t, v1, "notes.txt", "to be removed")
	ts := startServer(t, testConfig(t, dir))
	if resp, _ := ts.get(t, "GET", "/notes.txt"); resp.StatusCode != 200 {
		t.Fatalf("notes.txt at start: %d", resp.StatusCode)
	}
	before, _ := statusJSON(t, dir)
	writeInBuild(t, v1, "robots.txt", "User-agent: *\nDisallow: /edited\n")
	writeInBuild(t, v1, "added/config.json", `{"added": true}`)
	if err := os.Remove(filepath.Join(v1, "notes.txt")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the edits served", func() bool {
		_, robots := ts.get(t, "GET", "/robots.txt")
		added, _ := ts.get(t, "GET", "/added/config.json")
		gone, _ := ts.get(t, "GET", "/notes.txt")
		return strings.Contains(robots, "/edited") && added.StatusCode == 200 && gone.StatusCode == 404
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("version %q", v)
	}
	// One file removed, one added; robots.txt grew.
	if st, _ := statusJSON(t, dir); st["v1"].Files != 9 || st["v1"].Bytes == before["v1"].Bytes || st["v1"].State != manifest.Current {
		t.Fatalf("status of v1: %+v, want current with 9 files and a new size (was %d bytes)", st["v1"], before["v1"].Bytes)
	}
}

// A change that makes a present build invalid is reported (log and
// status); its last good load keeps serving; a fix is served again.
func TestInvalidChangeKeepsTheLastGoodLoad(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	entry := "/assets/index-BUIHxmUq.js" // index.html loads it
	want := fixtureFileBytes(t, fixtures, "v1", entry)
	p := filepath.Join(dir, "v1", filepath.FromSlash(entry))
	if err := os.Rename(p, p+".away"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the invalid change reported", func() bool {
		return ts.Logs.FilterMessage("build folder changed into an invalid build; its last good load keeps serving").Len() > 0
	})
	if resp, body := ts.get(t, "GET", entry); resp.StatusCode != 200 || body != string(want) {
		t.Fatalf("the last good load's entry script: %d", resp.StatusCode)
	}
	if _, body := ts.get(t, "GET", "/"); !strings.Contains(body, `data-version="v1"`) {
		t.Fatal("the page is not v1's")
	}
	out, _ := skewless(t, "status", "--builds", dir)
	if !regexpMatch(`(?m)^v1\s+current\s`, out) || !strings.Contains(out, "v1: index.html loads "+entry+", which is not in the build") {
		t.Fatalf("status does not report the problem:\n%s", out)
	}
	if err := os.Rename(p+".away", p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the fix clears the problem", func() bool {
		st, _ := statusJSON(t, dir)
		return st["v1"].State == manifest.Current && len(st["v1"].Problems) == 0
	})
}

// firstEventID opens an event stream and returns the id of its first
// version event: the sequence number a tab sees.
func firstEventID(t *testing.T, base string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/_skewless/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no event id: %v", sc.Err())
	return 0
}

// A lost or corrupt state file never makes the server hand out a sequence
// number a tab may have seen (its Last-Event-ID would be taken as current).
func TestLostStateNeverReusesASequence(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1", "v2", "v3")
	ts := startServer(t, testConfig(t, dir))
	for _, v := range []string{"v1", "v2", "v3", "v1"} {
		if out, code := skewless(t, "activate", v, "--builds", dir); code != 0 {
			t.Fatalf("activate %s: %s", v, out)
		}
		waitVersion(t, ts, v, 5*time.Second)
	}
	seen := firstEventID(t, ts.URL)
	ts.Stop()
	state := filepath.Join(dir, manifest.StateDir, "state.json")
	for _, damage := range []string{"corrupt", "deleted"} {
		if damage == "corrupt" {
			if err := os.WriteFile(state, []byte(`{"format": 1, "builds": {`), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(state); err != nil {
			t.Fatal(err)
		}
		ts = startServer(t, testConfig(t, dir))
		id := firstEventID(t, ts.URL)
		t.Logf("state %s: the sequence went from %d to %d", damage, seen, id)
		if id <= seen {
			t.Fatalf("state %s: event id %d, not above the %d a tab has seen", damage, id, seen)
		}
		seen = id
		ts.Stop()
	}
}

// Retention by path: a live build serves every non-HTML file the current
// build lacks, hashed name or not; once it retires, those paths answer
// retired, also after a restart and the deletion of its folder. An old
// build's HTML is never served.
func TestRetentionByPath(t *testing.T) {
	dir := buildsWith(t, fixtures, "v1")
	oldOnly := map[string]string{
		"/old-config.json":     `{"api": "/v1"}`,     // unhashed
		"/assets/Pdb96Lyk.js":  "export const a = 1", // a bare hash, as SvelteKit names chunks
		"/nodes/3.CZrBLVbl.js": "export const b = 2", // a hash after a dot
	}
	for p, body := range oldOnly {
		writeInBuild(t, filepath.Join(dir, "v1"), strings.TrimPrefix(p, "/"), body)
	}
	writeInBuild(t, filepath.Join(dir, "v1"), "old-page.html", "<p>v1's own page</p>")
	cfg := testConfig(t, dir)
	ts := startServer(t, cfg)
	dropBuild(t, dir, filepath.Join(fixtures, "v2"), "v2")
	waitVersion(t, ts, "v2", 5*time.Second)
	for p, body := range oldOnly {
		resp, got := ts.get(t, "GET", p)
		if resp.StatusCode != 200 || got != body {
			t.Errorf("GET %s during grace: %d %q, want v1's file", p, resp.StatusCode, got)
		}
	}
	if resp, body := ts.get(t, "GET", "/old-page.html"); resp.StatusCode != 404 || strings.Contains(body, "v1's own page") {
		t.Errorf("an old build's HTML was served: %d %q", resp.StatusCode, body)
	}
	ts.Stop()

	// Restarted with --grace 0, v1 retires at once; then its folder goes.
	cfg.Grace = 0
	for _, step := range []string{"retired", "folder deleted"} {
		if step == "folder deleted" {
			if err := os.RemoveAll(filepath.Join(dir, "v1")); err != nil {
				t.Fatal(err)
			}
		}
		ts = startServer(t, cfg)
		for p := range oldOnly {
			resp, _ := ts.get(t, "GET", p)
			if resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
				t.Errorf("%s: GET %s: %d %q, want 404 retired", step, p, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
			}
		}
		if resp, _ := ts.get(t, "GET", "/old-page.html"); resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") == "retired" {
			t.Errorf("%s: the old build's HTML: %d %q, want 404, not remembered", step, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
		}
		ts.Stop()
	}
	// The state stays small: path lists live beside it.
	if b, err := os.ReadFile(filepath.Join(dir, manifest.StateDir, "state.json")); err != nil || strings.Contains(string(b), "old-config.json") {
		t.Errorf("state.json holds path lists (%v):\n%s", err, b)
	}
}

// A state file written before path lists (hashed paths inline) keeps its
// retired markers.
func TestRetiredMarkerFromAnOldStateFile(t *testing.T) {
	dir := buildsWith(t, fixtures, "v2")
	old := `{"format": 1, "rev": 3, "seq": 2, "current": "v2", "builds": {
	  "v1": {"seq": 1, "activated": "2026-11-20T10:00:00Z", "superseded": "2026-11-22T10:00:00Z", "retired": "2026-11-23T10:00:00Z",
	         "files": 8, "hashed": ["/assets/about-Br9WxIf2.js"]},
	  "v2": {"seq": 2, "activated": "2026-11-22T10:00:00Z", "files": 8}}}`
	if err := os.MkdirAll(filepath.Join(dir, manifest.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.StateDir, "state.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, testConfig(t, dir))
	if resp, _ := ts.get(t, "GET", v1About); resp.StatusCode != 404 || resp.Header.Get("Skewless-Asset") != "retired" {
		t.Fatalf("GET %s: %d %q, want 404 retired", v1About, resp.StatusCode, resp.Header.Get("Skewless-Asset"))
	}
}
