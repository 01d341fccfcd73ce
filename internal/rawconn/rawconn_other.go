//go:build !linux

package rawconn

import "net"

const supported = false

func (l *acceptListener) Accept() (net.Conn, error) { return l.Listener.Accept() } // not used: supported is false
