package client_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// The package's tests share one browser and one build of the real binary;
// each test runs its own server process and opens its own tab.
var (
	skewlessBin   string          // the binary under test, built once
	variantsCache string          // the compressed variants every server shares
	browserCtx    context.Context // the browser; nil when chromium is missing
	browserErr    error           // why there is no browser
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "skewless-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	skewlessBin = filepath.Join(tmp, "skewless")
	variantsCache = filepath.Join(tmp, "variants")
	if err := os.Mkdir(variantsCache, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	build := exec.Command("go", "build", "-o", skewlessBin, "github.com/skewless/skewless/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build skewless: %v\n", err)
		return 1
	}

	cancel, err := startBrowser(filepath.Join(tmp, "profile"))
	if err != nil {
		browserErr = err
	} else {
		defer cancel()
	}
	return m.Run()
}

// startBrowser starts headless Chromium with a fresh profile. Its error
// is reported by the tests (a skip or, on CI, a failure), not here.
func startBrowser(profile string) (context.CancelFunc, error) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		return nil, fmt.Errorf("chromium not installed: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	browserCtx = bctx
	return func() { cancelBrowser(); cancelAlloc() }, nil
}
