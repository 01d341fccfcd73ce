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
	"os"
	"sync"
	"sync/atomic"
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

// SyscallConn returns the socket's raw connection (for socket options).
func (c *conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

func (c *conn) opError(op string, err error) error {
	if cl, ok := c.Conn.(interface{ isClosed() bool }); ok && cl.isClosed() {
		err = net.ErrClosed // as net reports it (an *os.File says "use of closed file")
	}
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// AcceptListener returns l with a cheaper Accept where the platform
// supports it (Linux) and l offers its file descriptor: it accepts with a
// raw accept4 and builds each connection on an *os.File instead of a
// net.Conn, so that neither accepting nor setting up the connection goes
// through the runtime's blocking-syscall path (net's Accept makes three
// such calls: accept4, a second accept4 that finds the queue empty, and
// getsockname). A server that gets a connection per message from a mostly
// idle peer, as a milter does from Postfix, otherwise wakes sysmon for
// every connection (see the package doc). Closing a connection would
// too, so Close shuts the socket down at once (the peer sees the end of
// the stream, waiting reads and writes return) and the descriptors of up
// to closeBatch shut-down connections are released together.
//
// The connections read and write with raw syscalls as Wrap's do. TCP
// connections get what net gives an accepted TCP connection (no Nagle
// delay; keep-alive probes after 15 s idle, every 15 s, 9 of them). Their
// LocalAddr is the listener's address. Elsewhere AcceptListener is
// Listener(l).
func AcceptListener(l net.Listener) net.Listener {
	if supported {
		// net's raw listener cannot wait for readiness; a duplicate of the
		// socket as an *os.File can.
		if fl, ok := l.(interface{ File() (*os.File, error) }); ok {
			if f, err := fl.File(); err == nil {
				if rc, err := f.SyscallConn(); err == nil {
					_, tcp := l.Addr().(*net.TCPAddr)
					return &acceptListener{Listener: l, file: f, rc: rc, tcp: tcp}
				}
				f.Close()
			}
		}
	}
	return Listener(l)
}

// acceptListener accepts with raw syscalls (see AcceptListener) on file, a
// duplicate of the listening socket.
type acceptListener struct {
	net.Listener
	file   *os.File
	rc     syscall.RawConn // file's
	tcp    bool
	closed atomic.Bool

	mu      sync.Mutex
	retired []*os.File // shut-down connections not yet closed
}

// closeBatch is how many shut-down connections wait to be closed together.
const closeBatch = 32

// Close closes both descriptors of the listening socket (the duplicate
// first, which ends a waiting Accept) and those of the shut-down
// connections; connections closed later are closed at once.
func (l *acceptListener) Close() error {
	if l.closed.Swap(true) {
		return l.Listener.Close() // net's error for a second Close
	}
	l.file.Close()
	l.mu.Lock()
	retired := l.retired
	l.retired = nil
	l.mu.Unlock()
	for _, f := range retired {
		f.Close()
	}
	return l.Listener.Close()
}

// retire closes f, a shut-down connection, with the next closeBatch-1
// others.
func (l *acceptListener) retire(f *os.File) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		f.Close()
		return
	}
	l.retired = append(l.retired, f)
	var batch []*os.File
	if len(l.retired) >= closeBatch {
		batch, l.retired = l.retired, nil
	}
	l.mu.Unlock()
	for _, f := range batch {
		f.Close()
	}
}
