// Package auth authenticates calls to scillad's admin services (Admin and
// License): every such call must come over the unix socket from an allowed
// user (kernel-verified peer credentials), carry the bearer token from the
// token file, or present a client certificate signed by the configured
// client CA (mTLS). Anything else gets codes.Unauthenticated. Scan calls are
// not admin calls and pass untouched; limiting Scan to allowed client
// networks is grpcapi's job.
//
// The token file is re-read when it changes, so a token can be rotated
// without a restart.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/scilla-mail/scilla/internal/conf"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/grpcapi"
)

// Config is the admin authentication section of the main config.
type Config struct {
	// TokenFile holds the bearer token admin clients send as
	// "authorization: Bearer TOKEN" (at least 16 characters; surrounding
	// white space is ignored). "" = no token authentication. The file is
	// re-read when it changes.
	TokenFile string `yaml:"token_file"`
	// UnixSocketUIDs may call admin services over a unix socket without a
	// token (peer credentials); empty = root and the user scillad runs as.
	UnixSocketUIDs []int `yaml:"unix_socket_uids"`
	// CertFile and KeyFile are the server's TLS certificate and key for TCP
	// listeners; "" = plaintext TCP. Unix sockets never use TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the CA certificates that sign admin client
	// certificates (mTLS). Clients without a certificate may still connect
	// (to Scan); "" = no certificate authentication. Needs cert_file.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientNames, when set, limits certificate authentication to
	// certificates whose common name or a DNS name is listed.
	ClientNames []string `yaml:"client_names"`
}

// DefaultConfig returns the defaults: unix socket peers only.
func DefaultConfig() Config { return Config{} }

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	for _, f := range []struct{ key, path string }{
		{"token_file", c.TokenFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}, {"client_ca_file", c.ClientCAFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, conf.Errorf(f.key, "%v", err))
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, conf.Errorf("cert_file", "cert_file and key_file go together: set both or neither"))
	}
	if c.ClientCAFile != "" && c.CertFile == "" {
		errs = append(errs, conf.Errorf("client_ca_file", "client certificates need TLS: set cert_file and key_file too"))
	}
	for i, uid := range c.UnixSocketUIDs {
		if uid < 0 {
			errs = append(errs, conf.Errorf(fmt.Sprintf("unix_socket_uids[%d]", i), "%d is not a user id (allowed: 0 and up)", uid))
		}
	}
	return errs
}

// Authenticator checks admin calls. It is safe for concurrent use.
type Authenticator struct {
	cfg   Config
	uids  []int
	log   *slog.Logger
	tls   *tls.Config // nil without cert_file
	token tokenFile
}

