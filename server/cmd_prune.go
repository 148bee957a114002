package main

import (
	"context"
	"fmt"

	"github.com/skewless/skewless/manifest"
)

// runPrune is `skewless prune --builds DIR [--dry-run]`: it deletes the
// folders of retired builds, never those of current, live, ready, pending,
// invalid or blocked ones. Their retired markers stay (the path lists in
// .skewless/paths/), so their old URLs keep answering 404 retired.
func runPrune(args []string) error {
	fs := newFlagSet("prune", "--builds DIR [--dry-run]")
	var builds string
	var dry bool
	buildsFlag(fs, &builds)
	fs.BoolVar(&dry, "dry-run", false, "list what would be deleted, delete nothing")
	if _, err := commandArgs(fs, args); err != nil {
		return err
	}
	if err := checkBuildsFolder(builds); err != nil {
		return err
	}
	if m, ok := manifest.ClusterOf(builds); ok {
		// Its state file is not the cluster's: it may call retired a build
		// the cluster still serves.
		return fmt.Errorf("%s is a folder of cluster %q, whose builds are decided in Redis: prune does not delete a cluster's folders; "+
			"remove retired builds' folders by hand (skewless status --redis %s lists them)", builds, m.Cluster, m.Redis)
	}
	var list []manifest.PrunedBuild
	var err error
	if dry {
		list, err = manifest.PruneCandidates(builds)
	} else {
		list, err = manifest.Prune(context.Background(), builds)
	}
	if err != nil {
		return err
	}
	return printPruned(builds, list, dry)
}

// printPruned writes one line per build and a total; a folder that could
// not be deleted makes the command fail (exit 1) after the others.
func printPruned(builds string, list []manifest.PrunedBuild, dry bool) error {
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	var files, failed int
	var bytes int64
	for _, p := range list {
		if p.Err != nil {
			failed++
			fmt.Printf("kept %s: %v\n", p.Version, p.Err)
			continue
		}
		files += p.Files
		bytes += p.Bytes
		fmt.Printf("%s %s (%d files, %s)\n", verb, p.Version, p.Files, humanBytes(p.Bytes))
	}
	done := len(list) - failed
	switch {
	case len(list) == 0:
		fmt.Printf("nothing to prune in %s: no retired build has a folder\n", builds)
	case dry:
		fmt.Printf("%d retired build folders, %s; run without --dry-run to delete them (their retired markers stay)\n", done, humanBytes(bytes))
	default:
		fmt.Printf("pruned %d retired build folders, %d files, %s freed; their retired markers stay\n", done, files, humanBytes(bytes))
	}
	if failed > 0 {
		return fmt.Errorf("%d retired build folders could not be deleted (listed above)", failed)
	}
	return nil
}
