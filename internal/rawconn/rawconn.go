// Package rawconn makes socket reads and writes cheaper for the Go
// scheduler. net.Conn's Read and Write enter the kernel through
// syscall.Syscall, which tells the runtime a syscall may block: when the
// process was idle, that wakes the runtime's monitor thread (sysmon), a
// context switch on every wake-up of a mostly idle server. On a
// non-blocking socket read and write never block, so Wrap issues them as
// raw syscalls and waits for readiness through the runtime's poller as net
// does. At hundreds of milter messages a second this is a noticeable share
// of the CPU of scilla-milter and scillad.
package rawconn

import (
	"net"
	"syscall"
)

// Wrap returns c with raw-syscall Read and Write where the platform
// supports it (Linux) and c offers its file descriptor; c itself
// otherwise. The result keeps c's addresses, deadlines and Close.
func Wrap(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok || !supported {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &conn{Conn: c, rc: rc}
}

// Listener wraps every connection l accepts with Wrap.
func Listener(l net.Listener) net.Listener { return listener{l} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// conn is a net.Conn whose Read and Write use raw syscalls.
type conn struct {
	net.Conn
	rc syscall.RawConn
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
