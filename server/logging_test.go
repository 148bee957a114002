package main

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

// syncBuffer is a WriteSyncer that records what reached it, safe for
// concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) Sync() error { return nil }
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ zapcore.WriteSyncer = (*syncBuffer)(nil)

// Lines from many writers all arrive, whole and in each writer's order,
// with a buffer small enough to force many flushes and some waiting.
func TestLineWriterKeepsEveryLine(t *testing.T) {
	out := &syncBuffer{}
	w := newLineWriter(out, 64, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Stop()
	next := map[string]int{}
	lines := bytes.Split(bytes.TrimSuffix([]byte(out.String()), []byte("\n")), []byte("\n"))
	if len(lines) != 8*500 {
		t.Fatalf("%d lines arrived, want %d", len(lines), 8*500)
	}
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(string(l), "%s line %d", &g, &i); err != nil {
			t.Fatalf("mangled line %q", l)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
}

// Lines are written within the interval without anyone asking.
func TestLineWriterFlushesOnInterval(t *testing.T) {
	out := &syncBuffer{}
	w := newLineWriter(out, 1<<20, 20*time.Millisecond)
	defer w.Stop()
	fmt.Fprintln(w, "hello")
	eventually(t, 2*time.Second, "line written", func() bool { return out.String() == "hello\n" })
}
