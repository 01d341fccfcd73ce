package web

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// fakes stand in for the three services and record what the console
// asked them, and whether every call came with a deadline.
type fakes struct {
	scillav1.UnimplementedAdminServiceServer
	scillav1.UnimplementedLicenseServiceServer
	scillav1.UnimplementedScannerServiceServer

	mu          sync.Mutex
	calls       []string
	noDeadline  []string
	statsReq    *scillav1.StatisticsRequest
	statsErr    error
	updateErr   error
	learnReq    *scillav1.LearnRequest
	scanReq     *scillav1.ScanRequest
	description string // of the rule in the scan verdict
}

var dbCreated = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func (f *fakes) record(ctx context.Context, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if _, ok := ctx.Deadline(); !ok {
		f.noDeadline = append(f.noDeadline, name)
	}
}

func (f *fakes) called(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakes) Status(ctx context.Context, _ *scillav1.StatusRequest) (*scillav1.StatusResponse, error) {
	f.record(ctx, "Status")
	return &scillav1.StatusResponse{
		Version:         "9.8.7 (scilla/1.0)",
		Uptime:          durationpb.New(26*time.Hour + 3*time.Minute),
		Pool:            &scillav1.PoolStatus{MaxWorkers: 17, Busy: 3, Idle: 4},
		DatabaseVersion: "2026112201",
		DatabaseCreated: timestamppb.New(dbCreated),
		PolicySource:    "/etc/scilla/policy.yaml",
		PolicyLoaded:    timestamppb.New(dbCreated),
		LicenseState:    "active: commercial key SC-2026-0001 for Example Mail Ltd, 12 days left",
		Warnings:        []string{"the active key expires in 12 days and no reserve key is installed"},
		Update:          &scillav1.UpdateStatus{Source: "https://db.example.com/scilla/", LastOk: true, LastResult: "up to date", LastAttempt: timestamppb.New(dbCreated)},
		Redis:           &scillav1.RedisStatus{Address: "10.0.0.5:6379", LastError: "dial tcp 10.0.0.5:6379: connection refused"},
	}, nil
}

func (f *fakes) Statistics(ctx context.Context, req *scillav1.StatisticsRequest) (*scillav1.StatisticsResponse, error) {
	f.record(ctx, "Statistics")
	f.mu.Lock()
	f.statsReq = req
	f.mu.Unlock()
	if f.statsErr != nil {
		return nil, f.statsErr
	}
	spam := &scillav1.StatusCount{Status: scillav1.Status_STATUS_SPAM, Results: 31, Recipients: 40}
	ham := &scillav1.StatusCount{Status: scillav1.Status_STATUS_NOT_DETECTED, Results: 93, Recipients: 95}
	return &scillav1.StatisticsResponse{
		From: req.GetFrom(), To: req.GetTo(), Resolution: req.GetResolution(), Servers: 1,
		Totals: &scillav1.StatisticsTotals{
			Messages: 120, Recipients: 135, Bytes: 3 << 20,
			Statuses: []*scillav1.StatusCount{ham, spam},
			Infos:    []*scillav1.InfoCount{{Info: scillav1.Info_INFO_NOT_PROTECTED, Results: 7, Recipients: 7}},
			Methods:  []*scillav1.NameCount{{Name: "content", Count: 29}},
			Groups: []*scillav1.GroupStatistics{
				{GroupId: 1, GroupName: "All", Results: 100, Recipients: 110, Statuses: []*scillav1.StatusCount{ham, {Status: scillav1.Status_STATUS_SPAM, Results: 7}}},
				{GroupId: 2, GroupName: "Sales", Results: 24, Recipients: 25, Statuses: []*scillav1.StatusCount{{Status: scillav1.Status_STATUS_SPAM, Results: 24}}},
			},
		},
		TopSigns:    []*scillav1.NameCount{{Name: "BAYES_99", Count: 27}},
		Domains:     []*scillav1.DomainStatistics{{Domain: "example.com", Results: 80, Recipients: 90, SpamResults: 20}},
		DomainCount: 3,
		Series:      []*scillav1.StatisticsPoint{{Start: req.GetFrom(), Messages: 120}},
	}, nil
}

