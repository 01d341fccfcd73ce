package grpcapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/stats"
	"github.com/scilla-mail/scilla/server/verdict"
)

// TestStatisticsRPC: Statistics needs authentication, and adds up the
// recorded hours of the requested range and group.
func TestStatisticsRPC(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-admin-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 21, 22, 30, 0, 0, time.UTC)
	st, err := stats.Open(filepath.Join(dir, "stats.db"), stats.Options{Retention: 2160 * time.Hour, Log: log, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all := &policy.Group{ID: 1, Name: "All"}
	sales := &policy.Group{ID: 2, Name: "sales"}
	gv := func(g *policy.Group, s verdict.Status, info verdict.Info, method string, signs ...string) *engine.GroupVerdict {
		v := &engine.GroupVerdict{Group: g, Status: s, Info: info, Method: method, Recipients: []string{"a@example.com"}}
		for _, n := range signs {
			v.Signs = append(v.Signs, engine.Sign{Name: n})
		}
		return v
	}
	for _, r := range []struct {
		at time.Time
		v  *engine.Verdict
	}{
		{clock, &engine.Verdict{Groups: []*engine.GroupVerdict{gv(all, verdict.Spam, 0, "content", "GTUBE")}}},
		{clock.Add(time.Hour), &engine.Verdict{Groups: []*engine.GroupVerdict{gv(all, verdict.NotDetected, 0, ""), gv(sales, verdict.Spam, 0, "DNSBL", "RBL_X", "GTUBE")}}},
		{clock.Add(2 * time.Hour), &engine.Verdict{Groups: []*engine.GroupVerdict{gv(sales, verdict.NotDetected, verdict.NotProcessed, "")}}},
		{clock.Add(49 * time.Hour), &engine.Verdict{Groups: []*engine.GroupVerdict{gv(all, verdict.Blacklisted, 0, "black email list")}}},
	} {
		clock = r.at
		st.Record(r.v, 100)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}

	eng := engine.New(engine.Options{Log: log}, &engine.Snapshot{Policy: policy.Default(), DB: contentdb.Empty()})
	auth, err := NewAdminAuth(tokenFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Options{Log: log, MaxMessageBytes: 1 << 20, AdminAuth: auth})
	scillav1.RegisterAdminServiceServer(srv, NewAdmin(AdminDeps{Engine: eng, Pool: pool.New(pool.DefaultConfig()), Started: time.Now(), Stats: st}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := scillav1.NewAdminServiceClient(conn)
	authed := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret-admin-token-0123456789")

	if _, err := admin.Statistics(context.Background(), &scillav1.StatisticsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without credentials: %v, want UNAUTHENTICATED", err)
	}

	day := func(d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC))
	}
	tests := []struct {
		name string
		req  *scillav1.StatisticsRequest
		want string // totals, top signs and series, summarised
		code codes.Code
	}{
		{"the three hours", &scillav1.StatisticsRequest{From: timestamppb.New(clock.Add(-49 * time.Hour)), To: timestamppb.New(clock.Add(-47 * time.Hour))},
			"msgs=3 rcpts=4 bytes=300 st=[NOT_DETECTED:2 SPAM:2] in=[INFO_NOT_PROCESSED:1] m=[DNSBL:1 content:1] g=[1/All:2 2/sales:2] top=[GTUBE:2 RBL_X:1] series=[22:00Z:1 23:00Z:1 00:00Z:1]", codes.OK},
		{"group sales by day", &scillav1.StatisticsRequest{From: day(21), To: day(24), GroupId: 2, Resolution: scillav1.Resolution_RESOLUTION_DAY},
			"msgs=2 rcpts=2 bytes=200 st=[NOT_DETECTED:1 SPAM:1] in=[INFO_NOT_PROCESSED:1] m=[DNSBL:1] g=[2/sales:2] top=[GTUBE:1 RBL_X:1] series=[00:00Z:1 00:00Z:1 00:00Z:0]", codes.OK},
		{"top one", &scillav1.StatisticsRequest{From: day(21), To: day(22), Top: 1, Resolution: scillav1.Resolution_RESOLUTION_DAY},
			"msgs=2 rcpts=3 bytes=200 st=[NOT_DETECTED:1 SPAM:2] in=[] m=[DNSBL:1 content:1] g=[1/All:2 2/sales:1] top=[GTUBE:2] series=[00:00Z:2]", codes.OK},
		{"default: the last 24 hours", &scillav1.StatisticsRequest{}, "", codes.OK},
		{"from after to", &scillav1.StatisticsRequest{From: day(23), To: day(22)}, "", codes.InvalidArgument},
		{"too many points", &scillav1.StatisticsRequest{From: timestamppb.New(time.Unix(0, 0)), To: day(22)}, "", codes.InvalidArgument},
		{"top too large", &scillav1.StatisticsRequest{Top: 100000}, "", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := admin.Statistics(authed, tt.req)
			if status.Code(err) != tt.code {
				t.Fatalf("got %v, want %v", err, tt.code)
			}
			if err != nil || tt.want == "" {
				return
			}
			if got := summarize(resp); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func summarize(r *scillav1.StatisticsResponse) string {
	tot := r.GetTotals()
	return fmt.Sprintf("msgs=%d rcpts=%d bytes=%d st=[%s] in=[%s] m=[%s] g=[%s] top=[%s] series=[%s]",
		tot.GetMessages(), tot.GetRecipients(), tot.GetBytes(),
		join(tot.GetStatuses(), func(s *scillav1.StatusCount) string {
			return fmt.Sprintf("%s:%d", strings.TrimPrefix(s.GetStatus().String(), "STATUS_"), s.GetResults())
		}),
		join(tot.GetInfos(), func(s *scillav1.InfoCount) string { return fmt.Sprintf("%s:%d", s.GetInfo(), s.GetResults()) }),
		join(tot.GetMethods(), nameCount),
		join(tot.GetGroups(), func(g *scillav1.GroupStatistics) string {
			return fmt.Sprintf("%d/%s:%d", g.GetGroupId(), g.GetGroupName(), g.GetResults())
		}),
		join(r.GetTopSigns(), nameCount),
		join(r.GetSeries(), func(p *scillav1.StatisticsPoint) string {
			return fmt.Sprintf("%s:%d", p.GetStart().AsTime().Format("15:04Z"), p.GetMessages())
		}))
}

func nameCount(n *scillav1.NameCount) string { return fmt.Sprintf("%s:%d", n.GetName(), n.GetCount()) }

// join formats each element and joins them with spaces.
func join[T any](xs []T, f func(T) string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f(x)
	}
	return strings.Join(parts, " ")
}
