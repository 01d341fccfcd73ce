package config

import (
	"os"
	"strings"
	"testing"
)

// TestAutolearnSection: the autolearn section is off by default and its
// thresholds are validated, with errors that name the file, line and key.
func TestAutolearnSection(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       string // a substring of the error; "" = valid
	}{
		{"defaults", "", ""},
		{"on", "autolearn:\n  enabled: true\n  spam_score: 12\n  ham_score: -5\n", ""},
		{"spam threshold below spam", "autolearn:\n  spam_score: 4.5\n", ":2: autolearn.spam_score: must be 6..100"},
		{"ham threshold above zero", "autolearn:\n  enabled: true\n  ham_score: 1\n", ":3: autolearn.ham_score: must be -100..0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir() + "/scillad.yaml"
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "" && c.body == "" && cfg.Autolearn.Enabled:
				t.Error("autolearn is on by default")
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path)):
				t.Errorf("error %v does not name the file and say %q", err, c.want)
			}
		})
	}
}
