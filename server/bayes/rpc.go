package bayes

import (
	"context"
	"errors"
	"fmt"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RPC serves AdminService.Learn with a Store (it satisfies the admin
// server's Learner interface). Authentication is the caller's job.
type RPC struct {
	Store *Store
}

// maxLearnMessages bounds one call; the CLI sends files in batches.
const maxLearnMessages = 10000

// Learn implements AdminService.Learn.
func (r RPC) Learn(ctx context.Context, req *scillav1.LearnRequest) (*scillav1.LearnResponse, error) {
	if r.Store == nil {
		return nil, status.Error(codes.FailedPrecondition, "learning is not enabled")
	}
	var label Label
	switch req.GetLabel() {
	case scillav1.Label_LABEL_SPAM:
		label = LabelSpam
	case scillav1.Label_LABEL_HAM:
		label = LabelHam
	case scillav1.Label_LABEL_FORGET:
		label = LabelForget
	default:
		return nil, status.Errorf(codes.InvalidArgument, "label must be spam, ham or forget, not %v", req.GetLabel())
	}
	if len(req.GetMessages()) > maxLearnMessages {
		return nil, status.Errorf(codes.InvalidArgument, "%d messages in one call; at most %d", len(req.GetMessages()), maxLearnMessages)
	}
	res, err := r.Store.Learn(ctx, req.GetDomain(), label, req.GetMessages())
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, status.FromContextError(err).Err()
		}
		return nil, status.Error(codes.Internal, fmt.Sprintf("learn: %v", err))
	}
	return &scillav1.LearnResponse{
		Learned:    uint32(res.Learned),
		Unchanged:  uint32(res.Unchanged),
		Relabelled: uint32(res.Relabelled),
		SpamTotal:  res.SpamTotal,
		HamTotal:   res.HamTotal,
	}, nil
}
