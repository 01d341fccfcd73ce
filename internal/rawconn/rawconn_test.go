package rawconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pair returns a wrapped server end, accepted through wrap's listener, and
// a plain client end of a loopback connection over network ("tcp" or
// "unix").
func pair(t *testing.T, network string, wrap func(net.Listener) net.Listener) (wrapped, peer net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ln := wrap(l)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err = net.Dial(network, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	wrapped = <-accepted
	if wrapped == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { wrapped.Close(); peer.Close() })
	return wrapped, peer
}

func TestConn(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MB: more than the socket buffer
	listeners := []struct {
		name string
		wrap func(net.Listener) net.Listener
	}{{"Listener", Listener}, {"AcceptListener", AcceptListener}}
	for _, network := range []string{"tcp", "unix"} {
		for _, ln := range listeners {
			t.Run(network+"/"+ln.name, func(t *testing.T) {
				tests := []struct {
					name string
					run  func(t *testing.T, w, p net.Conn)
				}{
					{"read what the peer wrote", func(t *testing.T, w, p net.Conn) {
						go p.Write([]byte("hello"))
						buf := make([]byte, 16)
						n, err := w.Read(buf)
						if err != nil || string(buf[:n]) != "hello" {
							t.Fatalf("read %q, %v", buf[:n], err)
						}
					}},
					{"a big write arrives whole", func(t *testing.T, w, p net.Conn) {
						got := make(chan []byte, 1)
						go func() { b, _ := io.ReadAll(io.LimitReader(p, int64(len(big)))); got <- b }()
						if n, err := w.Write(big); err != nil || n != len(big) {
							t.Fatalf("wrote %d of %d: %v", n, len(big), err)
						}
						if b := <-got; !bytes.Equal(b, big) {
							t.Fatalf("peer read %d bytes, want the %d written", len(b), len(big))
						}
					}},
					{"end of stream", func(t *testing.T, w, p net.Conn) {
						p.Close()
						if n, err := w.Read(make([]byte, 8)); n != 0 || err != io.EOF {
							t.Fatalf("read %d, %v; want 0, EOF", n, err)
						}
					}},
					{"read deadline", func(t *testing.T, w, p net.Conn) {
						w.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
						_, err := w.Read(make([]byte, 8))
						var ne net.Error
						if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
							t.Fatalf("err %v, want a timeout", err)
						}
					}},
					{"read after close", func(t *testing.T, w, p net.Conn) {
						w.Close()
						if _, err := w.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
							t.Fatalf("err %v, want net.ErrClosed", err)
						}
					}},
					{"write after close", func(t *testing.T, w, p net.Conn) {
						w.Close()
						if _, err := w.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
							t.Fatalf("err %v, want net.ErrClosed", err)
						}
						if err := w.Close(); !errors.Is(err, net.ErrClosed) {
							t.Fatalf("second close: %v, want net.ErrClosed", err)
						}
					}},
					{"addresses kept", func(t *testing.T, w, p net.Conn) {
						if w.RemoteAddr().String() != p.LocalAddr().String() && network == "tcp" {
							t.Fatalf("remote %v, want %v", w.RemoteAddr(), p.LocalAddr())
						}
						if w.LocalAddr().String() != p.RemoteAddr().String() || w.LocalAddr().Network() != network {
							t.Fatalf("local %v (%s), want %v", w.LocalAddr(), w.LocalAddr().Network(), p.RemoteAddr())
						}
						if _, ok := w.(*conn); supported && !ok {
							t.Fatalf("accepted %T, want the raw-syscall conn", w)
						}
					}},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						w, p := pair(t, network, ln.wrap)
						tt.run(t, w, p)
					})
				}
			})
		}
	}
}

// TestAcceptListenerClose checks that Accept ends with net.ErrClosed when
// the listener is closed while it waits.
func TestAcceptListenerClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := AcceptListener(l)
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}
