package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/skewless/skewless/manifest"
)

// clusterCommand is what `activate`, `status` (and the other commands
// that work on a cluster) need to reach it: --redis, --cluster, and for
// activate, --timeout.
type clusterCommand struct {
	clusterConfig
	Timeout time.Duration
}

func (c *clusterCommand) flags(fs *flag.FlagSet, timeout bool) {
	clusterFlags(fs, &c.clusterConfig, false)
	if timeout {
		fs.DurationVar(&c.Timeout, "timeout", time.Minute,
			"cluster mode: how long to wait for every live instance to load the build (then it goes live if at least half have it)")
	}
}

func (c *clusterCommand) open() (*manifest.RedisStore, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return manifest.OpenRedisStore(manifest.RedisStoreConfig{URL: c.Redis, Cluster: c.Name})
}

// activate makes v the cluster's current build through the barrier: it
// proposes v and waits until the instances activate it, which they do at
// once when every live one has it loaded (a rollback to a live build). It
// fails, withdrawing its proposal, when no live instance has the build's
// folder, when a later decision replaces it, or past --timeout (and a
// little more, for the instances to apply the timeout rule). With no
// instance running, v is current at once: the next one to start loads it.
func (c *clusterCommand) activate(v string) error {
	store, err := c.open()
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()
	live, _, err := store.Instances(ctx)
	if err != nil {
		return err
	}
	if why := hopeless(live, v); len(live) > 0 && why != "" {
		return fmt.Errorf("%s: %s; nothing changed", v, why)
	}
	var prev string
	var prevSeq, decision uint64
	h, err := store.Update(ctx, func(h *manifest.History) error {
		prev, prevSeq, decision = h.Current, h.Seq, 0
		switch {
		case h.StateOf(v) == manifest.Blocked:
			return fmt.Errorf("%s is blocked: unblock it first (skewless unblock %s --redis %s)", v, v, manifest.RedactURL(c.Redis))
		case h.Current == v:
		case len(live) == 0:
			return activateAlone(h, v)
		default:
			decision = h.Propose(manifest.Proposal{Version: v, Deadline: time.Now().Add(c.Timeout), By: store.Self(), Explicit: true}, time.Now()).Decision
		}
		return nil
	})
	switch {
	case err != nil:
		return errForeign(err, store, c.clusterConfig)
	case prev == v:
		fmt.Printf("%s is already current (seq %d)\n", v, h.Builds[v].Seq)
		return nil
	case decision == 0:
		fmt.Printf("%s is current (seq %d, previous: %s); no instance of cluster %q is running: the next one to start serves it\n",
			v, h.Seq, orNone(prev), c.Name)
		return nil
	}
	return c.await(ctx, store, v, prev, prevSeq, decision)
}

// activateAlone activates v with no instance to pass a barrier.
func activateAlone(h *manifest.History, v string) error {
	r := h.Builds[v]
	if r == nil {
		return fmt.Errorf("%q is unknown to the cluster and no instance is running to load it", v)
	}
	digest := r.Digest
	h.Propose(manifest.Proposal{Version: v}, time.Now()) // a decision, as any activation
	h.Activate(v, manifest.Summary{Files: r.Files, Bytes: r.Bytes}, time.Now())
	h.Builds[v].Digest, h.Proposed = digest, nil
	return nil
}

// await follows the proposal until the instances activate it or it fails.
func (c *clusterCommand) await(ctx context.Context, store *manifest.RedisStore, v, prev string, prevSeq, decision uint64) error {
	start := time.Now()
	giveUp := start.Add(c.Timeout + 5*time.Second)
	var live []manifest.InstanceReport
	for tick := 0; ; tick++ {
		time.Sleep(50 * time.Millisecond)
		h, err := store.Read(ctx)
		if err != nil {
			if time.Now().After(giveUp) {
				return fmt.Errorf("%s: no answer from redis: %w", v, err)
			}
			continue
		}
		if r := h.Builds[v]; h.Current == v && r != nil && r.Seq > prevSeq {
			return c.activated(ctx, store, v, prev, r.Seq, time.Since(start))
		}
		if h.Proposed == nil || h.Proposed.Decision != decision {
			return fmt.Errorf("%s did not become current: a later decision replaced it (current %s, proposed %s)",
				v, orNone(h.Current), orNone(proposedName(h)))
		}
		if live, _, err = store.Instances(ctx); err != nil {
			continue
		}
		if why := hopeless(live, v); why != "" || time.Now().After(giveUp) {
			if why == "" {
				why = fmt.Sprintf("not every live instance loaded it within %s (%s)", c.Timeout, lacking(live, v))
			}
			withdraw(ctx, store, decision)
			return fmt.Errorf("%s did not become current: %s; nothing changed", v, why)
		}
	}
}

// hopeless says why a proposal cannot pass: every live instance lacks the
// build's folder.
func hopeless(live []manifest.InstanceReport, v string) string {
	if len(live) == 0 {
		return "every instance left the cluster"
	}
	for _, r := range live {
		if slices.Contains(r.Folders, v) {
			return ""
		}
	}
	return fmt.Sprintf("no live instance has a folder %q (deploy it to their builds folders first)", v)
}

func withdraw(ctx context.Context, store *manifest.RedisStore, decision uint64) {
	_, _ = store.Update(ctx, func(h *manifest.History) error {
		h.Withdraw(decision)
		return nil
	})
}

// activated reports the activation once the instances serve it.
func (c *clusterCommand) activated(ctx context.Context, store *manifest.RedisStore, v, prev string, seq uint64, took time.Duration) error {
	var live []manifest.InstanceReport
	deadline := time.Now().Add(2 * time.Second) // each switches within 250 ms and reports it at once
	for {
		live, _, _ = store.Instances(ctx)
		if serving(live, v) == len(live) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("%s is current (seq %d, previous: %s) after %s; %d of %d instances serve it",
		v, seq, orNone(prev), took.Round(time.Millisecond), serving(live, v), len(live))
	if n := serving(live, v); n < len(live) {
		fmt.Printf("; the others answer health 503 until they load it: %s", lacking(live, v))
	}
	fmt.Println()
	return nil
}

func serving(live []manifest.InstanceReport, v string) int {
	n := 0
	for _, r := range live {
		if r.Serving == v {
			n++
		}
	}
	return n
}

// lacking lists the live instances that do not have v loaded, with why.
func lacking(live []manifest.InstanceReport, v string) string {
	var out []string
	for _, r := range live {
		if _, ok := r.Loaded[v]; ok {
			continue
		}
		why := "not loaded"
		switch {
		case slices.Contains(r.Missing, v):
			why = "no folder"
		case slices.Contains(r.Loading, v):
			why = "loading"
		case len(r.Problems[v]) > 0:
			why = "invalid: " + strings.Join(r.Problems[v], "; ")
		}
		out = append(out, r.ID+": "+why)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func proposedName(h *manifest.History) string {
	if h.Proposed == nil {
		return ""
	}
	return h.Proposed.Version
}

// errForeign tells a person what to do with a state skewless cannot use.
func errForeign(err error, store *manifest.RedisStore, c clusterConfig) error {
	if !errors.Is(err, manifest.ErrForeignState) {
		return err
	}
	state, _ := store.Keys()
	fmt.Fprintf(os.Stderr, "the cluster's state is unusable: %v\nfix it, or delete it (redis-cli -u %s DEL %s): the running instances then write back what they serve\n",
		err, c.Redis, state)
	return exitError{1}
}
