package conf

import (
	"fmt"
	"net"
	"strings"
)

// ParseAddress splits an address as written in Scilla's config files and
// flags, "tcp:HOST:PORT" or "unix:/PATH", into a Go network name and address
// for net.Listen and net.Dial.
func ParseAddress(a string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(a, "tcp:"):
		addr = strings.TrimPrefix(a, "tcp:")
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return "", "", fmt.Errorf("address %q: want tcp:HOST:PORT", a)
		}
		return "tcp", addr, nil
	case strings.HasPrefix(a, "unix:"):
		addr = strings.TrimPrefix(a, "unix:")
		if addr == "" {
			return "", "", fmt.Errorf("address %q: want unix:/PATH", a)
		}
		return "unix", addr, nil
	}
	return "", "", fmt.Errorf("address %q: want tcp:HOST:PORT or unix:/PATH", a)
}
