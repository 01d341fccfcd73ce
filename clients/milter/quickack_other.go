//go:build !linux

package milter

import "syscall"

// setQuickAck is a no-op where TCP_QUICKACK does not exist.
func setQuickAck(syscall.RawConn) {}
