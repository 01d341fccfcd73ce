package conf

import "testing"

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, network, addr string
		ok                bool
	}{
		{"tcp:127.0.0.1:2277", "tcp", "127.0.0.1:2277", true},
		{"tcp:[::1]:2277", "tcp", "[::1]:2277", true},
		{"unix:/run/scilla.sock", "unix", "/run/scilla.sock", true},
		{"tcp:127.0.0.1", "", "", false},
		{"tcp:127.0.0.1:", "", "", false},
		{"unix:", "", "", false},
		{"127.0.0.1:2277", "", "", false},
		{"inet:2277", "", "", false},
	}
	for _, tt := range tests {
		n, a, err := ParseAddress(tt.in)
		if (err == nil) != tt.ok || n != tt.network || a != tt.addr {
			t.Errorf("ParseAddress(%q) = %q, %q, %v", tt.in, n, a, err)
		}
	}
}
