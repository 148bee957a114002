package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// genBuild writes a build of n JavaScript files of about total bytes in
// all under dir, shaped like a bundler's output: an index.html loading an
// entry chunk, and chunks named name-<8 base64url hash>.js whose content
// looks like minified code (identifiers and literals from a seeded PRNG,
// so two seeds give two builds that share nothing, and the bytes compress
// as code does). It returns the bytes written.
func genBuild(dir string, n int, total int64, seed uint64) (int64, error) {
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	avg := max(total/int64(n), 64)
	var written int64
	entry := ""
	for i := range n {
		size := avg/2 + rng.Int64N(avg+1) // avg/2 .. 3avg/2
		body := jsBody(rng, int(size), i)
		sum := sha256.Sum256(body)
		name := fmt.Sprintf("assets/m%d-%s.js", i, base64.RawURLEncoding.EncodeToString(sum[:])[:8])
		if i == 0 {
			entry = name
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), body, 0o644); err != nil {
			return written, err
		}
		written += int64(len(body))
	}
	index := `<!doctype html><html><head><meta charset="utf-8"><title>generated</title>` +
		`<script type="module" src="/` + entry + `"></script></head><body><div id="app"></div></body></html>` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(index), 0o644); err != nil {
		return written, err
	}
	return written + int64(len(index)), nil
}

var words = strings.Fields(`const let function return if else for while new this true false null
	export import from default async await class extends super typeof instanceof delete void`)

// jsBody is size bytes of minified-looking JavaScript.
func jsBody(rng *rand.Rand, size, i int) []byte {
	var b strings.Builder
	b.Grow(size + 64)
	fmt.Fprintf(&b, "export const m%d=", i)
	for b.Len() < size {
		switch rng.IntN(4) {
		case 0:
			b.WriteString(words[rng.IntN(len(words))])
		case 1:
			fmt.Fprintf(&b, "_%x", rng.Uint32()&0xffff)
		case 2:
			fmt.Fprintf(&b, "%q", fmt.Sprintf("s%d", rng.IntN(5000)))
		default:
			b.WriteString([]string{"(", ")", "{", "}", ";", ",", "=>", "=", "+", "."}[rng.IntN(10)])
		}
		b.WriteByte(' ')
	}
	b.WriteString(";\n")
	return []byte(b.String())
}
