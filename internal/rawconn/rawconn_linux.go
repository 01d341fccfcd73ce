package rawconn

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

const supported = true

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until readable
			}
			n, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		if cl, ok := c.Conn.(interface{ isClosed() bool }); ok && cl.isClosed() {
			return 0, c.opError("read", net.ErrClosed) // shut down by Close
		}
		return 0, io.EOF
	}
	return n, nil
}

func (c *conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		var n int
		var errno syscall.Errno
		err := c.rc.Write(func(fd uintptr) bool {
			for {
				r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
				switch e {
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					return false // wait until writable
				}
				n, errno = int(r), e
				return true
			}
		})
		switch {
		case err != nil:
			return done, c.opError("write", err)
		case errno != 0:
			return done, c.opError("write", os.NewSyscallError("write", errno))
		}
		done += n
	}
	return done, nil
}
