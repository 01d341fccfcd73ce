package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/stats"
)

// Version is scillad's version, set at build time with -ldflags.
var Version = "dev"

// LicenseStatus reports the licence state for Admin.Status.
type LicenseStatus interface {
	// State is a one-line plain summary, e.g. "trial, 27 days left".
	State() string
	// Warnings are current licence warnings (limits, expiry).
	Warnings() []string
}

// Learner trains the local classifier.
type Learner interface {
	Learn(ctx context.Context, req *scillav1.LearnRequest) (*scillav1.LearnResponse, error)
}

// Updater runs content database updates for the Update RPC and reports
// their state for Status.
type Updater interface {
	// Update checks the source and installs a newer version, or with
	// rollback makes the previous version current. Errors that are gRPC
	// statuses are returned as they are; others as FAILED_PRECONDITION.
	Update(ctx context.Context, rollback bool) (*scillav1.UpdateResponse, error)
	// UpdateStatus is nil when updates are off.
	UpdateStatus() *scillav1.UpdateStatus
}

// AdminDeps are what the Admin service reports on and acts through. Nil
// function and interface fields make the matching calls Unimplemented.
type AdminDeps struct {
	Engine  *engine.Engine
	Pool    *pool.Pool
	Started time.Time
	// Reload re-reads config, policy and database and says what changed.
	Reload func(ctx context.Context) ([]string, error)
	// ReloadPolicy re-reads the policy file.
	ReloadPolicy func(ctx context.Context) error
	Learner      Learner
	License      LicenseStatus
	// Updater runs content database updates; nil makes Update
	// Unimplemented.
	Updater Updater
	// Stats answers Statistics; nil makes it Unimplemented.
	Stats *stats.Store
}

// Admin implements scillav1.AdminServiceServer. Authentication is done by
// interceptors before any of its methods run.
type Admin struct {
	scillav1.UnimplementedAdminServiceServer
	d AdminDeps
}

// NewAdmin returns the Admin service.
func NewAdmin(d AdminDeps) *Admin { return &Admin{d: d} }

// Status implements the Status RPC.
func (a *Admin) Status(ctx context.Context, _ *scillav1.StatusRequest) (*scillav1.StatusResponse, error) {
	ps := a.d.Pool.Stats()
	snap := a.d.Engine.Snapshot()
	resp := &scillav1.StatusResponse{
		Version: Version + " (" + engine.Version + ")",
		Uptime:  durationpb.New(time.Since(a.d.Started).Round(time.Second)),
		Pool: &scillav1.PoolStatus{
			MaxWorkers: uint32(ps.Max),
			Busy:       uint32(ps.Busy),
			Idle:       uint32(ps.Idle),
			Started:    ps.Started,
			Recycled:   ps.Recycled,
			Queued:     uint32(ps.Queued),
		},
		DatabaseVersion: snap.DB.Version,
		PolicySource:    snap.Policy.Source,
		PolicyLoaded:    timestamppb.New(snap.Policy.Loaded),
	}
	if !snap.DB.Created.IsZero() {
		resp.DatabaseCreated = timestamppb.New(snap.DB.Created)
	}
	if a.d.Updater != nil {
		resp.Update = a.d.Updater.UpdateStatus()
	}
	if a.d.License != nil {
		resp.LicenseState = a.d.License.State()
		resp.Warnings = append(resp.Warnings, a.d.License.Warnings()...)
	}
	return resp, nil
}

// Reload implements the Reload RPC.
func (a *Admin) Reload(ctx context.Context, _ *scillav1.ReloadRequest) (*scillav1.ReloadResponse, error) {
	if a.d.Reload == nil {
		return nil, status.Error(codes.Unimplemented, "reload is not available")
	}
	done, err := a.d.Reload(ctx)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "reload refused, the old configuration keeps serving: %v", err)
	}
	return &scillav1.ReloadResponse{Reloaded: done}, nil
}

// ReloadPolicy implements the ReloadPolicy RPC.
func (a *Admin) ReloadPolicy(ctx context.Context, _ *scillav1.ReloadPolicyRequest) (*scillav1.ReloadPolicyResponse, error) {
	if a.d.ReloadPolicy == nil {
		return nil, status.Error(codes.Unimplemented, "policy reload is not available")
	}
	if err := a.d.ReloadPolicy(ctx); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "policy refused, the old policy keeps serving: %v", err)
	}
	p := a.d.Engine.Snapshot().Policy
	return &scillav1.ReloadPolicyResponse{PolicySource: p.Source, Groups: uint32(len(p.Groups))}, nil
}

// Update implements the Update RPC.
func (a *Admin) Update(ctx context.Context, req *scillav1.UpdateRequest) (*scillav1.UpdateResponse, error) {
	if a.d.Updater == nil {
		return nil, status.Error(codes.Unimplemented, "database updates are not available")
	}
	resp, err := a.d.Updater.Update(ctx, req.GetRollback())
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, status.Errorf(codes.DeadlineExceeded, "update did not finish in time, the installed database keeps serving: %v", err)
		}
		return nil, status.Errorf(codes.FailedPrecondition, "update failed, the installed database keeps serving: %v", err)
	}
	return resp, nil
}

// Learn implements the Learn RPC.
func (a *Admin) Learn(ctx context.Context, req *scillav1.LearnRequest) (*scillav1.LearnResponse, error) {
	if a.d.Learner == nil {
		return nil, status.Error(codes.Unimplemented, "learning is not available")
	}
	if req.GetLabel() == scillav1.Label_LABEL_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "label: must be LABEL_SPAM, LABEL_HAM or LABEL_FORGET")
	}
	if len(req.GetMessages()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "messages: at least one message is required")
	}
	return a.d.Learner.Learn(ctx, req)
}
