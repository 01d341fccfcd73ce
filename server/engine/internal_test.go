package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestScanHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want []string
	}{
		{"plain", func(l *slog.Logger) { l.Warn("check failed", "check", "x") }, []string{"msg=\"check failed\"", "check=x", "scan_id=S1"}},
		{"with", func(l *slog.Logger) { l.With("a", 1).Warn("m") }, []string{"a=1", "scan_id=S1"}},
		{"group", func(l *slog.Logger) { l.WithGroup("g").Warn("m", "b", 2) }, []string{"scan_id=S1", "g.b=2"}},
		{"below level", func(l *slog.Logger) { l.Debug("hidden") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			base := slog.New(slog.NewTextHandler(&out, nil))
			tt.log(slog.New(scanHandler{h: base.Handler(), id: "S1"}))
			got := out.String()
			if tt.want == nil && got != "" {
				t.Errorf("logged %q, want nothing", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("logged %q, want %q in it", got, w)
				}
			}
			if strings.Count(got, "scan_id=") > 1 {
				t.Errorf("logged %q: scan id more than once", got)
			}
		})
	}
}
