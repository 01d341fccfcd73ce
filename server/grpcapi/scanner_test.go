package grpcapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/check/gtube"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/stats"
)

const ham = "From: a@example.org\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nSee you tomorrow.\r\n"

// trigger is a test check that panics or stalls when the body asks it to.
type trigger struct{}

func (trigger) Name() string { return "trigger" }
func (trigger) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	switch {
	case strings.Contains(string(in.Msg.Raw), "PANIC-NOW"):
		panic("test panic inside a check")
	case strings.Contains(string(in.Msg.Raw), "STALL-NOW"):
		<-ctx.Done()
		return engine.Result{}, ctx.Err()
	case strings.Contains(string(in.Msg.Raw), "HANG-NOW"):
		time.Sleep(2 * time.Second) // ignores ctx: the server must still answer at the deadline
	}
	return engine.Result{}, nil
}

type fixture struct {
	client scillav1.ScannerServiceClient
	admin  scillav1.AdminServiceClient
	pool   *pool.Pool
	nets   *Networks
}

func start(t testing.TB, lim Limits, pcfg pool.Config) *fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := pool.New(pcfg)
	eng := engine.New(engine.Options{Checks: []engine.Check{gtube.New(), trigger{}}, Log: log},
		&engine.Snapshot{Policy: policy.Default(), DB: contentdb.Empty()})
	nets, err := NewNetworks([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.Open(filepath.Join(t.TempDir(), "stats.db"), stats.Options{Retention: time.Hour, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Options{Log: log, MaxMessageBytes: lim.MaxMessageBytes, AllowedNetworks: nets})
	scillav1.RegisterScannerServiceServer(srv, NewScanner(eng, p, nil, log, lim).WithStats(st))
	scillav1.RegisterAdminServiceServer(srv, NewAdmin(AdminDeps{Engine: eng, Pool: p, Started: time.Now(), Stats: st}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		_ = p.Close(context.Background())
		_ = st.Close()
	})
	return &fixture{client: scillav1.NewScannerServiceClient(conn), admin: scillav1.NewAdminServiceClient(conn), pool: p, nets: nets}
}

func defaultLimits() Limits { return Limits{MaxMessageBytes: 1 << 20, Deadline: 2 * time.Second} }

func req(msg string, rcpts ...string) *scillav1.ScanRequest {
	if len(rcpts) == 0 {
		rcpts = []string{"b@example.com"}
	}
	return &scillav1.ScanRequest{
		Message:  []byte(msg),
		Envelope: &scillav1.Envelope{ClientIp: "192.0.2.1", MailFrom: "a@example.org", RcptTo: rcpts},
	}
}

func TestScanVerdicts(t *testing.T) {
	f := start(t, defaultLimits(), pool.DefaultConfig())
	tests := []struct {
		name string
		msg  string
		want scillav1.Status
	}{
		{"gtube", ham + gtube.Signature + "\r\n", scillav1.Status_STATUS_SPAM},
		{"ham", ham, scillav1.Status_STATUS_NOT_DETECTED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.client.Scan(context.Background(), req(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Results) != 1 || resp.Results[0].Status != tt.want {
				t.Fatalf("results %v, want one %v", resp.Results, tt.want)
			}
			r := resp.Results[0]
			if r.GroupId != 1 || r.Info != scillav1.Info_INFO_NONE || resp.ScanId == "" || resp.EngineVersion == "" {
				t.Fatalf("incomplete result: %v", resp)
			}
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	f := start(t, defaultLimits(), pool.DefaultConfig())
	tests := []struct {
		name  string
		req   *scillav1.ScanRequest
		code  codes.Code
		field string
	}{
		{"empty message", req(""), codes.InvalidArgument, "message"},
		{"no envelope", &scillav1.ScanRequest{Message: []byte(ham)}, codes.InvalidArgument, "envelope"},
		{"no recipients", &scillav1.ScanRequest{Message: []byte(ham), Envelope: &scillav1.Envelope{}}, codes.InvalidArgument, "envelope.rcpt_to"},
		{"bad client ip", &scillav1.ScanRequest{Message: []byte(ham), Envelope: &scillav1.Envelope{ClientIp: "999.1.1.1", RcptTo: []string{"b@x"}}}, codes.InvalidArgument, "envelope.client_ip"},
		{"recipient with CRLF", req(ham, "b@x\r\nRCPT TO:<c@y>"), codes.InvalidArgument, "envelope.rcpt_to[0]"},
		{"over max size", req(strings.Repeat("x", 1<<20+1)), codes.ResourceExhausted, "max_message_bytes"},
		{"far over max size", req(strings.Repeat("x", 8<<20)), codes.ResourceExhausted, "larger than max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := f.client.Scan(ctx, tt.req)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.field) {
				t.Fatalf("got %v %q, want %v naming %q", st.Code(), st.Message(), tt.code, tt.field)
			}
		})
	}
}

func TestNotProcessed(t *testing.T) {
	f := start(t, Limits{MaxMessageBytes: 1 << 20, Deadline: 300 * time.Millisecond}, pool.DefaultConfig())
	for _, trig := range []string{"PANIC-NOW", "STALL-NOW", "HANG-NOW"} {
		t.Run(trig, func(t *testing.T) {
			start := time.Now()
			resp, err := f.client.Scan(context.Background(), req(ham+trig+"\r\n", "b@example.com", "c@example.com"))
			if err != nil {
				t.Fatalf("scan error %v, want a NOT_PROCESSED response", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("took %v, deadline is 300ms", took)
			}
			if len(resp.Results) != 1 || resp.Results[0].Info != scillav1.Info_INFO_NOT_PROCESSED || len(resp.Results[0].Recipients) != 2 {
				t.Fatalf("results %v, want one NOT_PROCESSED group with both recipients", resp.Results)
			}
		})
	}
	// The server still scans normally afterwards.
	resp, err := f.client.Scan(context.Background(), req(ham))
	if err != nil || resp.Results[0].Info != scillav1.Info_INFO_NONE {
		t.Fatalf("after failures: %v %v", resp, err)
	}
}

func TestAllowedNetworks(t *testing.T) {
	f := start(t, defaultLimits(), pool.DefaultConfig())
	if err := f.nets.Set([]string{"10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.Scan(context.Background(), req(ham))
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "allowed_networks") {
		t.Fatalf("scan from outside allowed networks: %v", err)
	}
}

func TestAdminNeedsAuthentication(t *testing.T) {
	f := start(t, defaultLimits(), pool.DefaultConfig())
	_, err := f.admin.Status(context.Background(), &scillav1.StatusRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unauthenticated Status: %v, want UNAUTHENTICATED", err)
	}
}

// BenchmarkScanRoundTrip measures Scan calls over loopback TCP with the
// skeleton engine, at concurrency 1 and 8; it reports messages/second.
func BenchmarkScanRoundTrip(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			f := start(b, defaultLimits(), pool.DefaultConfig())
			r := req(ham)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := b.N / conc
			for w := 0; w < conc; w++ {
				n := per
				if w == 0 {
					n += b.N % conc
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						if _, err := f.client.Scan(context.Background(), r); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

func TestNetworksAllows(t *testing.T) {
	nets, err := NewNetworks([]string{"127.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{nil, false},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 4000}, true},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1").To4(), Port: 4000}, true}, // 4-byte form
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 4000}, true},
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 4000}, false},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 4000}, true},
		{&net.TCPAddr{IP: net.ParseIP("2001:db9::1"), Port: 4000}, false},
		{&net.TCPAddr{Port: 4000}, false}, // no address
		{&net.UnixAddr{Name: "/run/scillad.sock", Net: "unix"}, true},
		{&UnixPeer{Addr: &net.UnixAddr{Name: "@", Net: "unix"}}, true},
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 53}, true}, // any other kind: by its string
		{&net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 53}, false},
	} {
		if got := nets.Allows(tc.addr); got != tc.want {
			t.Errorf("Allows(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestEnvelope: the wire envelope becomes the engine's, addresses
// normalised, the client address unmapped, and recipients the MTA did not
// give marked as such.
func TestEnvelope(t *testing.T) {
	got := envelope(&scillav1.Envelope{
		ClientIp: "[::ffff:192.0.2.7]", Helo: "mx.example.net", MailFrom: "<Bob@Example.NET>",
		RcptTo: []string{"<Jane@Example.ORG>"}, AuthUser: "bob", QueueId: "4F2A1", RcptFromHeader: true,
	})
	want := &engine.Envelope{
		ClientIP: netip.MustParseAddr("192.0.2.7"), Helo: "mx.example.net", MailFrom: "Bob@example.net",
		Rcpts: []string{"Jane@example.org"}, RcptsFromHeader: true, AuthUser: "bob", QueueID: "4F2A1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("envelope\n got %+v\nwant %+v", got, want)
	}
}
