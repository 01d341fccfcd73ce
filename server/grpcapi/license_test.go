package grpcapi

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/scilla-mail/scilla/licensing"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func TestLicenseServer(t *testing.T) {
	privFile, pub, err := licensing.GenerateIssuer()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := licensing.ParsePrivateKey(privFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := licensing.DefaultConfig()
	cfg.Trial, cfg.Issuers = false, []string{pub}
	m, err := licensing.Open(t.TempDir(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	srv := grpc.NewServer()
	scillav1.RegisterLicenseServiceServer(srv, NewLicenseServer(m))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := scillav1.NewLicenseServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	key, err := licensing.Sign(licensing.Key{
		Product: licensing.Product, Serial: "SC-RPC", Type: licensing.Commercial, Licensee: "RPC Ltd",
		Issued: time.Now().Add(-time.Hour), Period: 30 * 24 * time.Hour, MaxMailboxes: 10,
	}, priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  []byte
		code codes.Code
	}{
		{"empty", nil, codes.InvalidArgument},
		{"tampered", bytes.Replace(key, []byte("Mailboxes: 10"), []byte("Mailboxes: 90"), 1), codes.InvalidArgument},
	} {
		if _, err := c.Install(ctx, &scillav1.InstallRequest{Key: tt.key}); status.Code(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
	resp, err := c.Install(ctx, &scillav1.InstallRequest{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSlot() != scillav1.LicenseSlot_LICENSE_SLOT_ACTIVE || resp.GetKey().GetSerial() != "SC-RPC" || resp.GetKey().GetExpires() == nil {
		t.Errorf("Install = %v", resp)
	}
	if _, err := c.Install(ctx, &scillav1.InstallRequest{Key: key}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second install: %v, want AlreadyExists", err)
	}
	info, err := c.Info(ctx, &scillav1.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetActive().GetState() != "active" || info.GetActive().GetType() != scillav1.LicenseType_LICENSE_TYPE_COMMERCIAL || info.GetReserve() != nil {
		t.Errorf("Info = %v", info)
	}
	if r, err := c.Remove(ctx, &scillav1.RemoveRequest{All: true}); err != nil || r.GetRemoved() != 1 {
		t.Errorf("Remove = %v, %v", r, err)
	}
}
