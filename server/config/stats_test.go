package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStatsSection: the stats section is validated like the others.
func TestStatsSection(t *testing.T) {
	cases := []struct {
		name, body string
		want       string // a substring of the error; "" = valid
		retention  time.Duration
	}{
		{"defaults", "", "", 2160 * time.Hour},
		{"a week in another file", "stats:\n  retention: 168h\n  file: /srv/scilla/stats.db\n", "", 168 * time.Hour},
		{"one hour", "stats:\n  retention: 1h\n", "", time.Hour},
		{"too short", "stats:\n  retention: 30m\n", ":2: stats.retention: must be 1h..8760h, got 30m0s", 0},
		{"too long", "stats:\n  retention: 8761h\n", "stats.retention: must be 1h..8760h", 0},
		{"no file", "stats:\n  file: \"\"\n", ":2: stats.file: must be set", 0},
		{"not a duration", "stats:\n  retention: 90d\n", `"90d" is not a duration`, 0},
		{"unknown key", "stats:\n  keep: 1h\n", `unknown key "keep"`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir() + "/scillad.yaml"
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if cfg.Stats.Retention.D() != c.retention {
					t.Errorf("retention %s, want %s", cfg.Stats.Retention.D(), c.retention)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v does not name the file and say %q", err, c.want)
			}
		})
	}
}
