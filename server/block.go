package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/skewless/skewless/manifest"
)

// runBlock declares a build unsafe: a running server stops serving its
// files (404 blocked) and the tabs running it leave it.
func runBlock(args []string) error {
	fs := newFlagSet("block", "VERSION (--builds DIR | --redis URL [--cluster NAME]) [--reason TEXT]")
	var builds, reason string
	buildsFlag(fs, &builds)
	fs.StringVar(&reason, "reason", "", "why the build is blocked (status shows it)")
	var cluster clusterCommand
	cluster.flags(fs, false)
	pos, err := commandArgs(fs, args, "VERSION")
	if err != nil {
		return err
	}
	v := pos[0]
	var already bool
	err = updateBuild(cluster, builds, v, func(h *manifest.History) error {
		if r := h.Builds[v]; r != nil && !r.Blocked.IsZero() {
			already = true
			return nil
		}
		return h.Block(v, reason, time.Now())
	})
	switch {
	case errors.Is(err, manifest.ErrBlockCurrent):
		where := "--builds " + builds
		if cluster.Redis != "" {
			where = "--redis " + manifest.RedactURL(cluster.Redis)
		}
		return fmt.Errorf("%s is the current build: activate another first (skewless activate OTHER %s), then block %s",
			v, where, v)
	case err != nil:
		return err
	case already:
		fmt.Printf("%s is already blocked\n", v)
	default:
		fmt.Printf("%s is blocked; a running server follows within a second: its files answer 404 (Skewless-Asset: blocked) "+
			"and tabs running it load the current build at their next navigation\n", v)
	}
	return nil
}

// runUnblock lifts a block: the build is again what its times say.
func runUnblock(args []string) error {
	fs := newFlagSet("unblock", "VERSION (--builds DIR | --redis URL [--cluster NAME])")
	var builds string
	buildsFlag(fs, &builds)
	var cluster clusterCommand
	cluster.flags(fs, false)
	pos, err := commandArgs(fs, args, "VERSION")
	if err != nil {
		return err
	}
	v := pos[0]
	var was bool
	var now manifest.State
	err = updateBuild(cluster, builds, v, func(h *manifest.History) error {
		was = h.Unblock(v)
		now = h.StateOf(v)
		return nil
	})
	switch {
	case err != nil:
		return err
	case !was:
		fmt.Printf("%s is not blocked\n", v)
	default:
		fmt.Printf("%s is unblocked: %s\n", v, now)
	}
	return nil
}

// updateBuild changes the state of builds under its lock, for a build the
// folder has or the history knows; with --redis, the cluster's state, for
// a build the cluster knows.
func updateBuild(cluster clusterCommand, builds, v string, fn func(h *manifest.History) error) error {
	if !manifest.ValidVersion(v) {
		return usagef("%q is not a build version (letters, digits, '.', '_', '-'; starting with a letter or digit)", v)
	}
	if cluster.Redis != "" {
		return updateClusterBuild(cluster, v, fn)
	}
	if err := checkBuildsFolder(builds); err != nil {
		return err
	}
	if err := notClusterFolder(builds); err != nil {
		return err
	}
	info, statErr := os.Stat(filepath.Join(builds, v))
	present := statErr == nil && info.IsDir()
	if h, _ := manifest.ReadHistory(builds); !present && h.Builds[v] == nil {
		return fmt.Errorf("no build %q in %s", v, builds) // before the store: a failed command creates nothing
	}
	store, err := manifest.OpenFileStore(builds, manifest.FileStoreConfig{OnCorrupt: func(err error) {
		fmt.Fprintf(os.Stderr, "warning: %v; rebuilt it\n", err)
	}})
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = store.Update(context.Background(), func(h *manifest.History) error {
		if !present && h.Builds[v] == nil {
			return fmt.Errorf("no build %q in %s", v, builds)
		}
		return fn(h)
	})
	return err
}

// updateClusterBuild is updateBuild on the cluster's state in Redis: its
// instances follow within a second, as they do for a local state file.
func updateClusterBuild(cluster clusterCommand, v string, fn func(h *manifest.History) error) error {
	store, err := cluster.open()
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = store.Update(context.Background(), func(h *manifest.History) error {
		if h.Builds[v] == nil {
			return fmt.Errorf("no build %q in cluster %q (skewless status --redis URL lists its builds)", v, cluster.Name)
		}
		return fn(h)
	})
	return errForeign(err, store, cluster.clusterConfig)
}
