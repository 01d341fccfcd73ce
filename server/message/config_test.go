package message

import (
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/internal/conf"
)

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	if c.Limits() != DefaultLimits {
		t.Errorf("Limits() = %+v, want DefaultLimits", c.Limits())
	}
	type file struct {
		Analysis Config `yaml:"analysis"`
	}
	f := file{Analysis: DefaultConfig()}
	err := conf.Decode("scilla.yaml", []byte("analysis:\n  max_parts: 0\n  timeout: 5m\n  max_depth: 30\n"), &f)
	if err == nil {
		t.Fatal("invalid values accepted")
	}
	for _, want := range []string{"scilla.yaml:2: analysis.max_parts: must be 1..100000, got 0", "scilla.yaml:3: analysis.timeout: must be 10ms..1m"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	f = file{Analysis: DefaultConfig()}
	if err := conf.Decode("scilla.yaml", []byte("analysis:\n  max_parts: 100\n"), &f); err != nil || f.Analysis.Limits().MaxParts != 100 {
		t.Errorf("decode: %v, %+v", err, f.Analysis)
	}
}
