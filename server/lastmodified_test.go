package main

// Last-Modified across deploys and rollbacks.
//
// Behaviours covered (issue 10, CONTRACT "Headers"):
//   - HTML and unhashed files: Last-Modified is never earlier than the
//     moment their build became current, so a cache that revalidates with
//     If-Modified-Since alone gets the new file after a deploy and after a
//     rollback, however old the files' times are (cp -a, deploy and
//     rollbacks keep them);
//   - Last-Modified is never in the future, and for a hashed file dated in
//     the future never later than the response's Date (RFC 9110 §8.8.2.1);
//   - hashed files keep their own time.

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setTimes dates every file under dir at t, as an archive or `cp -a` of an
// old build does.
func setTimes(tb testing.TB, dir string, t time.Time) {
	tb.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, t, t)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// lastModifiedOf returns a file's Last-Modified, checking it is not in the
// future.
func lastModifiedOf(t *testing.T, ts *testServer, p string) (time.Time, *http.Response) {
	t.Helper()
	resp, _ := ts.get(t, "GET", p)
	lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("GET %s: Last-Modified %q: %v", p, resp.Header.Get("Last-Modified"), err)
	}
	if now := time.Now(); lm.After(now) {
		t.Errorf("GET %s: Last-Modified %s is in the future (now %s)", p, imfDate(lm), imfDate(now))
	}
	return lm, resp
}

// notAfterDate checks a file dated in the future against the answer's Date.
func notAfterDate(t *testing.T, ts *testServer, p string) {
	t.Helper()
	lm, resp := lastModifiedOf(t, ts, p)
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("GET %s: Date %q: %v", p, resp.Header.Get("Date"), err)
	}
	if lm.After(date) {
		t.Errorf("GET %s: Last-Modified %s is later than Date %s", p, imfDate(lm), imfDate(date))
	}
}

// nextSecond waits until the clock is past the second of t: HTTP dates
// have one-second resolution, and two activations within one second share
// a Last-Modified (the ETag still tells them apart).
func nextSecond(t *testing.T, after time.Time) {
	t.Helper()
	eventually(t, 3*time.Second, "the next second", func() bool { return time.Now().Truncate(time.Second).After(after) })
}

// revalidate asks for p with If-Modified-Since: since and wants the whole
// page of version v.
func revalidate(t *testing.T, ts *testServer, p string, since time.Time, v string) {
	t.Helper()
	resp, body := ts.get(t, "GET", p, "If-Modified-Since: "+imfDate(since))
	assertStatus(t, resp, 200)
	if p == "/" && !strings.Contains(body, `data-version="`+v+`"`) {
		t.Errorf("GET %s since %s: not %s's page", p, imfDate(since), v)
	}
}

func TestLastModifiedMovesForward(t *testing.T) {
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := buildsWith(t, fixtures, "v1")
	setTimes(t, filepath.Join(dir, "v1"), old)
	stage := filepath.Join(dir, "_v2")
	copyTree(t, filepath.Join(fixtures, "v2"), stage)
	setTimes(t, stage, old)
	future := time.Now().Add(72 * time.Hour)
	if err := os.Chtimes(filepath.Join(stage, "favicon.svg"), future, future); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(stage, "assets", "about-DPfrhiVb.js"), future, future); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, testConfig(t, dir))

	page1, _ := lastModifiedOf(t, ts, "/")
	robots1, _ := lastModifiedOf(t, ts, "/robots.txt")
	for what, lm := range map[string]time.Time{"index.html": page1, "robots.txt": robots1} {
		if !lm.After(old) {
			t.Errorf("v1 %s: Last-Modified %s, the file's old time: not when v1 became current", what, imfDate(lm))
		}
	}
	if hashed, _ := lastModifiedOf(t, ts, viteV1Entry); !hashed.Equal(old) {
		t.Errorf("hashed file: Last-Modified %s, want its own time %s", imfDate(hashed), imfDate(old))
	}

	// A deploy of files as old: the page and robots.txt are newer.
	nextSecond(t, page1)
	renameInto(t, stage, filepath.Join(dir, "v2"))
	waitVersion(t, ts, "v2", 5*time.Second)
	page2, _ := lastModifiedOf(t, ts, "/")
	if !page2.After(page1) {
		t.Errorf("after the deploy: Last-Modified %s, not after v1's %s", imfDate(page2), imfDate(page1))
	}
	revalidate(t, ts, "/", page1, "v2")
	revalidate(t, ts, "/robots.txt", robots1, "v2")
	// Dated in the future: unhashed, it is dated by the activation;
	// hashed, it keeps a time no later than the answer's Date.
	lastModifiedOf(t, ts, "/favicon.svg")
	notAfterDate(t, ts, v2About)
	if hashed, _ := lastModifiedOf(t, ts, sharedCSS); !hashed.Equal(old) {
		t.Errorf("shared hashed file: Last-Modified %s, want %s", imfDate(hashed), imfDate(old))
	}

	// A rollback to v1: its page is newer than v2's, though v1 was loaded
	// and dated before.
	nextSecond(t, page2)
	if out, code := skewless(t, "activate", "v1", "--builds", dir); code != 0 {
		t.Fatalf("activate: %s", out)
	}
	waitVersion(t, ts, "v1", 5*time.Second)
	page3, _ := lastModifiedOf(t, ts, "/")
	if !page3.After(page2) {
		t.Errorf("after the rollback: Last-Modified %s, not after v2's %s", imfDate(page3), imfDate(page2))
	}
	revalidate(t, ts, "/", page2, "v1")
	// And a cache holding the current page is still told so.
	resp, _ := ts.get(t, "GET", "/", "If-Modified-Since: "+imfDate(page3))
	assertStatus(t, resp, 304)
}
