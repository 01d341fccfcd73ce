package policy

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func BenchmarkLoadExample(b *testing.B) {
	data, err := os.ReadFile("../../deploy/policy.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadBytes("policy.example.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve100k resolves recipients against groups holding 100,000
// address patterns in total.
func BenchmarkResolve100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("groups:\n")
	for g := 0; g < 10; g++ {
		fmt.Fprintf(&sb, "  - id: %d\n    name: g%d\n    recipients: \"", g+2, g)
		for i := 0; i < 10_000; i++ {
			fmt.Fprintf(&sb, "user%d@dept%d.example.com ", i, g)
		}
		sb.WriteString("\"\n")
	}
	p, err := LoadBytes("big.yaml", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	rcpts := []string{"user5000@dept9.example.com", "nobody@example.com", "user1@dept0.example.com"}
	for i := 0; b.Loop(); i++ {
		p.Resolve(rcpts[i%len(rcpts)])
	}
}
