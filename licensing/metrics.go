package licensing

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the licence metrics. Usage, limits and state are read from
// the Manager when scraped; the recipient counters are bumped by Admit.
//
//	scilla_license_recipients_total{result}  protected recipients by outcome (filtered, no_license, limit_exceeded)
//	scilla_license_state{state}              1 for the current state (active, trial, expired, none)
//	scilla_license_mailboxes_used            distinct protected recipients in the last 30 days
//	scilla_license_mailboxes_limit           licensed mailboxes (0 = unlimited)
//	scilla_license_traffic_today_bytes       protected bytes filtered today (UTC)
//	scilla_license_traffic_limit_bytes       licensed bytes a day (0 = unlimited)
//	scilla_license_expiry_timestamp_seconds  when the active key expires (0 = none)
//	scilla_license_warnings                  number of licence warnings (see `scilla license info`)
type metrics struct {
	m          *Manager
	recipients *prometheus.CounterVec

	filtered, noLicense, limitExceeded prometheus.Counter

	state, used, usedLimit, traffic, trafficLimit, expiry, warnings *prometheus.Desc
}

func newMetrics(m *Manager) *metrics {
	x := &metrics{
		m: m,
		recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_license_recipients_total",
			Help: "Protected recipients by licence outcome (filtered, no_license, limit_exceeded).",
		}, []string{"result"}),
		state:        prometheus.NewDesc("scilla_license_state", "1 for the current licence state (active, trial, expired, none).", []string{"state"}, nil),
		used:         prometheus.NewDesc("scilla_license_mailboxes_used", "Distinct protected recipients seen in the last 30 days.", nil, nil),
		usedLimit:    prometheus.NewDesc("scilla_license_mailboxes_limit", "Licensed protected mailboxes (0 = unlimited).", nil, nil),
		traffic:      prometheus.NewDesc("scilla_license_traffic_today_bytes", "Protected bytes filtered today (UTC).", nil, nil),
		trafficLimit: prometheus.NewDesc("scilla_license_traffic_limit_bytes", "Licensed protected bytes a day (0 = unlimited).", nil, nil),
		expiry:       prometheus.NewDesc("scilla_license_expiry_timestamp_seconds", "When the active licence key expires, Unix seconds (0 = no key).", nil, nil),
		warnings:     prometheus.NewDesc("scilla_license_warnings", "Number of licence warnings; `scilla license info` lists them.", nil, nil),
	}
	x.filtered = x.recipients.WithLabelValues("filtered")
	x.noLicense = x.recipients.WithLabelValues("no_license")
	x.limitExceeded = x.recipients.WithLabelValues("limit_exceeded")
	return x
}

// Register adds the licence metrics to reg.
func (m *Manager) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.metrics.recipients, m.metrics} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("licensing: register metrics: %w", err)
		}
	}
	return nil
}

// Describe implements prometheus.Collector.
func (x *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{x.state, x.used, x.usedLimit, x.traffic, x.trafficLimit, x.expiry, x.warnings} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (x *metrics) Collect(ch chan<- prometheus.Metric) {
	info := x.m.Info()
	s := x.m.snap.Load()
	state := "none"
	switch {
	case s.mode == modeExpired:
		state = "expired"
	case s.mode == modeActive && s.active.Key.Type == Trial:
		state = "trial"
	case s.mode == modeActive:
		state = "active"
	}
	for _, st := range []string{"active", "trial", "expired", "none"} {
		v := 0.0
		if st == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(x.state, prometheus.GaugeValue, v, st)
	}
	var exp float64
	if s.active != nil && !s.active.Expires.IsZero() {
		exp = float64(s.active.Expires.Unix())
	}
	ch <- prometheus.MustNewConstMetric(x.used, prometheus.GaugeValue, float64(info.MailboxesUsed))
	ch <- prometheus.MustNewConstMetric(x.usedLimit, prometheus.GaugeValue, float64(s.maxMailboxes))
	ch <- prometheus.MustNewConstMetric(x.traffic, prometheus.GaugeValue, float64(info.BytesToday))
	ch <- prometheus.MustNewConstMetric(x.trafficLimit, prometheus.GaugeValue, float64(s.maxBytes))
	ch <- prometheus.MustNewConstMetric(x.expiry, prometheus.GaugeValue, exp)
	ch <- prometheus.MustNewConstMetric(x.warnings, prometheus.GaugeValue, float64(len(info.Warnings)))
}
