package milter

import (
	"syscall"
	"unsafe"
)

// setQuickAck asks Linux to acknowledge the next received data at once.
// The setting is not sticky, so it is re-armed before every read.
// raw is the TCP connection's syscall.RawConn, fetched once per
// connection. The setsockopt never blocks: it is a raw syscall, like the
// reads and writes (see internal/rawconn).
func setQuickAck(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		one := int32(1)
		_, _, _ = syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK,
			uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
	})
}
