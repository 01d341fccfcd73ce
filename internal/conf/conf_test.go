package conf

import (
	"strings"
	"testing"
)

type poolSection struct {
	MaxWorkers int `yaml:"max_workers"`
}

func (p *poolSection) Validate() []error {
	if p.MaxWorkers < 1 {
		return []error{Errorf("max_workers", "must be at least 1, got %d", p.MaxWorkers)}
	}
	return nil
}

type root struct {
	Pool poolSection `yaml:"pool"`
	Name string      `yaml:"name"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"ok", "pool:\n  max_workers: 3\n", ""},
		{"empty keeps defaults", "", ""},
		{"unknown key", "pool:\n  max_worker: 3\n", `c.yaml:2: unknown key "max_worker"`},
		{"wrong type", "pool:\n  max_workers: many\n", "c.yaml:2: cannot unmarshal"},
		{"invalid value", "name: x\npool:\n  max_workers: 0\n", "c.yaml:3: pool.max_workers: must be at least 1, got 0"},
		{"syntax", "pool: [\n", "c.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := root{Pool: poolSection{MaxWorkers: 10}}
			err := Decode("c.yaml", []byte(tt.doc), &r)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
