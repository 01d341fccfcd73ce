package milter

import "syscall"

// setQuickAck asks Linux to acknowledge the next received data at once.
// The setting is not sticky, so it is re-armed before every read.
// raw is the TCP connection's syscall.RawConn, fetched once per
// connection.
func setQuickAck(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
