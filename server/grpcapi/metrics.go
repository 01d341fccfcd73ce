package grpcapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/pool"
)

// Metrics are the scan metrics (scilla_scan_*) and the pool gauges
// (scilla_pool_*). A nil *Metrics records nothing.
type Metrics struct {
	scans    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   prometheus.Counter
}

// NewMetrics registers the scan and pool metrics on reg.
func NewMetrics(reg prometheus.Registerer, p *pool.Pool) *Metrics {
	m := &Metrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_scan_results_total",
			Help: "Group results returned, by status and info.",
		}, []string{"status", "info"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scilla_scan_duration_seconds",
			Help:    "Time to scan one message, by result (ok or not_processed).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"result"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scilla_scan_not_processed_total",
			Help: "Scans that ended NOT_PROCESSED (timeout, panic, error).",
		}),
	}
	reg.MustRegister(m.scans, m.duration, m.errors)
	gauge := func(name, help string, f func(pool.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(p.Stats()) }))
	}
	counter := func(name, help string, f func(pool.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(p.Stats()) }))
	}
	gauge("scilla_pool_workers", "Workers alive.", func(s pool.Stats) float64 { return float64(s.Workers) })
	gauge("scilla_pool_busy_workers", "Workers scanning.", func(s pool.Stats) float64 { return float64(s.Busy) })
	gauge("scilla_pool_idle_workers", "Workers waiting for work.", func(s pool.Stats) float64 { return float64(s.Idle) })
	gauge("scilla_pool_queued_scans", "Scans waiting for a free worker.", func(s pool.Stats) float64 { return float64(s.Queued) })
	gauge("scilla_pool_max_workers", "Configured maximum of workers.", func(s pool.Stats) float64 { return float64(s.Max) })
	counter("scilla_pool_workers_started_total", "Workers started.", func(s pool.Stats) float64 { return float64(s.Started) })
	counter("scilla_pool_workers_recycled_total", "Workers recycled after their message quota.", func(s pool.Stats) float64 { return float64(s.Recycled) })
	counter("scilla_pool_workers_idle_exit_total", "Workers that exited after the idle timeout.", func(s pool.Stats) float64 { return float64(s.IdleExit) })
	counter("scilla_pool_panics_total", "Scan jobs that panicked.", func(s pool.Stats) float64 { return float64(s.Panics) })
	return m
}

func (m *Metrics) observe(v *engine.Verdict, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "not_processed"
		m.errors.Inc()
	}
	m.duration.WithLabelValues(result).Observe(v.Elapsed.Seconds())
	for _, gv := range v.Groups {
		m.scans.WithLabelValues(gv.Status.String(), gv.Info.String()).Inc()
	}
}
