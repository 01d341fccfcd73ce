package shared

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestReportOncePerOutage: failures are counted each time but logged once
// per outage and part; the recovery is logged once and shows in Status.
func TestReportOncePerOutage(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:1"
	c, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg := prometheus.NewRegistry()
	if err := c.Register(reg); err != nil {
		t.Fatal(err)
	}
	down := errors.New("connection refused")
	steps := []struct {
		part      string
		err       error
		reachable bool
		warnings  int // "redis unreachable" lines so far
		recovered int // "reachable again" lines so far
	}{
		{"bayes", nil, true, 0, 0},
		{"bayes", down, false, 1, 0},
		{"bayes", down, false, 1, 0},
		{"license", down, false, 2, 0},
		{"license", down, false, 2, 0},
		{"bayes", nil, false, 2, 1}, // license still down
		{"license", nil, true, 2, 2},
		{"bayes", down, false, 3, 2}, // a new outage is logged again
	}
	for i, st := range steps {
		c.Report(st.part, st.err)
		if got := c.Status().Reachable; got != st.reachable {
			t.Errorf("step %d: reachable %v, want %v", i, got, st.reachable)
		}
		if n := strings.Count(logs.String(), "redis unreachable"); n != st.warnings {
			t.Errorf("step %d: %d outage lines, want %d", i, n, st.warnings)
		}
		if n := strings.Count(logs.String(), "reachable again"); n != st.recovered {
			t.Errorf("step %d: %d recovery lines, want %d", i, n, st.recovered)
		}
	}
	got := gather(t, reg)
	for name, want := range map[string]float64{
		"scilla_redis_sync_errors_total{part=bayes}":   3,
		"scilla_redis_sync_errors_total{part=license}": 2,
		"scilla_redis_up": 0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if got["scilla_redis_last_sync_timestamp_seconds"] == 0 {
		t.Error("scilla_redis_last_sync_timestamp_seconds not set")
	}
	if st := c.Status(); st.LastSync.IsZero() || !strings.Contains(st.LastError, "bayes: connection refused") {
		t.Errorf("status %+v", st)
	}
}

// gather returns each metric's value by name{label=value}.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[name] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}
