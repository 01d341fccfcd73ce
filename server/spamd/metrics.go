package spamd

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the spamd listener's metrics (scilla_spamd_*). The scans
// themselves are counted by the scan path (scilla_scan_*). A nil *Metrics
// records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the spamd metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_spamd_requests_total",
			Help: "spamd/rspamd requests answered, by protocol (spamc, rspamc, http) and result (spam, ham, oversize, scan_error, bad_request, refused, ping).",
		}, []string{"protocol", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scilla_spamd_request_duration_seconds",
			Help:    "Time from a request's first byte to its answer, by protocol.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"protocol"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *Metrics) observe(proto, result string, start time.Time) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(proto, result).Inc()
	if !start.IsZero() {
		m.duration.WithLabelValues(proto).Observe(time.Since(start).Seconds())
	}
}
