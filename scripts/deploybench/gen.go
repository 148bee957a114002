package main

import (
	"os"
	"path/filepath"

	"github.com/skewless/skewless/manifest/manifesttest"
)

// genBuild writes a generated build of n assets of about total bytes in
// all under dir (the generator scripts/gen-build uses, so both benchmarks
// measure the same shape of build) and returns the bytes written.
func genBuild(dir string, n int, total int64, seed uint64) (int64, error) {
	paths, err := manifesttest.GenerateBuild(dir, manifesttest.GenSpec{Files: n, Bytes: total, Seed: seed})
	if err != nil {
		return 0, err
	}
	var written int64
	for _, p := range append(paths, "index.html") {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return written, err
		}
		written += fi.Size()
	}
	return written, nil
}
