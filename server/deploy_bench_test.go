package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkDeployToFirstResponse measures the time from the rename of a
// complete build folder into the builds dir to the first response that
// carries its version (settle time included: the default 300ms). It reports
// the median, since a shared machine adds outliers to the mean.
//
//	go test ./server -run '^$' -bench DeployToFirstResponse -benchtime 20x
func BenchmarkDeployToFirstResponse(b *testing.B) {
	dir := buildsWith(b, fixtures, "v1")
	cfg := testConfig(b, dir)
	cfg.Settle = 300 * time.Millisecond
	ts := startServer(b, cfg)
	var took []time.Duration
	src := []string{"v2", "v3"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf("b%d", i)
		b.StopTimer()
		stage := filepath.Join(dir, "_"+v)
		copyTree(b, filepath.Join(fixtures, src[i%2]), stage)
		b.StartTimer()
		start := time.Now()
		renameInto(b, stage, filepath.Join(dir, v))
		for ts.versionOf(b) != v {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s not served within 10s", v)
			}
			time.Sleep(time.Millisecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
}
