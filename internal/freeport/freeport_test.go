package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestGetN(t *testing.T) {
	ports := GetN(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d handed out twice", p)
		}
		seen[p] = true
		if p >= ephemeralLow() || p < 1024 {
			t.Errorf("port %d inside the ephemeral range or privileged", p)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d not free: %v", p, err)
			continue
		}
		ln.Close()
	}
}
