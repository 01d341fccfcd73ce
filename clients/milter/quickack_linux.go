package milter

import (
	"net"
	"syscall"
)

// setQuickAck asks Linux to acknowledge the next received data at once.
// The setting is not sticky, so it is re-armed before every read.
func setQuickAck(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
