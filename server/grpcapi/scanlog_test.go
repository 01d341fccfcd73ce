package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func TestNewScanID(t *testing.T) {
	re := regexp.MustCompile(`^([0-9a-f]{11,})-[0-9a-f]{8}$`)
	before := time.Now().UnixMilli()
	id := NewScanID()
	after := time.Now().UnixMilli()
	m := re.FindStringSubmatch(id)
	if m == nil {
		t.Fatalf("scan id %q does not look like %s", id, re)
	}
	var ms int64
	if _, err := fmt.Sscanf(m[1], "%x", &ms); err != nil || ms < before || ms > after {
		t.Errorf("scan id %q: time part %d (%v), want %d..%d", id, ms, err, before, after)
	}
	if other := NewScanID(); other == id {
		t.Errorf("two scan ids are both %q", id)
	}
}

func TestScanLogging(t *testing.T) {
	scan := &grpc.UnaryServerInfo{FullMethod: scillav1.ScannerService_Scan_FullMethodName}
	other := &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}
	tests := []struct {
		name      string
		info      *grpc.UnaryServerInfo
		err       error
		wantInner bool     // the wrapped logging interceptor ran
		want      []string // in the log; nil = nothing logged
	}{
		{name: "scan ok: the scan's own line is enough", info: scan},
		{name: "scan refused", info: scan, err: status.Error(codes.PermissionDenied, "not allowed"),
			want: []string{"level=WARN", "grpc.method=Scan", "grpc.code=PermissionDenied", "not allowed"}},
		{name: "scan too big", info: scan, err: status.Error(codes.ResourceExhausted, "over the limit"),
			want: []string{"level=WARN", "grpc.code=ResourceExhausted"}},
		{name: "scan panic", info: scan, err: status.Error(codes.Internal, "internal error"),
			want: []string{"level=ERROR", "grpc.code=Internal"}},
		{name: "other methods go through the interceptor", info: other, wantInner: true},
		{name: "other methods failing too", info: other, err: errors.New("x"), wantInner: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			inner := false
			i := scanLogging(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				inner = true
				return h(ctx, req)
			}, log)
			_, err := i(context.Background(), nil, tt.info, func(context.Context, any) (any, error) { return nil, tt.err })
			if !errors.Is(err, tt.err) {
				t.Errorf("err %v, want %v", err, tt.err)
			}
			if inner != tt.wantInner {
				t.Errorf("inner interceptor ran: %v, want %v", inner, tt.wantInner)
			}
			got := out.String()
			if tt.want == nil && got != "" {
				t.Errorf("logged %q, want nothing", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("logged %q, want %q in it", got, w)
				}
			}
		})
	}
}
