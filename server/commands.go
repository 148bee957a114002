package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skewless/skewless/manifest"
)

func runDeploy(args []string) error {
	fs := newFlagSet("deploy", "SRC --builds DIR [--version V]")
	var builds, version, ready, base string
	buildsFlag(fs, &builds)
	builtBaseFlag(fs, &base)
	fs.StringVar(&version, "version", "", "the build's version (default: the git commit of the working directory, else a UTC timestamp)")
	fs.StringVar(&ready, "ready-file", "", "a file that must exist in the build (as the server's --ready-file)")
	pos, err := commandArgs(fs, args, "SRC")
	if err != nil {
		return err
	}
	if err := checkSourceFolder(pos[0]); err != nil {
		return err
	}
	if base, err = commandBase(base, builds); err != nil {
		return err
	}
	if version == "" {
		version = defaultVersion()
	} else if !manifest.ValidVersion(version) {
		return usagef("version %q is not a valid build name (letters, digits, '.', '_', '-'; starting with a letter or digit)", version)
	}
	l := manifest.NewLoader(manifest.LoaderConfig{ReadyFile: ready, Base: base})
	// The builds folder is made only for a valid build (Deploy creates
	// nothing otherwise).
	sum, err := manifest.Deploy(l, pos[0], builds, version)
	if err != nil {
		return describe(err)
	}
	fmt.Printf("deployed %s to %s (%d files, %s); a running server makes it current once it settles\n",
		version, filepath.Join(builds, version), sum.Files, humanBytes(sum.Bytes))
	return nil
}

// defaultVersion is the short git commit of the working directory, or a
// UTC timestamp outside a git checkout.
func defaultVersion() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if v := strings.TrimSpace(string(out)); err == nil && manifest.ValidVersion(v) {
		return v
	}
	return time.Now().UTC().Format("20060102T150405Z")
}

