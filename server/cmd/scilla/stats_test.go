package main

import (
	"testing"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func TestStatsRequest(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	hour, day := scillav1.Resolution_RESOLUTION_HOUR, scillav1.Resolution_RESOLUTION_DAY
	tests := []struct {
		name                string
		since, from, to, by string
		wantFrom, wantTo    string
		wantRes             scillav1.Resolution
		wantErr             bool
	}{
		{"default", "24h", "", "", "", "2026-11-21T14:30:00Z", "2026-11-22T14:30:00Z", hour, false},
		{"a week is by day", "7d", "", "", "", "2026-11-15T14:30:00Z", "2026-11-22T14:30:00Z", day, false},
		{"two weeks by hour", "2w", "", "", "hour", "2026-11-08T14:30:00Z", "2026-11-22T14:30:00Z", hour, false},
		{"dates are UTC", "", "2026-11-01", "2026-11-02T06:00", "", "2026-11-01T00:00:00Z", "2026-11-02T06:00:00Z", hour, false},
		{"from with a zone", "", "2026-11-01T00:00:00+01:00", "", "day", "2026-10-31T23:00:00Z", "2026-11-22T14:30:00Z", day, false},
		{"since before to", "1d", "", "2026-11-10", "", "2026-11-09T00:00:00Z", "2026-11-10T00:00:00Z", hour, false},
		{"bad since", "7x", "", "", "", "", "", 0, true},
		{"zero days", "0d", "", "", "", "", "", 0, true},
		{"bad date", "", "22/11/2026", "", "", "", "", 0, true},
		{"empty range", "", "2026-11-22", "2026-11-21", "", "", "", 0, true},
		{"bad resolution", "24h", "", "", "week", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := statsRequest(now, tt.since, tt.from, tt.to, tt.by, 0, 10)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			from, to := req.GetFrom().AsTime().Format(time.RFC3339), req.GetTo().AsTime().Format(time.RFC3339)
			if from != tt.wantFrom || to != tt.wantTo || req.GetResolution() != tt.wantRes {
				t.Errorf("got %s..%s %v, want %s..%s %v", from, to, req.GetResolution(), tt.wantFrom, tt.wantTo, tt.wantRes)
			}
		})
	}
}
