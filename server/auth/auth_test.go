package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/grpcapi"
)

type adminServer struct {
	scillav1.UnimplementedAdminServiceServer
}

func (adminServer) Status(context.Context, *scillav1.StatusRequest) (*scillav1.StatusResponse, error) {
	return &scillav1.StatusResponse{Version: "test"}, nil
}

// serve starts a gRPC server with the authenticator on l.
func serve(t *testing.T, a *Authenticator, l net.Listener) {
	t.Helper()
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(a.UnaryInterceptor()), grpc.ChainStreamInterceptor(a.StreamInterceptor())}
	if c := a.TransportCredentials(); c != nil {
		opts = append(opts, grpc.Creds(c))
	}
	s := grpc.NewServer(opts...)
	scillav1.RegisterAdminServiceServer(s, adminServer{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(l)
	t.Cleanup(s.Stop)
}

// call makes one admin and one health call and returns their codes.
func call(t *testing.T, target string, opts ...grpc.DialOption) (admin, healthCode codes.Code) {
	t.Helper()
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = scillav1.NewAdminServiceClient(conn).Status(ctx, &scillav1.StatusRequest{})
	admin = status.Code(err)
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return admin, status.Code(err)
}

func writeToken(t *testing.T, path, tok string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	tokPath := filepath.Join(dir, "admin.token")
	writeToken(t, tokPath, "0123456789abcdef-first")
	a, err := New(Config{TokenFile: tokPath, UnixSocketUIDs: []int{os.Getuid()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, a, l)
	plain := grpc.WithTransportCredentials(insecure.NewCredentials())
	tests := []struct {
		name  string
		token string
		want  codes.Code
	}{
		{"no token", "", codes.Unauthenticated},
		{"wrong token", "0123456789abcdef-wrong", codes.Unauthenticated},
		{"right token", "0123456789abcdef-first", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []grpc.DialOption{plain}
			if tt.token != "" {
				opts = append(opts, grpc.WithPerRPCCredentials(Bearer(tt.token)))
			}
			admin, h := call(t, l.Addr().String(), opts...)
			if admin != tt.want {
				t.Errorf("admin call: %v, want %v", admin, tt.want)
			}
			if tt.want != codes.Unavailable && h != codes.OK {
				t.Errorf("health call (not admin): %v, want OK", h)
			}
		})
	}
	// Rotation: a new token replaces the old one without a restart.
	time.Sleep(10 * time.Millisecond)
	writeToken(t, tokPath, "0123456789abcdef-second-token")
	if c, _ := call(t, l.Addr().String(), plain, grpc.WithPerRPCCredentials(Bearer("0123456789abcdef-first"))); c != codes.Unauthenticated {
		t.Errorf("old token after rotation: %v, want Unauthenticated", c)
	}
	if c, _ := call(t, l.Addr().String(), plain, grpc.WithPerRPCCredentials(Bearer("0123456789abcdef-second-token"))); c != codes.OK {
		t.Errorf("new token after rotation: %v, want OK", c)
	}
}

func TestUnixPeer(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		uids []int
		want codes.Code
	}{
		{"own uid allowed by default", nil, codes.OK},
		{"uid not listed", []int{os.Getuid() + 4242}, codes.Unauthenticated},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(dir, string(rune('a'+i))+".sock")
			l, err := grpcapi.Listen("unix:" + sock)
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Config{UnixSocketUIDs: tt.uids}, nil)
			if err != nil {
				t.Fatal(err)
			}
			serve(t, a, l)
			admin, h := call(t, "unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if admin != tt.want || h != codes.OK {
				t.Errorf("admin %v health %v, want %v and OK", admin, h, tt.want)
			}
		})
	}
	// Over TCP the same uid is not trusted: peer credentials exist only on unix sockets.
	a, _ := New(Config{}, nil)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	serve(t, a, l)
	if c, _ := call(t, l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); c != codes.Unauthenticated {
		t.Errorf("TCP without credentials: %v, want Unauthenticated", c)
	}
}

// pki writes a CA, a server certificate and two client certificates (one
// from the CA, one self-signed) and returns their paths.
type pki struct {
	dir                       string
	caFile, certFile, keyFile string
	client, rogue             tls.Certificate
	caPool                    *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(ca)
	issue := func(serial int64, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{cn}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c, certPEM, keyPEM
	}
	_, srvCert, srvKey := issue(2, "localhost", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.client, _, _ = issue(3, "admin-cli", ca, caKey, x509.ExtKeyUsageClientAuth)
	p.rogue, _, _ = issue(4, "admin-cli", nil, nil, x509.ExtKeyUsageClientAuth)
	p.caFile, p.certFile, p.keyFile = filepath.Join(p.dir, "ca.pem"), filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key")
	for path, data := range map[string][]byte{p.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), p.certFile: srvCert, p.keyFile: srvKey} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name  string
		names []string
		cert  *tls.Certificate
		want  codes.Code
	}{
		{"client certificate from the CA", nil, &p.client, codes.OK},
		{"listed client name", []string{"admin-cli"}, &p.client, codes.OK},
		{"unlisted client name", []string{"someone-else"}, &p.client, codes.Unauthenticated},
		{"no client certificate", nil, nil, codes.Unauthenticated},
		// Forced on the server, a certificate from another CA fails the handshake.
		{"certificate from another CA", nil, &p.rogue, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(Config{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, ClientNames: tt.names}, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			serve(t, a, l)
			cfg := &tls.Config{RootCAs: p.caPool, ServerName: "localhost"}
			if tt.cert != nil {
				c := tt.cert
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
			}
			admin, h := call(t, l.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
			if admin != tt.want {
				t.Errorf("admin call: %v, want %v", admin, tt.want)
			}
			if tt.want != codes.Unavailable && h != codes.OK {
				t.Errorf("health call over TLS: %v, want OK", h)
			}
		})
	}
}

func TestStreamInterceptor(t *testing.T) {
	a, _ := New(Config{}, nil)
	called := false
	h := func(any, grpc.ServerStream) error { called = true; return nil }
	err := a.StreamInterceptor()(nil, fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/scilla.v1.AdminService/Watch"}, h)
	if status.Code(err) != codes.Unauthenticated || called {
		t.Errorf("admin stream: err %v called %v; want Unauthenticated, not called", err, called)
	}
	err = a.StreamInterceptor()(nil, fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}, h)
	if err != nil || !called {
		t.Errorf("reflection stream: err %v called %v; want it to pass", err, called)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	c := Config{TokenFile: filepath.Join(dir, "missing"), CertFile: "x", ClientCAFile: "", UnixSocketUIDs: []int{-1}}
	errs := c.Validate()
	if len(errs) != 4 {
		t.Errorf("Validate = %v, want 4 problems (token file, cert file, key without cert, uid)", errs)
	}
	if errs := (&Config{}).Validate(); len(errs) != 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
}

func TestGenerateTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tok")
	wrote, err := GenerateTokenFile(path)
	if err != nil || !wrote {
		t.Fatalf("GenerateTokenFile = %v, %v", wrote, err)
	}
	tok, err := ReadToken(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("ReadToken = %q, %v", tok, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if wrote, _ := GenerateTokenFile(path); wrote {
		t.Error("an existing token file was overwritten")
	}
	if tok2, _ := ReadToken(path); tok2 != tok {
		t.Error("token changed")
	}
}
