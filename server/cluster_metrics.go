package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skewless/skewless/manifest"
)

// followCluster registers cluster mode's series: whether Redis answers,
// whether this instance serves the cluster's current build, how long a
// proposed build has waited for the barrier, how many instances are live.
func (m *metrics) followCluster(s *server) {
	if s.cluster == nil {
		return
	}
	status := func(f func(st clusterView) float64) func() float64 {
		return func() float64 {
			if st := s.builds.Snapshot().Cluster; st != nil {
				return f(clusterView{st})
			}
			return 0
		}
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_redis_up", Help: "1 when the cluster's Redis answered the last heartbeat, else 0.",
		}, func() float64 { return boolGauge(s.cluster.Up()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_cluster_ready", Help: "1 when this instance serves the cluster's current build, else 0 (health answers 503).",
		}, status(func(v clusterView) float64 { return boolGauge(v.Ready) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_cluster_instances", Help: "Live instances of the cluster, this one included.",
		}, status(func(v clusterView) float64 { return float64(v.Instances) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_cluster_barrier_waiting_seconds", Help: "How long the proposed build has waited for every live instance to load it (0: none waits).",
		}, status(func(v clusterView) float64 { return v.waiting() })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_cluster_state_problem", Help: "1 when the cluster's state in Redis holds data skewless cannot use (decisions wait), else 0.",
		}, func() float64 { return boolGauge(s.cluster.Problem() != "") }),
	)
}

// clusterView reads a snapshot's cluster status for the gauges.
type clusterView struct{ *manifest.ClusterStatus }

func (v clusterView) waiting() float64 {
	if v.Proposed == "" {
		return 0
	}
	return time.Since(v.ProposedSince).Seconds()
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
