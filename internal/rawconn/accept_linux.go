package rawconn

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func (l *acceptListener) Accept() (net.Conn, error) {
	var (
		nfd   int
		rsa   syscall.RawSockaddrAny
		errno syscall.Errno
	)
	err := l.rc.Read(func(fd uintptr) bool {
		for {
			n := uint32(syscall.SizeofSockaddrAny)
			r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)),
				syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
			switch e {
			case syscall.EINTR, syscall.ECONNABORTED: // as net: the next one
				continue
			case syscall.EAGAIN:
				return false // wait until a connection is queued
			}
			nfd, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil && l.closed.Load():
		err = net.ErrClosed // as net reports it (the *os.File says "use of closed file")
	case err == nil && errno != 0:
		err = os.NewSyscallError("accept4", errno)
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: err}
	}
	var remote net.Addr
	if l.tcp {
		setTCPDefaults(nfd)
		remote = tcpAddr(&rsa)
	} else {
		remote = unixAddr(&rsa)
	}
	f := os.NewFile(uintptr(nfd), "") // registers with the poller; its one fcntl is the runtime's raw one
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: err}
	}
	return &conn{Conn: &fileConn{f: f, rc: rc, l: l, local: l.Addr(), remote: remote}, rc: rc}, nil
}

// setTCPDefaults gives an accepted TCP socket what net gives one: no Nagle
// delay, and keep-alive probes after 15 s idle, every 15 s, 9 of them.
// Failures are ignored, as net ignores them.
func setTCPDefaults(fd int) {
	set := func(level, opt, v int) {
		val := int32(v)
		_, _, _ = syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
			uintptr(unsafe.Pointer(&val)), unsafe.Sizeof(val), 0)
	}
	set(syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	set(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
	set(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
	set(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
	set(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9)
}

// tcpAddr decodes the peer address accept4 filled in.
func tcpAddr(rsa *syscall.RawSockaddrAny) net.Addr {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: int(ntohs(sa.Port))}
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		a := &net.TCPAddr{IP: net.IP(netip.AddrFrom16(sa.Addr).AsSlice()), Port: int(ntohs(sa.Port))}
		if sa.Scope_id != 0 {
			a.Zone = strconv.FormatUint(uint64(sa.Scope_id), 10)
		}
		return a
	}
	return &net.TCPAddr{}
}

// unixAddr decodes the peer address accept4 filled in; a client socket
// usually has no name.
func unixAddr(rsa *syscall.RawSockaddrAny) net.Addr {
	sa := (*syscall.RawSockaddrUnix)(unsafe.Pointer(rsa))
	n := 0
	for n < len(sa.Path) && sa.Path[n] != 0 {
		n++
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(sa.Path[i])
	}
	return &net.UnixAddr{Name: string(b), Net: "unix"}
}

func ntohs(p uint16) uint16 { return p>>8 | p<<8 }

// fileConn is an accepted socket held as an *os.File: the net.Conn methods
// conn does not replace (Close, addresses, deadlines).
type fileConn struct {
	f             *os.File
	rc            syscall.RawConn // f's
	l             *acceptListener
	local, remote net.Addr
	closed        atomic.Bool
}

func (c *fileConn) Read(p []byte) (int, error)  { return c.f.Read(p) }
func (c *fileConn) Write(p []byte) (int, error) { return c.f.Write(p) }

// Close shuts the socket down with a raw shutdown(2): the peer sees the
// end of the stream now, as after close(2). A deadline in the past then
// ends any read or write waiting on the connection, and every later one
// (conn reports them as net.ErrClosed). The descriptor itself is released
// with a batch of others (see AcceptListener): closing it is a
// blocking-path syscall.
func (c *fileConn) Close() error {
	if c.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: c.local.Network(), Source: c.local, Addr: c.remote, Err: net.ErrClosed}
	}
	var errno syscall.Errno
	if err := c.rc.Control(func(fd uintptr) {
		_, _, errno = syscall.RawSyscall(syscall.SYS_SHUTDOWN, fd, syscall.SHUT_RDWR, 0)
	}); err != nil || errno != 0 && errno != syscall.ENOTCONN {
		return c.f.Close() // as a plain close would have
	}
	_ = c.f.SetDeadline(time.Unix(1, 0))
	c.l.retire(c.f)
	return nil
}

func (c *fileConn) isClosed() bool { return c.closed.Load() }

func (c *fileConn) LocalAddr() net.Addr                { return c.local }
func (c *fileConn) RemoteAddr() net.Addr               { return c.remote }
func (c *fileConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *fileConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *fileConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
