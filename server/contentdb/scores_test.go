package contentdb

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseScores(t *testing.T) {
	tests := []struct {
		src     string
		want    map[string]float64
		wantErr string
	}{
		{"# comment\n\nFORGED_MAILER 3\nHTML_ONLY  0.25\n", map[string]float64{"FORGED_MAILER": 3, "HTML_ONLY": 0.25}, ""},
		{"", map[string]float64{}, ""},
		{"FORGED_MAILER\n", nil, "s:1: want"},
		{"forged_mailer 1\n", nil, "not a sign name"},
		{"X 1\nX 2\n", nil, "s:2: X listed twice"},
		{"X NaN\n", nil, "not a number"},
		{"X 21\n", nil, "not a number in [-20, 20]"},
		{"X 1 2\n", nil, "want"},
	}
	for _, tt := range tests {
		got, err := ParseScores("s", []byte(tt.src))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%q: %v, %v", tt.src, got, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", tt.src, k, got[k], v)
			}
		}
	}
}

func FuzzParseScores(f *testing.F) {
	f.Add([]byte("# c\nFORGED_MAILER 3\nHTML_ONLY 0.25\n"))
	f.Add([]byte("X -1e1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseScores("fuzz", data)
		if err != nil {
			return
		}
		// What was accepted formats and parses back to the same scores.
		again, err := ParseScores("again", FormatScores(s))
		if err != nil || !bytes.Equal(FormatScores(again), FormatScores(s)) {
			t.Errorf("round trip: %v", err)
		}
	})
}
