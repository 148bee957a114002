package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

// metrics are the server's Prometheus series. Request counters are made
// once per outcome so counting a request is an atomic add, no lookup.
type metrics struct {
	reg         *prometheus.Registry
	requests    [len(outcomeNames)]prometheus.Counter
	activations prometheus.Counter
}

func newMetrics(s *server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skewless_requests_total", Help: "Requests answered, by outcome.",
	}, []string{"outcome"})
	for i, name := range outcomeNames {
		m.requests[i] = req.WithLabelValues(name)
	}
	m.activations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "skewless_activations_total", Help: "Builds made current since the server started.",
	})
	m.reg.MustRegister(req, m.activations,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_event_streams", Help: "Open event streams.",
		}, func() float64 { return float64(s.events.Open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_activation_seq", Help: "Activation sequence number of the current build.",
		}, func() float64 { return float64(s.builds.Snapshot().Seq) }),
		&buildStates{s.builds},
	)
	return m
}

func (m *metrics) count(o outcome) { m.requests[o].Inc() }

// buildStates reports how many builds are in each state.
type buildStates struct{ builds snapshotSource }

var buildStatesDesc = prometheus.NewDesc("skewless_builds", "Builds by state.", []string{"state"}, nil)

func (b *buildStates) Describe(ch chan<- *prometheus.Desc) { ch <- buildStatesDesc }

func (b *buildStates) Collect(ch chan<- prometheus.Metric) {
	counts := map[manifest.State]int{}
	for _, st := range b.builds.Snapshot().Builds {
		counts[st.State]++
	}
	for _, st := range []manifest.State{manifest.Current, manifest.Live, manifest.Retired, manifest.Invalid, manifest.Pending} {
		ch <- prometheus.MustNewConstMetric(buildStatesDesc, prometheus.GaugeValue, float64(counts[st]), st.String())
	}
}

var _ prometheus.Collector = (*buildStates)(nil)

// countActivations follows the registry until ctx ends.
func (m *metrics) countActivations(ctx context.Context, src changeSource) {
	for {
		ch := src.Changed()
		select {
		case <-ctx.Done():
			return
		case <-ch:
			m.activations.Inc()
		}
	}
}

// startMetrics serves /metrics on addr, a listener of its own: metrics
// are never on the public port. An empty addr turns it off.
func startMetrics(addr string, m *metrics, log *zap.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", zap.Error(err))
		}
	}()
	log.Info("metrics", zap.String("addr", ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
