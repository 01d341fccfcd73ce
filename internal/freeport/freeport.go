// Package freeport hands tests loopback TCP ports for servers they start as
// separate processes (Postfix, Exim, scillad), which must be told a port
// before they bind it.
package freeport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Get returns a loopback TCP port that was free a moment ago.
func Get(t testing.TB) int { return GetN(t, 1)[0] }

// GetN returns n distinct loopback TCP ports that were free a moment ago.
// Ask for every port a setup needs at once: ports handed out by separate
// calls may repeat while none of them is bound yet.
//
// The ports come from below the kernel's ephemeral range. A port from
// inside it (what binding port 0 gives) may be taken, before the server
// that is to listen on it starts, as the local port of one of the many
// connections the tests open, and the server then fails with "Address
// already in use".
func GetN(t testing.TB, n int) []int {
	t.Helper()
	lo, hi := 10000, ephemeralLow()
	if hi-lo < 1000 {
		lo = 1024
	}
	var ports []int
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("no free loopback port in %d-%d", lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // taken, or held by an earlier iteration
		}
		held = append(held, ln)
		ports = append(ports, p)
	}
	return ports
}

// ephemeralLow returns the start of the kernel's ephemeral port range
// (Linux's default, 32768, when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	v, err := strconv.Atoi(f[0])
	if err != nil || v <= 1024 {
		return 32768
	}
	return v
}
