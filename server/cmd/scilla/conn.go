package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/scilla-mail/scilla/internal/conf"
)

// serverFlags are the connection flags every server-talking command has.
type serverFlags struct {
	server    string
	tokenFile string
	stateDir  string
	admin     bool
}

// register adds --server, --token-file and --state-dir. Admin commands
// default to scillad's admin socket in the state directory, where the
// caller's uid authenticates it; scan defaults to tcp:127.0.0.1:2277.
func (s *serverFlags) register(fs *flag.FlagSet, admin bool) {
	s.admin = admin
	fs.StringVar(&s.server, "server", os.Getenv("SCILLA_SERVER"), "scillad address, tcp:HOST:PORT or unix:/PATH (default: tcp:127.0.0.1:2277 for scan, the admin socket for admin commands)")
	fs.StringVar(&s.tokenFile, "token-file", os.Getenv("SCILLA_TOKEN_FILE"), "file with the admin bearer token")
	def := os.Getenv("SCILLA_STATE_DIR")
	if def == "" {
		def = "/var/lib/scilla"
	}
	fs.StringVar(&s.stateDir, "state-dir", def, "scillad's state directory (its admin socket is scillad.sock there)")
}

// address returns the server address to use.
func (s *serverFlags) address() string {
	switch {
	case s.server != "":
		return s.server
	case s.admin:
		return "unix:" + filepath.Join(s.stateDir, "scillad.sock")
	}
	return "tcp:127.0.0.1:2277"
}

// dial connects to scillad (lazily: errors show on the first call).
func (s *serverFlags) dial() (*grpc.ClientConn, error) {
	s.server = s.address()
	target, err := grpcTarget(s.server)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1<<30), grpc.MaxCallRecvMsgSize(64<<20)))
}

// adminConn dials scillad for an admin call that may take up to timeout:
// the context carries the deadline and, when configured, the bearer token.
// done closes the connection and releases the context.
func (s *serverFlags) adminConn(timeout time.Duration) (conn *grpc.ClientConn, ctx context.Context, done func(), err error) {
	if conn, err = s.dial(); err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	done = func() { cancel(); conn.Close() }
	if ctx, err = s.adminContext(ctx); err != nil {
		done()
		return nil, nil, nil, err
	}
	return conn, ctx, done, nil
}

// adminContext adds the bearer token, when configured, to ctx.
func (s *serverFlags) adminContext(ctx context.Context) (context.Context, error) {
	if s.tokenFile == "" {
		return ctx, nil
	}
	tok, err := os.ReadFile(s.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(string(tok))), nil
}

// grpcTarget turns tcp:HOST:PORT / unix:/PATH into a gRPC target.
func grpcTarget(addr string) (string, error) {
	network, a, err := conf.ParseAddress(addr)
	if err != nil {
		return "", fmt.Errorf("server %w", err)
	}
	if network == "unix" {
		return "unix:" + a, nil
	}
	return "passthrough:///" + a, nil
}

// rpcError makes a gRPC error one readable line.
func rpcError(server string, err error) string {
	st := status.Convert(err)
	return fmt.Sprintf("%s (%s): %s", server, strings.ToLower(st.Code().String()), st.Message())
}
