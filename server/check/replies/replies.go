// Package replies is the check that recognises answers to the mail
// protected users sent (server/replies keeps the ids): REPLY_TO_SENT, a
// ham sign, when In-Reply-To or References names one of them.
package replies

import (
	"context"
	"fmt"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/replies"
)

// Sign names and the policy switch (methods.header_rules) of this check.
const (
	SignReply = "REPLY_TO_SENT"
	RuleName  = "reply_to_sent"
)

// score is the sign's weight: enough to keep a reply with a few spammy
// words (a quote, a price, an attachment) from being flagged, not enough to
// carry a hijacked thread that brings malware or phishing.
const score = -3.0

// Check looks up the ids a message answers.
type Check struct {
	sent replies.Store // nil: off
}

// New returns the check; a nil store turns it off.
func New(sent replies.Store) *Check { return &Check{sent: sent} }

// Name implements engine.Check.
func (*Check) Name() string { return "replies" }

// Waits implements engine.Waiter: the store may be a Redis server away.
func (c *Check) Waits() bool { return c.sent != nil }

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	var res engine.Result
	if c.sent == nil || !in.Group.Settings.Methods.RuleOn(RuleName) {
		return res, nil
	}
	h := in.Msg.Header
	ids := replies.IDs(append(h.Values("References"), h.Get("In-Reply-To"))...) // IDs keeps the last ten: In-Reply-To goes last
	if len(ids) == 0 {
		return res, nil
	}
	known, err := c.sent.Known(ctx, ids)
	if err != nil {
		return res, fmt.Errorf("replies: %w", err)
	}
	if known {
		res.Signs = append(res.Signs, engine.Sign{Name: SignReply, Score: score,
			Desc: "answer to a message a protected user sent", Method: "headers"})
	}
	return res, nil
}
