package rawconn

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// TestAcceptListenerCloseShutsDown checks that Close ends the stream for
// the peer at once and ends a read waiting on the connection, though the
// descriptor is released later.
func TestAcceptListenerCloseShutsDown(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			w, p := pair(t, network, AcceptListener)
			read := make(chan error, 1)
			go func() { _, err := w.Read(make([]byte, 8)); read <- err }()
			time.Sleep(20 * time.Millisecond)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-read:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("waiting read after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("waiting read did not return after Close")
			}
			p.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := p.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("peer read %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

// TestAcceptListenerReleasesDescriptors checks that closed connections keep
// at most closeBatch descriptors open, and none once the listener is
// closed.
func TestAcceptListenerReleasesDescriptors(t *testing.T) {
	open := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	ln := AcceptListener(l)
	before := open()
	for i := 0; i < 3*closeBatch+5; i++ {
		p, err := net.Dial("unix", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		w, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		p.Close()
	}
	if n := open() - before; n > closeBatch {
		t.Errorf("%d descriptors left open by closed connections, want at most %d", n, closeBatch)
	}
	ln.Close()
	if n := open() - before; n > -2 { // the listener's two are gone too
		t.Errorf("%d descriptors more than before after closing the listener", n+2)
	}
}