// New builds an Authenticator; it reads the token and certificate files now
// so a bad file is reported at start or reload, not at the first admin call.
func New(cfg Config, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &Authenticator{cfg: cfg, log: log, token: tokenFile{path: cfg.TokenFile}}
	a.uids = cfg.UnixSocketUIDs
	if len(a.uids) == 0 {
		a.uids = []int{0, os.Getuid()}
	}
	if cfg.TokenFile != "" {
		if _, err := a.token.get(); err != nil {
			return nil, err
		}
		if fi, err := os.Stat(cfg.TokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("admin token file is readable by other users", "path", cfg.TokenFile, "mode", fi.Mode().Perm().String())
		}
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("auth: load server certificate: %w", err)
		}
		a.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.ClientCAFile != "" {
			pem, err := os.ReadFile(cfg.ClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("auth: read client CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("auth: client CA %s holds no PEM certificate", cfg.ClientCAFile)
			}
			a.tls.ClientCAs = pool
			a.tls.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return a, nil
}

// IsAdmin reports whether a full gRPC method name belongs to a service that
// needs authentication (AdminService, LicenseService).
func IsAdmin(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+scillav1.AdminService_ServiceDesc.ServiceName+"/") ||
		strings.HasPrefix(fullMethod, "/"+scillav1.LicenseService_ServiceDesc.ServiceName+"/")
}

// errUnauthenticated is the status of a refused admin call.
var errUnauthenticated = status.Error(codes.Unauthenticated,
	"admin calls need authentication: the unix socket as an allowed user, a bearer token from admin.token_file, or a client certificate")

// Authenticate returns nil when the caller of an admin method is
// authenticated, a codes.Unauthenticated status otherwise. Methods that are
// not admin methods always pass. It implements grpcapi.AdminAuthenticator.
func (a *Authenticator) Authenticate(ctx context.Context, fullMethod string) error {
	if !IsAdmin(fullMethod) {
		return nil
	}
	if up := grpcapi.UnixPeerFrom(ctx); up != nil && slices.Contains(a.uids, up.UID) {
		return nil
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && a.tls != nil && a.tls.ClientCAs != nil && len(ti.State.VerifiedChains) > 0 {
			if a.nameAllowed(ti.State.VerifiedChains[0][0]) {
				return nil
			}
		}
	}
	if a.cfg.TokenFile != "" {
		if got := bearer(ctx); got != "" {
			want, err := a.token.get()
			if err != nil {
				a.log.Error("admin token unreadable; token authentication fails", "err", err)
			} else if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
				return nil
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		a.log.Warn("unauthenticated admin call refused", "method", fullMethod, "peer", p.Addr)
	}
	return errUnauthenticated
}

func (a *Authenticator) nameAllowed(c *x509.Certificate) bool {
	if len(a.cfg.ClientNames) == 0 {
		return true
	}
	return slices.Contains(a.cfg.ClientNames, c.Subject.CommonName) ||
		slices.ContainsFunc(c.DNSNames, func(n string) bool { return slices.Contains(a.cfg.ClientNames, n) })
}

// bearer returns the token of an "authorization: Bearer X" header, or "".
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// UnaryInterceptor refuses unauthenticated unary admin calls.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := a.Authenticate(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamInterceptor refuses unauthenticated streaming admin calls.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := a.Authenticate(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// TransportCredentials returns the server credentials to pass with
// grpc.Creds: TLS (asking for, not requiring, client certificates when a
// client CA is set) on TCP connections and none on unix sockets, whose
// callers are identified by peer credentials. Nil when cert_file is unset.
func (a *Authenticator) TransportCredentials() credentials.TransportCredentials {
	if a.tls == nil {
		return nil
	}
	return &mixedCreds{tls: credentials.NewTLS(a.tls)}
}

// mixedCreds does TLS on everything but unix sockets.
type mixedCreds struct {
	tls credentials.TransportCredentials
}

func (m *mixedCreds) ClientHandshake(ctx context.Context, authority string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("auth: server credentials cannot dial")
}

func (m *mixedCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if c.LocalAddr().Network() == "unix" {
		return c, localInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return m.tls.ServerHandshake(c)
}

func (m *mixedCreds) Info() credentials.ProtocolInfo { return m.tls.Info() }

func (m *mixedCreds) Clone() credentials.TransportCredentials {
	return &mixedCreds{tls: m.tls.Clone()}
}

func (m *mixedCreds) OverrideServerName(string) error { return nil }

// localInfo is the AuthInfo of a unix-socket connection.
type localInfo struct{ credentials.CommonAuthInfo }

func (localInfo) AuthType() string { return "local" }

// tokenFile caches the token and re-reads the file when it changes.
type tokenFile struct {
	path string
	mu   sync.Mutex
	tok  string
	mod  time.Time
	size int64
}

func (t *tokenFile) get() (string, error) {
	fi, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("auth: admin token: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && fi.ModTime().Equal(t.mod) && fi.Size() == t.size {
		return t.tok, nil
	}
	tok, err := ReadToken(t.path)
	if err != nil {
		return "", err
	}
	t.tok, t.mod, t.size = tok, fi.ModTime(), fi.Size()
	return tok, nil
}

// ReadToken reads a token file: the first line, trimmed, at least 16 characters.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("auth: read admin token: %w", err)
	}
	tok, _, _ := strings.Cut(string(data), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < 16 || strings.ContainsAny(tok, " \t") {
		return "", fmt.Errorf("auth: admin token in %s must be one word of at least 16 characters", path)
	}
	return tok, nil
}

// GenerateTokenFile writes a new random token (256 bits, hex) to path with
// mode 0600 unless the file exists. It reports whether it wrote one.
func GenerateTokenFile(path string) (bool, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false, fmt.Errorf("auth: generate token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: create token file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(b[:]) + "\n"); err != nil {
		f.Close()
		return false, fmt.Errorf("auth: write token file: %w", err)
	}
	return true, f.Close()
}

// Bearer returns per-call credentials sending token as a bearer token, for
// admin clients. They are allowed over plaintext because admin clients
// usually talk to 127.0.0.1; use TLS across networks.
func Bearer(token string) credentials.PerRPCCredentials { return bearerCreds(token) }

type bearerCreds string

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerCreds) RequireTransportSecurity() bool { return false }
