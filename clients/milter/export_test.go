package milter

import (
	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/internal/gopool"
)

// NullServer returns a milter server that accepts every message unchanged
// but negotiates scilla-milter's actions and protocol options, so Postfix
// sends it the same events, and serves them through the same connection
// handling (Serve): the Postfix benchmark's ceiling.
func NullServer() *Server {
	return &Server{
		srv: gomilter.NewServer(
			gomilter.WithMilter(func() gomilter.Milter { return gomilter.NoOpMilter{} }),
			gomilter.WithActions(actions),
			gomilter.WithProtocols(protocol),
			gomilter.WithNegotiationCallback(negotiate),
			gomilter.WithReadTimeout(0),
			gomilter.WithWriteTimeout(0),
		),
		runs: new(gopool.Pool),
		idle: idleTimeout,
	}
}
