package manifest

// Content shared between builds: by the SHA-256 of the bytes (and the
// type), never by a file's name, size and time.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadReusesContent: a second build sharing unchanged files with the
// first (copied with their times) shares their prepared content.
func TestLoadReusesContent(t *testing.T) {
	root := t.TempDir()
	dirA, dirB := filepath.Join(root, "a"), filepath.Join(root, "b")
	copyBuild(t, fixtureV1, dirA)
	copyBuild(t, fixtureV1, dirB)
	changed := filepath.Join(dirB, "robots.txt")
	if err := os.WriteFile(changed, []byte("User-agent: *\nDisallow: /private\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := newLoader(t, LoaderConfig{})
	a := load(t, l, "a", dirA)
	b := load(t, l, "b", dirB)
	if b.Reused != len(b.Files)-1 {
		t.Errorf("Reused = %d, want %d (every file but robots.txt)", b.Reused, len(b.Files)-1)
	}
	for p, fb := range b.Files {
		fa := a.Files[p]
		if same := fa.Content == fb.Content; same == (p == "/robots.txt") {
			t.Errorf("%s: shares content = %v", p, same)
		}
	}
	if got := string(b.Files["/robots.txt"].Identity.Bytes()); !strings.Contains(got, "/private") {
		t.Errorf("b's robots.txt = %q, the old content", got)
	}

	// Same bytes under another time: read again, but the same prepared
	// content, Last-Modified included, so caches holding a's copy stay
	// valid. The same bytes as another type are a content of their own.
	dirC := filepath.Join(root, "c")
	copyBuild(t, fixtureV1, dirC)
	js := filepath.Join(dirC, "assets", "report-BOLr84pY.js")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(js, later, later); err != nil {
		t.Fatal(err)
	}
	jsBytes, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirC, "report.txt"), jsBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, l, "c", dirC)
	fa, fc := a.Files["/assets/report-BOLr84pY.js"], c.Files["/assets/report-BOLr84pY.js"]
	if fa.Content != fc.Content {
		t.Error("the same bytes under a new time were prepared again")
	}
	txt := c.Files["/report.txt"]
	if txt.Content == fa.Content || txt.ContentType != "text/plain; charset=utf-8" || txt.Hash != fa.Hash {
		t.Errorf("the same bytes as text: shared %v, type %q", txt.Content == fa.Content, txt.ContentType)
	}
	if c.Reused != len(c.Files)-1 {
		t.Errorf("c: Reused = %d, want %d (all but report.txt)", c.Reused, len(c.Files)-1)
	}

	// Retain forgets what no kept build uses: a's robots.txt (c reused
	// it, b has its own) is prepared anew when a is loaded again; what b
	// shares with a is still reused.
	l.Retain([]*Build{b})
	a2 := load(t, l, "a", dirA)
	if a2.Files["/robots.txt"].Content == a.Files["/robots.txt"].Content {
		t.Error("Retain kept content only forgotten builds used")
	}
	if a2.Files["/index.html"].Content != b.Files["/index.html"].Content {
		t.Error("Retain dropped content a kept build uses")
	}
	if a2.Reused != len(a2.Files)-1 {
		t.Errorf("a2: Reused = %d, want %d", a2.Reused, len(a2.Files)-1)
	}
}

// TestLoadSameStatOtherBytes (issue 10): two builds whose files have the
// same path, size and modification time but other bytes — reproducible
// builds (SOURCE_DATE_EPOCH), files from tar or image layers — each serve
// their own bytes. Content is shared by its SHA-256, never by stat.
func TestLoadSameStatOtherBytes(t *testing.T) {
	epoch := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) // SOURCE_DATE_EPOCH-style
	files := func(env, color string) map[string]string {
		return map[string]string{
			"index.html":             page(`<link rel="stylesheet" href="/theme.css">`),
			"config.json":            `{"api": "https://` + env + `.example.com"}`,
			"theme.css":              strings.Repeat("body{color:#"+color+"}\n", 20),
			"assets/app-BRh8Y3xK.js": "export const same = 1;",
		}
	}
	dirA, dirB := writeBuild(t, files("aaaa", "111111")), writeBuild(t, files("bbbb", "222222"))
	for _, dir := range []string{dirA, dirB} {
		for _, rel := range []string{"index.html", "config.json", "theme.css", "assets/app-BRh8Y3xK.js"} {
			if err := os.Chtimes(filepath.Join(dir, rel), epoch, epoch); err != nil {
				t.Fatal(err)
			}
		}
	}
	l := newLoader(t, LoaderConfig{})
	a := load(t, l, "a", dirA)
	b := load(t, l, "b", dirB)
	for _, p := range []string{"/config.json", "/theme.css"} {
		want, err := os.ReadFile(filepath.Join(dirB, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Files[p].Identity.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("b%s = %q, want b's own bytes %q", p, got, want)
		}
		if b.Files[p].Content == a.Files[p].Content {
			t.Errorf("b%s shares a's content", p)
		}
	}
	if b.Files["/assets/app-BRh8Y3xK.js"].Content != a.Files["/assets/app-BRh8Y3xK.js"].Content {
		t.Error("the same bytes were not shared")
	}
	if err := l.WaitCompressed(t.Context()); err != nil {
		t.Fatal(err)
	}
	css := b.Files["/theme.css"]
	if got := string(gunzip(t, css.Variant(Gzip).Bytes())); !strings.Contains(got, "222222") {
		t.Errorf("b's gzip variant decodes to %.40q, not b's bytes", got)
	}
}
