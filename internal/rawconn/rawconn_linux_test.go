package rawconn

import (
	"syscall"
	"testing"
)

// TestAcceptListenerTCPOptions checks that an accepted TCP connection gets
// what net would give it: no Nagle delay and keep-alive probes.
func TestAcceptListenerTCPOptions(t *testing.T) {
	w, _ := pair(t, "tcp", AcceptListener)
	sc, ok := w.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no SyscallConn", w)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1},
		{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{"TCP_KEEPIDLE", syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15},
		{"TCP_KEEPINTVL", syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15},
		{"TCP_KEEPCNT", syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9},
	} {
		var v int
		var gerr error
		if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), o.level, o.opt) }); err != nil || gerr != nil {
			t.Fatalf("%s: %v %v", o.name, err, gerr)
		}
		if v != o.want {
			t.Errorf("%s = %d, want %d", o.name, v, o.want)
		}
	}
}
