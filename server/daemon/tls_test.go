package daemon

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
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := x509.NewCertPool()
	p.AddCert(cert)
	return &pki{cert, key, p}
}

// issue writes a leaf certificate and key as PEM files and returns them.
func (p *pki) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (certFile, keyFile string, pair tls.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func TestMutualTLSAdmin(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t)
	caFile := filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.caCert.Raw}), 0o600)
	srvCert, srvKey, _ := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	_, _, clientPair := ca.issue(t, dir, "admin", x509.ExtKeyUsageClientAuth)

	cfgPath := filepath.Join(dir, "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\n  tls:\n    cert_file: "+srvCert+"\n    key_file: "+srvKey+"\n    client_ca_file: "+caFile+"\n")
	d, _, stop := startDaemon(t, cfgPath, nil)
	defer stop()
	var addr string
	for _, a := range d.Addrs() {
		if a.Network() == "tcp" {
			addr = a.String()
		}
	}

	dial := func(certs ...tls.Certificate) *grpc.ClientConn {
		creds := credentials.NewTLS(&tls.Config{RootCAs: ca.pool, Certificates: certs})
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	withCert, without := dial(clientPair), dial()
	if _, err := scillav1.NewAdminServiceClient(withCert).Status(context.Background(), &scillav1.StatusRequest{}); err != nil {
		t.Fatalf("admin call with a client certificate: %v", err)
	}
	if _, err := scillav1.NewAdminServiceClient(without).Status(context.Background(), &scillav1.StatusRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("admin call over TLS without a client certificate: %v, want UNAUTHENTICATED", err)
	}
	if _, err := scillav1.NewScannerServiceClient(without).Scan(context.Background(), hamReq); err != nil {
		t.Fatalf("scan over TLS without a client certificate: %v", err)
	}
}
