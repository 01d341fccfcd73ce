package grpcapi

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"google.golang.org/grpc/peer"
)

// UnixPeer is the remote address of a connection accepted on a unix socket
// wrapped by PeerCredListener: the kernel-verified identity of the caller
// (SO_PEERCRED), which admin authentication can trust.
type UnixPeer struct {
	net.Addr
	UID, GID, PID int
}

// PeerCredListener wraps a unix-socket listener so every accepted
// connection reports a *UnixPeer as its RemoteAddr.
func PeerCredListener(l net.Listener) net.Listener { return peerCredListener{l} }

type peerCredListener struct{ net.Listener }

func (l peerCredListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			return c, nil
		}
		cred, err := peerCred(uc)
		if err != nil {
			c.Close() // without credentials the caller is unknown: refuse it
			continue
		}
		return credConn{UnixConn: uc, peer: &UnixPeer{Addr: uc.RemoteAddr(), UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}}, nil
	}
}

type credConn struct {
	*net.UnixConn
	peer *UnixPeer
}

func (c credConn) RemoteAddr() net.Addr { return c.peer }

func peerCred(c *net.UnixConn) (*syscall.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if credErr != nil {
		return nil, fmt.Errorf("SO_PEERCRED: %w", credErr)
	}
	return cred, nil
}

// UnixPeerFrom returns the unix-socket caller of ctx, or nil for other transports.
func UnixPeerFrom(ctx context.Context) *UnixPeer {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	up, _ := p.Addr.(*UnixPeer)
	return up
}
