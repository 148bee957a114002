package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBlankIndexNeverCurrent (issue 10): a build whose index.html is empty
// passes no validation: it never serves a byte, status says why, and
// `skewless deploy` refuses it with the same sentence.
func TestBlankIndexNeverCurrent(t *testing.T) {
	const problem = "index.html is empty: every route would show a blank page"
	dir := buildsWith(t, fixtures, "v1")
	ts := startServer(t, testConfig(t, dir))
	stage := filepath.Join(dir, "_blank")
	copyTree(t, filepath.Join(fixtures, "v2"), stage)
	if err := os.WriteFile(filepath.Join(stage, "index.html"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	renameInto(t, stage, filepath.Join(dir, "blank"))
	eventually(t, 5*time.Second, "blank reported invalid", func() bool {
		return ts.Logs.FilterMessage("build invalid").Len() > 0
	})
	if v := ts.versionOf(t); v != "v1" {
		t.Fatalf("a blank build became current: %q", v)
	}
	out, _ := skewless(t, "status", "--builds", dir)
	if !strings.Contains(out, "invalid") || !strings.Contains(out, problem) {
		t.Errorf("status does not say why blank is invalid:\n%s", out)
	}
	src := filepath.Join(t.TempDir(), "src")
	copyTree(t, filepath.Join(fixtures, "v2"), src)
	if err := os.WriteFile(filepath.Join(src, "index.html"), []byte("\n  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := skewless(t, "deploy", src, "--builds", dir, "--version", "v9")
	if code == 0 || !strings.Contains(out, problem) {
		t.Errorf("deploy of a blank build: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "v9")); err == nil {
		t.Error("deploy created the refused build")
	}
}
