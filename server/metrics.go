package main

import (
	"context"
	"errors"
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
// once per outcome and encoding, so counting a request is an atomic add.
type metrics struct {
	reg         *prometheus.Registry
	requests    [len(outcomeNames)][3]prometheus.Counter // by outcome, manifest.Encoding
	bytes       prometheus.Counter
	activations prometheus.Counter
	rescans     *prometheus.CounterVec
	invalid     prometheus.Counter
	loadSeconds prometheus.Gauge
	activatedAt prometheus.Gauge
}

var _ manifest.Observer = (*metrics)(nil)

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skewless_requests_total", Help: "Requests answered, by outcome and content coding.",
	}, []string{"outcome", "encoding"})
	for i, name := range outcomeNames {
		for _, e := range []manifest.Encoding{manifest.Identity, manifest.Brotli, manifest.Gzip} {
			m.requests[i][e] = req.WithLabelValues(name, e.Token())
		}
	}
	m.bytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "skewless_response_bytes_total", Help: "Body bytes sent (event streams not included).",
	})
	m.activations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "skewless_activations_total", Help: "Builds made current since the server started.",
	})
	m.rescans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skewless_watch_rescans_total", Help: "Rescans of the builds folder, by reason.",
	}, []string{"reason"})
	m.invalid = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "skewless_invalid_builds_total", Help: "Builds found invalid.",
	})
	m.loadSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "skewless_last_load_seconds", Help: "Time the last loaded build took to load.",
	})
	m.activatedAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "skewless_last_activation_timestamp_seconds", Help: "When this server last switched to a newly activated build (Unix time).",
	})
	m.reg.MustRegister(req, m.bytes, m.activations, m.rescans, m.invalid, m.loadSeconds, m.activatedAt)
	return m
}

// follow registers the series read from the running server.
func (m *metrics) follow(s *server) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_event_streams", Help: "Open event streams.",
		}, func() float64 { return float64(s.events.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "skewless_events_sent_total", Help: "Version events written to event streams.",
		}, func() float64 { return float64(s.events.sent.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skewless_activation_seq", Help: "Activation sequence number of the current build.",
		}, func() float64 { return float64(s.builds.Snapshot().Seq) }),
		&buildStates{s.builds},
		&openTabs{s.events.tabs, s.builds},
	)
	m.followCluster(s)
}

// Rescanned implements manifest.Observer.
func (m *metrics) Rescanned(reason string) { m.rescans.WithLabelValues(reason).Inc() }

// Loaded implements manifest.Observer.
func (m *metrics) Loaded(b *manifest.Build) { m.loadSeconds.Set(b.LoadTime.Seconds()) }

// Invalid implements manifest.Observer.
func (m *metrics) Invalid(string, []string) { m.invalid.Inc() }

func (m *metrics) count(o outcome, e manifest.Encoding, bytes int) {
	m.requests[o][e].Inc()
	m.bytes.Add(float64(bytes))
}

// buildStates reports how many builds are in each state.
type buildStates struct{ builds snapshotSource }

var buildStatesDesc = prometheus.NewDesc("skewless_builds", "Builds by state.", []string{"state"}, nil)

func (b *buildStates) Describe(ch chan<- *prometheus.Desc) { ch <- buildStatesDesc }

func (b *buildStates) Collect(ch chan<- prometheus.Metric) {
	counts := map[manifest.State]int{}
	for _, st := range b.builds.Snapshot().Builds {
		counts[st.State]++
	}
	for _, st := range []manifest.State{manifest.Current, manifest.Live, manifest.Ready, manifest.Retired, manifest.Invalid,
		manifest.Pending, manifest.Blocked} {
		ch <- prometheus.MustNewConstMetric(buildStatesDesc, prometheus.GaugeValue, float64(counts[st]), st.String())
	}
}

var _ prometheus.Collector = (*buildStates)(nil)

// Activated implements manifest.Observer.
func (m *metrics) Activated(string, uint64) {
	m.activations.Inc()
	m.activatedAt.Set(float64(time.Now().UnixNano()) / 1e9)
}

// startMetrics serves /metrics on ln (listenMetrics), a listener of its
// own: metrics are never on the public port. A nil ln: no metrics.
func startMetrics(ln net.Listener, m *metrics, log *zap.Logger) (stop func()) {
	if ln == nil {
		return func() {}
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
	}
}

// listenMetrics opens --metrics-addr (nil when it is empty: no metrics
// listener), before anything else is started.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError("--metrics-addr", addr, err)
	}
	return ln, nil
}
