package manifest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func inst(id string, loaded ...string) InstanceReport {
	r := InstanceReport{InstanceInfo: InstanceInfo{ID: id}, Loaded: map[string]string{}}
	for _, l := range loaded {
		v, d, _ := strings.Cut(l, "=")
		r.Loaded[v] = d
	}
	return r
}

// The barrier's decision, by case: who has the build, the clock, and
// whether the list of instances can be trusted.
func TestBarrier(t *testing.T) {
	since := planNow.Add(-10 * time.Second)
	prop := &Proposal{Version: "v3", Digest: "d3", Since: since, Deadline: since.Add(time.Minute)}
	late := planNow.Add(time.Minute)
	tests := []struct {
		name      string
		p         *Proposal
		instances []InstanceReport
		complete  bool
		now       time.Time
		want      string // "activate", "activate (timed out)", "wait", "wait until <deadline>"
		lacking   string
		digest    string
	}{
		{name: "no proposal", instances: []InstanceReport{inst("a")}, complete: true, now: planNow, want: "wait"},
		{name: "every live instance has it: activate", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b", "v3=d3", "v2=d2"), inst("c", "v3=d3")},
			complete:  true, now: planNow, want: "activate", lacking: "[]", digest: "d3"},
		{name: "one lacks it: wait until the deadline", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b", "v3=d3"), inst("c", "v2=d2")},
			complete:  true, now: planNow, want: "wait until deadline", lacking: "[c]"},
		{name: "other content under the same version is lacking it", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b", "v3=OTHER")},
			complete:  true, now: planNow, want: "wait until deadline", lacking: "[b]"},
		{name: "a list of instances that may be short: no activation", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3")},
			complete:  false, now: planNow, want: "wait", lacking: "[]"},
		{name: "past the deadline, two of three have it: activate without the laggard", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b", "v3=d3"), inst("c")},
			complete:  true, now: late, want: "activate (timed out)", lacking: "[c]"},
		{name: "past the deadline, half of two: activate", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b")},
			complete:  true, now: late, want: "activate (timed out)", lacking: "[b]"},
		{name: "past the deadline, one of three: keep waiting", p: prop,
			instances: []InstanceReport{inst("a", "v3=d3"), inst("b"), inst("c")},
			complete:  true, now: late, want: "wait", lacking: "[b c]"},
		{name: "nobody has it: wait", p: prop,
			instances: []InstanceReport{inst("a"), inst("b")},
			complete:  true, now: planNow, want: "wait", lacking: "[a b]"},
		{name: "proposed by the command (no digest): the content most have", p: &Proposal{Version: "v1", Since: since, Deadline: since.Add(time.Minute)},
			instances: []InstanceReport{inst("a", "v1=x"), inst("b", "v1=y"), inst("c", "v1=y")},
			complete:  true, now: planNow, want: "wait until deadline", lacking: "[a]", digest: "y"},
		{name: "proposed by the command, all alike: activate", p: &Proposal{Version: "v1", Since: since, Deadline: since.Add(time.Minute)},
			instances: []InstanceReport{inst("a", "v1=y"), inst("b", "v1=y")},
			complete:  true, now: planNow, want: "activate", lacking: "[]", digest: "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := barrier(tt.p, tt.instances, tt.complete, tt.now)
			got := "wait"
			switch {
			case v.Activate && v.TimedOut:
				got = "activate (timed out)"
			case v.Activate:
				got = "activate"
			case tt.p != nil && v.Wake.Equal(tt.p.Deadline):
				got = "wait until deadline"
			case !v.Wake.IsZero():
				got = "wait until " + v.Wake.String()
			}
			if got != tt.want {
				t.Errorf("verdict %q, want %q (%+v)", got, tt.want, v)
			}
			if tt.lacking != "" && fmt.Sprint(v.Lacking) != tt.lacking && !(tt.lacking == "[]" && len(v.Lacking) == 0) {
				t.Errorf("lacking %v, want %s", v.Lacking, tt.lacking)
			}
			if tt.digest != "" && v.Digest != tt.digest {
				t.Errorf("digest %q, want %q", v.Digest, tt.digest)
			}
		})
	}
}
