package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scilla-mail/scilla/licensing"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// LicenseServer implements scillav1.LicenseServiceServer on a licensing
// Manager. Its calls are admin calls (authenticated by the interceptor).
type LicenseServer struct {
	scillav1.UnimplementedLicenseServiceServer
	m *licensing.Manager
}

// NewLicenseServer returns the LicenseService for m.
func NewLicenseServer(m *licensing.Manager) *LicenseServer { return &LicenseServer{m: m} }

// Install implements the Install RPC.
func (s *LicenseServer) Install(_ context.Context, req *scillav1.InstallRequest) (*scillav1.InstallResponse, error) {
	if len(req.GetKey()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "key: empty; send the contents of the licence key file")
	}
	slot, ks, err := s.m.Install(req.GetKey())
	if err != nil {
		return nil, licenseError(err)
	}
	return &scillav1.InstallResponse{Slot: scillav1.LicenseSlot(slot), Key: KeyInfo(ks)}, nil
}

// Remove implements the Remove RPC.
func (s *LicenseServer) Remove(_ context.Context, req *scillav1.RemoveRequest) (*scillav1.RemoveResponse, error) {
	n, err := s.m.Remove(req.GetAll())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &scillav1.RemoveResponse{Removed: uint32(n)}, nil
}

// Info implements the Info RPC.
func (s *LicenseServer) Info(context.Context, *scillav1.InfoRequest) (*scillav1.InfoResponse, error) {
	return InfoResponse(s.m.Info()), nil
}

// InfoResponse converts a licensing.Info to its protobuf form.
func InfoResponse(info licensing.Info) *scillav1.InfoResponse {
	return &scillav1.InfoResponse{
		Active:        KeyInfo(info.Active),
		Reserve:       KeyInfo(info.Reserve),
		MailboxesUsed: info.MailboxesUsed,
		BytesToday:    info.BytesToday,
		State:         info.State,
		Warnings:      info.Warnings,
	}
}

// KeyInfo converts one key's status to its protobuf form; nil stays nil.
func KeyInfo(ks *licensing.KeyStatus) *scillav1.LicenseKeyInfo {
	if ks == nil {
		return nil
	}
	k := ks.Key
	out := &scillav1.LicenseKeyInfo{
		Serial: k.Serial, Product: k.Product, Licensee: k.Licensee,
		Issued:       timestamppb.New(k.Issued),
		MaxMailboxes: k.MaxMailboxes, MaxDailyBytes: k.MaxDailyBytes,
		State: ks.State,
	}
	switch k.Type {
	case licensing.Commercial:
		out.Type = scillav1.LicenseType_LICENSE_TYPE_COMMERCIAL
	case licensing.Trial:
		out.Type = scillav1.LicenseType_LICENSE_TYPE_TRIAL
	}
	if !ks.Activated.IsZero() {
		out.Activated = timestamppb.New(ks.Activated)
	}
	if !ks.Expires.IsZero() {
		out.Expires = timestamppb.New(ks.Expires)
	}
	return out
}

// licenseError maps a refused key to a gRPC status with the licensing
// package's plain message.
func licenseError(err error) error {
	code := codes.Internal
	switch {
	case errors.Is(err, licensing.ErrMalformed), errors.Is(err, licensing.ErrTampered),
		errors.Is(err, licensing.ErrWrongProduct), errors.Is(err, licensing.ErrUnknownIssuer):
		code = codes.InvalidArgument
	case errors.Is(err, licensing.ErrExpired), errors.Is(err, licensing.ErrNotYetValid),
		errors.Is(err, licensing.ErrReserveOccupied):
		code = codes.FailedPrecondition
	case errors.Is(err, licensing.ErrAlreadyInstalled):
		code = codes.AlreadyExists
	}
	return status.Error(code, err.Error())
}
