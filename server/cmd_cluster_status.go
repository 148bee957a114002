package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skewless/skewless/manifest"
)

// clusterStatusJSON is `status --redis --json`.
type clusterStatusJSON struct {
	Cluster   string                    `json:"cluster"`
	Current   string                    `json:"current"`
	Seq       uint64                    `json:"seq"`
	Proposed  *manifest.Proposal        `json:"proposed,omitempty"`
	Lacking   []string                  `json:"lacking,omitempty"`
	Builds    []manifest.BuildStatus    `json:"builds"`
	Instances []manifest.InstanceReport `json:"instances"`
	// OpenTabs adds up the instances' open tabs by build.
	OpenTabs map[string]int `json:"open_tabs"`
	// Problems: the state or reports under the cluster's keys that are
	// not skewless's.
	Problems []string `json:"problems,omitempty"`
}

// status lists the cluster's builds and its live instances: what each
// has loaded, serves, and when it last reported.
func (c *clusterCommand) status(asJSON bool) error {
	store, err := c.open()
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()
	out := clusterStatusJSON{Cluster: c.Name, Builds: []manifest.BuildStatus{}}
	h, err := store.Read(ctx)
	switch {
	case errors.Is(err, manifest.ErrForeignState):
		state, _ := store.Keys()
		out.Problems = append(out.Problems, fmt.Sprintf("%v; fix it, or delete it (redis-cli -u %s DEL %s): the running instances then write back what they serve",
			err, c.Redis, state))
		h = nil
	case err != nil && !errors.Is(err, manifest.ErrCorruptState):
		return err
	}
	live, bad, err := store.Instances(ctx)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(bad)) {
		out.Problems = append(out.Problems, "instance "+id+": "+bad[id])
	}
	out.Instances = live
	if out.Instances == nil {
		out.Instances = []manifest.InstanceReport{}
	}
	out.OpenTabs = map[string]int{}
	for _, r := range live {
		for v, n := range r.OpenTabs {
			out.OpenTabs[v] += n
		}
	}
	if h != nil {
		out.fill(h, live)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	out.print(c.Redis)
	if len(out.Problems) > 0 {
		return exitError{1}
	}
	return nil
}

func (o *clusterStatusJSON) fill(h *manifest.History, live []manifest.InstanceReport) {
	o.Current, o.Proposed = h.Current, h.Proposed
	if r := h.Builds[h.Current]; r != nil {
		o.Seq = r.Seq
	}
	present := map[string]manifest.FolderStatus{} // each instance reports its own folders
	for v := range h.Builds {
		present[v] = manifest.FolderStatus{}
	}
	if p := h.Proposed; p != nil && h.Builds[p.Version] == nil {
		present[p.Version] = manifest.FolderStatus{Pending: true, Files: p.Files, Bytes: p.Bytes}
	}
	if p := h.Proposed; p != nil {
		for _, r := range live {
			if d, ok := r.Loaded[p.Version]; !ok || (p.Digest != "" && d != p.Digest) {
				o.Lacking = append(o.Lacking, r.ID)
			}
		}
	}
	o.Builds = manifest.ListStatuses(h, present)
}

func (o *clusterStatusJSON) print(redisURL string) {
	fmt.Printf("cluster %s on %s: current %s", o.Cluster, manifest.RedactURL(redisURL), orNone(o.Current))
	if o.Seq > 0 {
		fmt.Printf(" (seq %d)", o.Seq)
	}
	fmt.Printf("; %d live instances\n", len(o.Instances))
	if p := o.Proposed; p != nil {
		fmt.Printf("proposed: %s by %s %s ago, waiting for every live instance to load it (deadline in %s); lacking: %s\n",
			p.Version, p.By, time.Since(p.Since).Round(time.Second), time.Until(p.Deadline).Round(time.Second), lacking(o.Instances, p.Version))
	}
	if len(o.Builds) > 0 {
		fmt.Println()
		printStatus(o.Builds, manifest.OpenTabs{Updated: time.Now(), Tabs: o.OpenTabs})
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tADDR\tPID\tSERVING\tREADY\tLOADED\tLAST HEARTBEAT")
	for _, r := range o.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s ago\n", r.ID, r.Addr, r.PID, orNone(r.Serving), yesNo(r.Ready),
			strings.Join(slices.Sorted(maps.Keys(r.Loaded)), " "), time.Since(r.Seen).Round(100*time.Millisecond))
	}
	tw.Flush()
	for _, r := range o.Instances {
		for _, v := range slices.Sorted(maps.Keys(r.Problems)) {
			fmt.Printf("%s: %s: %s\n", r.ID, v, strings.Join(r.Problems[v], "; "))
		}
		if len(r.Missing) > 0 {
			fmt.Printf("%s: no folder for %s\n", r.ID, strings.Join(r.Missing, ", "))
		}
	}
	for _, p := range o.Problems {
		fmt.Fprintln(os.Stderr, "problem:", p)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