func runActivate(args []string) error {
	fs := newFlagSet("activate", "VERSION (--builds DIR | --redis URL [--cluster NAME])")
	var builds, base string
	buildsFlag(fs, &builds)
	builtBaseFlag(fs, &base)
	var cluster clusterCommand
	cluster.flags(fs, true)
	pos, err := commandArgs(fs, args, "VERSION")
	if err != nil {
		return err
	}
	v := pos[0]
	if !manifest.ValidVersion(v) {
		return usagef("%q is not a build version (letters, digits, '.', '_', '-'; starting with a letter or digit)", v)
	}
	if cluster.Redis != "" {
		return cluster.activate(v)
	}
	if err := checkBuildsFolder(builds); err != nil {
		return err
	}
	if err := notClusterFolder(builds); err != nil {
		return err
	}
	dir := filepath.Join(builds, v)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("no build %q in %s (skewless status --builds %s lists the builds)", v, builds, builds)
	}
	if base, err = commandBase(base, builds); err != nil {
		return err
	}
	sum, err := manifest.NewLoader(manifest.LoaderConfig{Base: base}).Inspect(v, dir)
	if err != nil {
		return describe(err)
	}
	store, err := manifest.OpenFileStore(builds, manifest.FileStoreConfig{OnCorrupt: func(err error) {
		fmt.Fprintf(os.Stderr, "warning: %v; rebuilt it\n", err)
	}})
	if err != nil {
		return err
	}
	defer store.Close()
	var prev string
	var was manifest.State
	h, err := store.Update(context.Background(), func(h *manifest.History) error {
		prev, was = h.Current, h.StateOf(v)
		if was == manifest.Blocked {
			return fmt.Errorf("%s is blocked: unblock it first (skewless unblock %s --builds %s)", v, v, builds)
		}
		// Checked again under the state's lock: `prune` deletes retired
		// builds' folders under it.
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("the folder of build %q is gone (pruned?)", v)
		}
		if prev != v {
			h.Activate(v, manifest.Summary{Files: sum.Files, Bytes: sum.Bytes}, time.Now())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if prev == v {
		fmt.Printf("%s is already current (seq %d)\n", v, h.Builds[v].Seq)
		return nil
	}
	fmt.Printf("%s is current (seq %d, previous: %s); %s\n", v, h.Seq, orNone(prev), followText(builds, was, sum))
	return nil
}

// followText says what a server does about an activation: a live or ready
// build is in its memory and serves within a second; any other is loaded
// first.
func followText(builds string, was manifest.State, sum manifest.Summary) string {
	holder, running := manifest.ServerRunning(builds)
	switch {
	case !running:
		return "no server is running on " + builds + ": the next one starts on it"
	case was == manifest.Live || was == manifest.Ready:
		return fmt.Sprintf("the running server (%s) follows within a second", holder)
	}
	return fmt.Sprintf("the running server (%s) loads it (%d files, %s), then serves it; the current build serves until then",
		holder, sum.Files, humanBytes(sum.Bytes))
}

func runStatus(args []string) error {
	fs := newFlagSet("status", "(--builds DIR | --redis URL [--cluster NAME]) [--json]")
	var builds, base string
	var asJSON bool
	buildsFlag(fs, &builds)
	builtBaseFlag(fs, &base)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	var cluster clusterCommand
	cluster.flags(fs, false)
	if _, err := commandArgs(fs, args); err != nil {
		return err
	}
	if cluster.Redis != "" {
		return cluster.status(asJSON)
	}
	if err := checkBuildsFolder(builds); err != nil {
		return err
	}
	if err := notClusterFolder(builds); err != nil {
		return err
	}
	base, err := commandBase(base, builds)
	if err != nil {
		return err
	}
	h, err := manifest.ReadHistory(builds)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %v\n", err)
	}
	present, err := manifest.PresentFolders(manifest.NewLoader(manifest.LoaderConfig{Base: base}), builds, h)
	if err != nil {
		return err
	}
	list := manifest.ListStatuses(h, present)
	tabs, err := manifest.ReadOpenTabs(builds)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %v\n", err)
	}
	if !tabs.Fresh(time.Now()) {
		tabs = manifest.OpenTabs{} // no server running (or none that reported lately)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		out := map[string]any{"current": h.Current, "seq": h.Seq, "policy": h.Policy, "builds": list}
		if !tabs.Updated.IsZero() {
			out["open_tabs"] = tabs
		}
		return enc.Encode(out)
	}
	printStatus(list, tabs)
	if h.Policy == nil && hasLive(list) {
		fmt.Println("(no server has recorded its --grace and --keep here yet: when live builds retire is unknown)")
	}
	return nil
}

func hasLive(list []manifest.BuildStatus) bool {
	for _, b := range list {
		if b.State == manifest.Live {
			return true
		}
	}
	return false
}

// printStatus prints the table, then what is wrong with builds and why
// they are blocked. OPEN TABS is "-" without a running server's report.
func printStatus(list []manifest.BuildStatus, tabs manifest.OpenTabs) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tSEQ\tACTIVATED\tSUPERSEDED\tRETIRES\tFILES\tSIZE\tOPEN TABS")
	for _, b := range list {
		state := b.State.String()
		if !b.Present {
			state += " (folder gone)"
		}
		open := "-"
		if !tabs.Updated.IsZero() {
			open = fmt.Sprint(tabs.Tabs[b.Version])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", b.Version, state, seqText(b.Seq),
			timeText(b.Activated), timeText(b.Superseded), timeText(b.Retires), b.Files, humanBytes(b.Bytes), open)
	}
	tw.Flush()
	for _, b := range list {
		if b.State == manifest.Blocked {
			fmt.Printf("%s: blocked %s: %s\n", b.Version, timeText(b.Blocked), orText(b.BlockReason, "no reason given"))
		}
		for _, p := range b.Problems {
			fmt.Printf("%s: %s\n", b.Version, p)
		}
	}
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// describe turns an invalid build into one line that lists every problem.
func describe(err error) error {
	var ie *manifest.InvalidError
	if errors.As(err, &ie) {
		return fmt.Errorf("build %q is not ready: %s", ie.Version, strings.Join(ie.Problems, "; "))
	}
	return err
}

func seqText(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
