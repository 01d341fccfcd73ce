package grpcapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/pool"
)

func TestAdminAuth(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret-admin-token-0123456789\n"), 0o600)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := pool.New(pool.DefaultConfig())
	eng := engine.New(engine.Options{Log: log}, &engine.Snapshot{Policy: policy.Default(), DB: contentdb.Empty()})

	run := func(uids []int) (tcp, unix string) {
		auth, err := NewAdminAuth(tokenFile, uids)
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(Options{Log: log, MaxMessageBytes: 1 << 20, AdminAuth: auth})
		scillav1.RegisterAdminServiceServer(srv, NewAdmin(AdminDeps{Engine: eng, Pool: p, Started: time.Now()}))
		tl, _ := net.Listen("tcp", "127.0.0.1:0")
		sock := filepath.Join(t.TempDir(), "s.sock")
		ul, err := Listen("unix:" + sock)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(tl)
		go srv.Serve(ul)
		t.Cleanup(srv.Stop)
		return tl.Addr().String(), "unix:" + sock
	}
	call := func(target string, ctx context.Context) codes.Code {
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = scillav1.NewAdminServiceClient(conn).Status(ctx, &scillav1.StatusRequest{})
		return status.Code(err)
	}
	bg := context.Background()
	withToken := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(bg, "authorization", "Bearer "+tok)
	}

	tcp, unix := run(nil) // default uids: root and us
	otherTCP, otherUnix := run([]int{65534})
	tests := []struct {
		name   string
		target string
		ctx    context.Context
		want   codes.Code
	}{
		{"tcp without credentials", tcp, bg, codes.Unauthenticated},
		{"tcp with token", tcp, withToken("s3cret-admin-token-0123456789"), codes.OK},
		{"tcp with wrong token", tcp, withToken("nope"), codes.Unauthenticated},
		{"unix socket, own uid", unix, bg, codes.OK},
		{"unix socket, uid not allowed", otherUnix, bg, codes.PermissionDenied},
		{"unix socket, uid not allowed, token", otherUnix, withToken("s3cret-admin-token-0123456789"), codes.OK},
		{"other server tcp without credentials", otherTCP, bg, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(tt.target, tt.ctx); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
