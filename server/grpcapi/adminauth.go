package grpcapi

import (
	"context"
	"crypto/subtle"
	"fmt"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// AdminAuth authenticates admin calls by any of three means, the first that
// applies wins:
//   - a unix-socket caller whose uid is in UIDs (kernel-verified, SO_PEERCRED);
//   - a TLS client certificate verified against the server's client CA (mTLS);
//   - "authorization: Bearer TOKEN" metadata matching the token file.
type AdminAuth struct {
	// UIDs allowed over a unix socket.
	UIDs []int
	// Token is the bearer token; "" disables token authentication.
	Token string
}

// NewAdminAuth reads the token file ("" for none). uids empty means root
// and the server's own user.
func NewAdminAuth(tokenFile string, uids []int) (*AdminAuth, error) {
	a := &AdminAuth{UIDs: uids}
	if len(a.UIDs) == 0 {
		a.UIDs = []int{0, os.Getuid()}
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read admin token: %w", err)
		}
		a.Token = strings.TrimSpace(string(b))
		if len(a.Token) < 16 {
			return nil, fmt.Errorf("admin token in %s is shorter than 16 characters", tokenFile)
		}
	}
	return a, nil
}

// Authenticate implements AdminAuthenticator.
func (a *AdminAuth) Authenticate(ctx context.Context, method string) error {
	if up := UnixPeerFrom(ctx); up != nil && slices.Contains(a.UIDs, up.UID) {
		return nil
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			return nil
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		tok, ok := strings.CutPrefix(v, "Bearer ")
		if ok && a.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.Token)) == 1 {
			return nil
		}
		if ok {
			return status.Error(codes.Unauthenticated, "admin token does not match")
		}
	}
	if up := UnixPeerFrom(ctx); up != nil {
		return status.Errorf(codes.PermissionDenied, "uid %d may not make admin calls on this socket (admin.unix_socket_uids)", up.UID)
	}
	return status.Error(codes.Unauthenticated, "admin calls need the admin unix socket, a client certificate, or a bearer token (admin.token_file)")
}
