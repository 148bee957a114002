// Command gen-build writes a synthetic SPA build (hashed JavaScript and
// CSS chunks sized like a bundler's, and an index.html) for load and
// restart benchmarks:
//
//	go run ./scripts/gen-build -out /tmp/builds/v1 -files 20000 -bytes 42MB
//	go run ./scripts/gen-build -out /tmp/builds/v2 -files 20000 -bytes 42MB -changed 0.05 -salt v2
//
// The same flags write the same bytes; -changed and -salt make a next
// build that shares the rest of its files with the first.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/skewless/skewless/manifest/manifesttest"
)

func main() {
	var (
		out     = flag.String("out", "", "folder to write the build into (required; created)")
		files   = flag.Int("files", 20000, "number of assets")
		size    = flag.String("bytes", "42MB", "total size of the assets (e.g. 42MB, 64MiB, 500000)")
		seed    = flag.Uint64("seed", 1, "seed: the same flags write the same bytes")
		changed = flag.Float64("changed", 0, "share of assets (0..1) whose bytes depend on -salt")
		salt    = flag.String("salt", "", "varies the -changed share between builds")
	)
	flag.Parse()
	n, err := parseSize(*size)
	if *out == "" || err != nil || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "gen-build: usage: gen-build -out DIR [-files N] [-bytes SIZE] [-seed N] [-changed F -salt S]")
		os.Exit(2)
	}
	paths, err := manifesttest.GenerateBuild(*out, manifesttest.GenSpec{Files: *files, Bytes: n, Seed: *seed, Changed: *changed, Salt: *salt})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen-build: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d assets, ~%d bytes\n", *out, len(paths), n)
}

// parseSize reads 42MB (10^6), 64MiB (2^20), 500KB, or plain bytes.
func parseSize(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			return int64(f * float64(u.mult)), err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
