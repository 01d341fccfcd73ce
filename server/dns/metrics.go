package dns

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the resolver's Prometheus metrics:
//
//	scilla_dns_queries_total{qtype,result}   queries sent (result: noerror, nxdomain, servfail, timeout, error)
//	scilla_dns_cache_requests_total{result}  cache look-ups (hit, miss): the hit rate
//	scilla_dns_timeouts_total                queries no nameserver answered in time
//	scilla_dns_truncated_total               UDP answers retried over TCP
//	scilla_dns_query_duration_seconds{zone}  latency per zone (a DNSBL zone, "spf", "ptr"...)
type metrics struct {
	queries   *prometheus.CounterVec
	cache     *prometheus.CounterVec
	timeouts  prometheus.Counter
	truncated prometheus.Counter
	latency   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_dns_queries_total",
			Help: "DNS queries sent to nameservers, by query type and result.",
		}, []string{"qtype", "result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_dns_cache_requests_total",
			Help: "DNS cache look-ups, by result (hit or miss).",
		}, []string{"result"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scilla_dns_timeouts_total",
			Help: "DNS queries that no nameserver answered in time.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scilla_dns_truncated_total",
			Help: "Truncated UDP answers retried over TCP.",
		}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scilla_dns_query_duration_seconds",
			Help:    "Time to resolve a query that missed the cache, by zone.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"zone"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.queries = register(reg, m.queries, &err)
	m.cache = register(reg, m.cache, &err)
	m.timeouts = register(reg, m.timeouts, &err)
	m.truncated = register(reg, m.truncated, &err)
	m.latency = register(reg, m.latency, &err)
	return m, err
}

// register registers c, or returns the collector already registered under
// the same name so a resolver rebuilt on reload keeps counting.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = fmt.Errorf("dns: register metrics: %w", err)
		}
	}
	return c
}
