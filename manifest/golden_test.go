package manifest

// Every fixture build has a golden file, fixtures/golden/<folder>/<version>.tsv,
// with one line per file: "<url path>\t<hashed|plain>\t<reason>", a
// person's reading of the name. The classifier must agree on every line,
// with the build's own facts (its manifests) and no --immutable globs, and
// the golden file must list exactly the files the build serves.

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const fixturesDir = "../fixtures"

// goldenLine is one file's verdict in a golden file.
type goldenLine struct {
	hashed bool
	reason string
	line   int
}

// goldenFiles lists fixtures/golden/*/*.tsv. Under CI an empty list fails:
// the corpus is what proves the rules on real output.
func goldenFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixturesDir, "golden", "*", "*.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in %s/golden/<folder>/<version>.tsv: the classifier is unchecked against real builds", fixturesDir)
	}
	return files
}

func readGolden(t testing.TB, file string) map[string]goldenLine {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	golden := map[string]goldenLine{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.SplitN(text, "\t", 3)
		if len(fields) < 2 || (fields[1] != "hashed" && fields[1] != "plain") {
			t.Fatalf("%s:%d: want \"<url path>\\t<hashed|plain>\\t<reason>\", got %q", file, n, text)
		}
		p := "/" + strings.TrimPrefix(fields[0], "/")
		if _, dup := golden[p]; dup {
			t.Fatalf("%s:%d: %s listed twice", file, n, p)
		}
		gl := goldenLine{hashed: fields[1] == "hashed", line: n}
		if len(fields) == 3 {
			gl.reason = fields[2]
		}
		golden[p] = gl
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return golden
}

// goldenBuild is the build folder a golden file describes.
func goldenBuild(file string) (folder, version, dir string) {
	folder = filepath.Base(filepath.Dir(file))
	version = strings.TrimSuffix(filepath.Base(file), ".tsv")
	return folder, version, filepath.Join(fixturesDir, folder, version)
}

// goldenBase is the --base a fixture folder's builds are made for.
func goldenBase(folder string) string {
	if folder == "base-builds" {
		return "/app/" // Vite base: '/app/' (fixtures/app/vite.base.config.js)
	}
	return "/"
}

func TestGoldenClassification(t *testing.T) {
	for _, file := range goldenFiles(t) {
		folder, version, dir := goldenBuild(file)
		t.Run(folder+"/"+version, func(t *testing.T) {
			golden := readGolden(t, file)
			r, err := NewLoader(LoaderConfig{Base: goldenBase(folder)}).Report(dir)
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			if len(r.Problems) > 0 {
				t.Errorf("%s is not a ready build: %v", dir, r.Problems)
			}
			var hashed, immutable, mismatches int
			seen := map[string]bool{}
			for _, f := range r.Files {
				seen[f.Path] = true
				gl, ok := golden[f.Path]
				if !ok {
					t.Errorf("%s: %s is in the build but not in the golden file", file, f.Path)
					continue
				}
				if gl.hashed {
					hashed++
				}
				if f.Immutable {
					immutable++
				}
				if gl.hashed != f.Immutable {
					mismatches++
					t.Errorf("%s:%d: %s: golden says %s (%s), the classifier says %s by rule %s (%s)",
						file, gl.line, f.Path, verdict(gl.hashed), gl.reason, verdict(f.Immutable), f.Rule, f.Why)
				}
			}
			var extra []string
			for p := range golden {
				if !seen[p] {
					extra = append(extra, p)
				}
			}
			sort.Strings(extra)
			for _, p := range extra {
				t.Errorf("%s: %s is in the golden file but the build does not serve it", file, p)
			}
			t.Logf("%s/%s: %d files, %d hashed by golden, %d immutable by classifier, %d mismatches",
				folder, version, len(r.Files), hashed, immutable, mismatches)
		})
	}
}

func verdict(hashed bool) string {
	if hashed {
		return "hashed"
	}
	return "plain"
}

// goldenNames returns every file name of every golden file with its
// verdict, for the fuzz target's seeds.
func goldenNames(t testing.TB) map[string]bool {
	names := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(fixturesDir, "golden", "*", "*.tsv"))
	for _, file := range files {
		for p, gl := range readGolden(t, file) {
			names[strings.TrimPrefix(p, "/")] = gl.hashed
		}
	}
	return names
}
