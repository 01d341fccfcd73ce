// Package replies is the check that knows the mail protected users sent
// (server/replies keeps its ids and names): REPLY_TO_SENT, a ham sign, when
// In-Reply-To or References names one of their messages; LOCAL_NAME_FREEMAIL
// when a stranger writes from a free mailbox under one of their names, and
// LOCAL_NAME_SISTER_DOMAIN from their own domain's name under another
// suffix.
package replies

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/freemail"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/replies"
)

// Sign names and the policy switches (methods.header_rules) of this check.
const (
	SignReply     = "REPLY_TO_SENT"
	RuleName      = "reply_to_sent"
	SignLocalName = "LOCAL_NAME_FREEMAIL"
	RuleLocalName = "local_name_freemail"
	SignSister    = "LOCAL_NAME_SISTER_DOMAIN"
	RuleSister    = "local_name_sister_domain"
)

// RuleNames lists the check's switches for the policy's header_rules.
func RuleNames() []string { return []string{RuleName, RuleLocalName, RuleSister} }

// replyScore is REPLY_TO_SENT's weight: enough to keep a reply with a few
// spammy words (a quote, a price, an attachment) from being flagged, not
// enough to carry a hijacked thread that brings malware or phishing.
const replyScore = -3.0

// localNameScore is the weight of LOCAL_NAME_FREEMAIL and
// LOCAL_NAME_SISTER_DOMAIN. The boss's name on a free mailbox or on the
// company's name under another suffix, asking for a task or a transfer,
// is CEO fraud; a colleague writing from a private mailbox, or from a
// sister company's domain the server does not host, is not, so the sign
// alone does not flag: with the fraud's words ("are you at your desk",
// "keep it confidential", an IBAN) it reaches PROBABLE_SPAM.
const localNameScore = 3.0

// minSister is the shortest domain name compared for sister domains:
// short names ("acme", "ing") are other companies' under other suffixes.
const minSister = 5

// Check looks up the ids a message answers and the name it comes under.
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
	if c.sent == nil {
		return res, nil
	}
	methods := in.Group.Settings.Methods
	if methods.RuleOn(RuleName) {
		h := in.Msg.Header
		ids := replies.IDs(append(h.Values("References"), h.Get("In-Reply-To"))...) // IDs keeps the last ten: In-Reply-To goes last
		known, err := c.sent.Known(ctx, ids)
		if err != nil {
			return res, fmt.Errorf("replies: %w", err)
		}
		if known {
			res.Signs = append(res.Signs, engine.Sign{Name: SignReply, Score: replyScore,
				Desc: "answer to a message a protected user sent", Method: "headers"})
		}
	}
	if in.Env == nil || in.Env.AuthUser == "" {
		sign, err := c.localName(ctx, in)
		if err != nil {
			return res, fmt.Errorf("replies: %w", err)
		}
		if sign.Name != "" {
			sign.Score, sign.Method, sign.Forged = localNameScore, "headers", true
			res.Signs = append(res.Signs, sign)
		}
	}
	return res, nil
}

// localName returns the sign of a From under a protected user's name
// (server/replies: from their submissions and the mail they receive) at
// an address no protected user has: a free mailbox, or the domain of an
// envelope recipient under another suffix. The zero Sign when there is
// none.
func (c *Check) localName(ctx context.Context, in *engine.Input) (engine.Sign, error) {
	from := message.ParseAddressList(in.Msg.Header.Get("From"))
	if len(from) != 1 || from[0].Name == "" {
		return engine.Sign{}, nil
	}
	methods := in.Group.Settings.Methods
	var sign engine.Sign
	switch {
	case freemail.Address(from[0].Addr):
		if methods.RuleOn(RuleLocalName) {
			sign = engine.Sign{Name: SignLocalName, Desc: "From is a free mailbox under a protected user's name"}
		}
	case in.Env != nil && sisterDomain(from[0].Domain(), in.Env.Rcpts):
		if methods.RuleOn(RuleSister) {
			sign = engine.Sign{Name: SignSister, Desc: "From is the recipient's domain name under another suffix, under a protected user's name"}
		}
	}
	if sign.Name == "" {
		return sign, nil
	}
	known, err := c.sent.KnownName(ctx, from[0].Name)
	if err != nil || !known {
		return engine.Sign{}, err
	}
	return sign, nil
}

// sisterDomain reports a sender domain whose registrable name is an
// envelope recipient's under another public suffix (vetolyon-sante.com
// to staff of vetolyon-sante.fr): the cheapest impostor's domain, which
// LOOKALIKE_DOMAIN leaves out because companies own such sister domains.
func sisterDomain(domain string, rcpts []string) bool {
	reg, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(domain))
	if err != nil {
		return false
	}
	name, _, _ := strings.Cut(reg, ".")
	if len(name) < minSister {
		return false
	}
	for _, r := range rcpts {
		at := strings.LastIndexByte(r, '@')
		if at < 0 {
			continue
		}
		rr, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(r[at+1:]))
		if err == nil && rr != reg && strings.HasPrefix(rr, name+".") {
			return true
		}
	}
	return false
}
