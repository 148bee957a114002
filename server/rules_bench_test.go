package main

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAssetHitWithRules: a build with _headers (every path, the
// assets folder) and a _redirects with forced rules: an asset hit still
// costs a map lookup plus the forced rules' comparisons, and allocates
// nothing (the headers are prepared per file with the snapshot).
func BenchmarkAssetHitWithRules(b *testing.B) {
	dir := buildsWith(b, fixtures, "v1")
	for name, body := range map[string]string{
		"_headers": "/*\n  X-Frame-Options: DENY\n  Referrer-Policy: no-referrer\n/assets/*\n  Access-Control-Allow-Origin: *\n",
		"_redirects": "/old /about 301!\n/blog/* https://blog.example.com/:splat 302!\n/docs/:page /help/:page 301\n" +
			"/* /index.html 200\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "v1", name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	h := benchServerOn(b, dir)
	b.Run("identity", func(b *testing.B) { benchRequest(b, h, "/assets/about-Br9WxIf2.js") })
	b.Run("br", func(b *testing.B) {
		benchRequest(b, h, "/assets/report-BOLr84pY.js", "Accept-Encoding", "gzip, deflate, br, zstd")
	})
	b.Run("page", func(b *testing.B) { benchRequest(b, h, "/", "Accept-Encoding", "gzip, deflate, br, zstd") })
}
