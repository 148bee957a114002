package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/skewless/skewless/manifest"
	"github.com/skewless/skewless/server/client"
)

// benchServer builds the server over the fixtures without a listener, its
// access log encoding JSON into io.Discard (the cost of logging stays in).
func benchServer(b *testing.B, versions ...string) fasthttp.RequestHandler {
	b.Helper()
	cfg := testConfig(b, buildsWith(b, fixtures, versions...))
	loader := manifest.NewLoader(loaderConfig(cfg, zap.NewNop()))
	b.Cleanup(loader.Close)
	reg, err := manifest.NewRegistry(manifest.RegistryConfig{Dir: cfg.Builds, Loader: loader, Grace: cfg.Grace, Keep: cfg.Keep})
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reg.Close)
	<-reg.StartupDone()
	// Measure warm hits: the best variants made, as they are moments
	// after a build goes live.
	if err := loader.WaitCompressed(context.Background()); err != nil {
		b.Fatal(err)
	}
	helper, _ := manifest.NewContent("client.js", client.JS, reg.Snapshot().Current.Files["/index.html"].ModTime)
	lines := newLineWriter(zapcore.AddSync(io.Discard), 256<<10, time.Second)
	b.Cleanup(lines.Stop)
	access := newAccessLog(lines, false, encoderConfig(false, false))
	s := &server{cfg: cfg, builds: reg, log: zap.NewNop(), access: access, client: helper, events: newHub(reg, cfg.Heartbeat, cfg.MaxSSE), metrics: newMetrics()}
	s.metrics.follow(s)
	app := newApp(s)
	app.Handler() // builds the route tree, as Listener does
	return app.Server().Handler
}

func benchRequest(b *testing.B, h fasthttp.RequestHandler, path string, headers ...string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(path)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&ctx)
	if c := ctx.Response.StatusCode(); c >= 400 {
		b.Fatalf("%s: status %d", path, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		ctx.Response.Reset()
		h(&ctx)
	}
	// On a shared machine the time per request drifts with what else
	// runs; the CPU time the process spent per request much less.
	if cpu = processCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkAssetHit(b *testing.B) {
	h := benchServer(b, "v1")
	b.Run("identity", func(b *testing.B) { benchRequest(b, h, "/assets/about-Br9WxIf2.js") })
	b.Run("br", func(b *testing.B) {
		benchRequest(b, h, "/assets/report-BOLr84pY.js", "Accept-Encoding", "gzip, deflate, br, zstd")
	})
	b.Run("not-modified", func(b *testing.B) {
		benchRequest(b, h, "/assets/report-BOLr84pY.js", "If-None-Match", `"x", "y"`, "If-Modified-Since", "Sun, 22 Nov 2099 13:34:09 GMT")
	})
	b.Run("fallback", func(b *testing.B) { benchRequest(b, h, "/some/route", "Accept-Encoding", "br") })
	// A chunk as a browser asks for it: what the access line records
	// (user agent, referrer, query) is there, among the usual fields.
	b.Run("browser", func(b *testing.B) {
		benchRequest(b, h, "/assets/about-Br9WxIf2.js?v=1",
			"Host", "app.example.com",
			"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
			"Accept", "*/*", "Accept-Language", "en-GB,en;q=0.9", "Accept-Encoding", "gzip, deflate, br, zstd",
			"Referer", "https://app.example.com/settings/profile", "Sec-Fetch-Dest", "script", "Sec-Fetch-Mode", "cors",
			"Sec-Fetch-Site", "same-origin", "Cookie", "session=0123456789abcdef0123456789abcdef; theme=dark")
	})
	b.Run("live-build", func(b *testing.B) {
		hl := benchServer(b, "v1", "v2")
		benchRequest(b, hl, "/assets/about-Br9WxIf2.js")
	})
}

// BenchmarkInjectHead injects the helper into the fixture's index.html, as
// the loader does once per HTML file per build.
func BenchmarkInjectHead(b *testing.B) {
	doc, err := os.ReadFile(fixtures + "/v1/index.html")
	if err != nil {
		b.Fatal(err)
	}
	tag := helperTag("v1")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for range b.N {
		injectHead(doc, tag)
	}
}