func (f *fakes) Update(ctx context.Context, _ *scillav1.UpdateRequest) (*scillav1.UpdateResponse, error) {
	f.record(ctx, "Update")
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return &scillav1.UpdateResponse{Result: "installed 2026112202: 1 file fetched (2 KiB), 5 reused", Changed: true}, nil
}

func (f *fakes) Reload(ctx context.Context, _ *scillav1.ReloadRequest) (*scillav1.ReloadResponse, error) {
	f.record(ctx, "Reload")
	return &scillav1.ReloadResponse{Reloaded: []string{"config /etc/scilla/scillad.yaml", "database 2026112201"}}, nil
}

func (f *fakes) ReloadPolicy(ctx context.Context, _ *scillav1.ReloadPolicyRequest) (*scillav1.ReloadPolicyResponse, error) {
	f.record(ctx, "ReloadPolicy")
	return &scillav1.ReloadPolicyResponse{PolicySource: "/etc/scilla/policy.yaml", Groups: 4}, nil
}

func (f *fakes) Learn(ctx context.Context, req *scillav1.LearnRequest) (*scillav1.LearnResponse, error) {
	f.record(ctx, "Learn")
	f.mu.Lock()
	f.learnReq = req
	f.mu.Unlock()
	return &scillav1.LearnResponse{Learned: uint32(len(req.GetMessages())) - 1, Unchanged: 1, SpamTotal: 4711, HamTotal: 815}, nil
}

func (f *fakes) Info(ctx context.Context, _ *scillav1.InfoRequest) (*scillav1.InfoResponse, error) {
	f.record(ctx, "Info")
	return &scillav1.InfoResponse{
		Active: &scillav1.LicenseKeyInfo{
			Serial: "SC-2026-0001", Product: "scilla", Type: scillav1.LicenseType_LICENSE_TYPE_COMMERCIAL,
			Licensee: "Example Mail Ltd", Issued: timestamppb.New(dbCreated), Expires: timestamppb.New(dbCreated.AddDate(1, 0, 0)),
			MaxMailboxes: 500, MaxDailyBytes: 20 << 30, State: "active",
		},
		MailboxesUsed: 123, BytesToday: 5 << 20,
		State:    "active: commercial key SC-2026-0001",
		Warnings: []string{"mailboxes: 123 of 500 used"},
	}, nil
}

func (f *fakes) Scan(ctx context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	f.record(ctx, "Scan")
	f.mu.Lock()
	f.scanReq = req
	f.mu.Unlock()
	if len(req.GetMessage()) > 1<<20 {
		return nil, status.Error(codes.ResourceExhausted, "message: over the server limit")
	}
	return &scillav1.ScanResponse{
		ScanId: "0190c0ffee-1234abcd", EngineVersion: "scilla/1.0", DatabaseVersion: "2026112201",
		Elapsed: durationpb.New(3 * time.Millisecond),
		Results: []*scillav1.GroupResult{{
			GroupId: 1, GroupName: "All", Recipients: req.GetEnvelope().GetRcptTo(),
			Status: scillav1.Status_STATUS_SPAM, Info: scillav1.Info_INFO_NONE, Action: scillav1.Action_ACTION_ACCEPT,
			Score: 999.26, Rate: 100, Method: "content", Categories: []string{"test"},
			Rules: []*scillav1.Rule{{Name: "GTUBE", Score: 999, Description: f.description, Category: "test"}},
			Modifications: &scillav1.Modifications{
				SubjectPrefix: "[!! SPAM]",
				AddHeaders:    []*scillav1.Header{{Name: "X-Spamtest-Status-Extended", Value: "SPAM"}, {Name: "X-Spam-Flag", Value: "YES"}},
			},
		}},
	}, nil
}
