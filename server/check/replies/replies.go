// Package replies is the check that knows the mail protected users sent
// (server/replies keeps its ids, names and the domains written to):
// REPLY_TO_SENT, a ham sign, when In-Reply-To or References names one of
// their messages; LOCAL_NAME_FREEMAIL when a stranger writes from a free
// mailbox under one of their names; LOOKALIKE_CORRESPONDENT when the
// sender's domain is made to be taken for one they write to;
// FIRST_CONTACT_PAYMENT beside a request to pay a new account, and
// FIRST_CONTACT_PITCH beside a cold sales pitch, from a domain they never
// wrote to.
package replies

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	SignLookalike = "LOOKALIKE_CORRESPONDENT"
	RuleLookalike = "lookalike_correspondent"
	SignFirst     = "FIRST_CONTACT_PAYMENT"
	RuleFirst     = "first_contact_payment"
	SignPitch     = "FIRST_CONTACT_PITCH"
	RulePitch     = "first_contact_pitch"
)

// RuleNames lists the check's switches for the policy's header_rules.
func RuleNames() []string {
	return []string{RuleName, RuleLocalName, RuleLookalike, RuleFirst, RulePitch}
}

// replyScore is REPLY_TO_SENT's weight: enough to keep a reply with a few
// spammy words (a quote, a price, an attachment) from being flagged, not
// enough to carry a hijacked thread that brings malware or phishing.
const replyScore = -3.0

// localNameScore is LOCAL_NAME_FREEMAIL's weight. The boss's name on a
// free mailbox asking for a task or a transfer is CEO fraud; a colleague
// writing from a private mailbox is not, so the sign alone does not flag:
// with the fraud's words ("are you at your desk", "keep it confidential")
// it reaches PROBABLE_SPAM.
const localNameScore = 3.0

// lookalikeScore is LOOKALIKE_CORRESPONDENT's weight, LOOKALIKE_DOMAIN's:
// a supplier's name with a letter changed or its suffix hyphened on,
// writing to the company that pays it, is invoice fraud; the sign marks
// the message forged, so its business prose earns no credit.
const lookalikeScore = 4.5

// firstScore is FIRST_CONTACT_PAYMENT's weight. A supplier's genuine
// change of bank account comes from a domain its customer's accounts
// department writes to; the same request from a domain nobody here has
// ever written to is the invoice fraud's opening (a sister or look-alike
// domain too unlike the supplier's for LOOKALIKE_CORRESPONDENT, a
// stranger's). With the request's own 1.5 it reaches 4.0, and a
// classifier that does not vouch for the message takes it to
// PROBABLE_SPAM.
const firstScore = 2.5

// paymentRequests are the content rules (updater/db-src/rules) that ask to
// pay a new account, beside which FIRST_CONTACT_PAYMENT counts.
var paymentRequests = []string{"BANK_DETAILS_CHANGE", "BEC_PAYROLL"}

// pitchScore is FIRST_CONTACT_PITCH's weight. A cold pitch is cold: the
// agency that "looked at your website" and "won't follow up again" has
// never been written to, while a supplier the company buys from offers
// its services from a domain the buyers write to. With the pitch rule's
// own 1.0–4.0 it flags when the classifier does not vouch for the
// message or a second pitch rule fires.
const pitchScore = 2.0

// pitchRules are the content rules of unsolicited sales pitches beside
// which FIRST_CONTACT_PITCH counts: the agency's and the list seller's own
// words, not "I came across" or "web hosting", which customers' first
// enquiries and providers' notices say too.
var pitchRules = []string{"COLD_PITCH_OPT_OUT", "SEO_FOLLOWUP", "WEBSITE_AUDIT_PITCH", "SEO_BACKLINKS",
	"SEO_RANKING", "SEO_REVIEWS", "SEO_LEADS", "LEADS_LIST_OFFER"}

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
	inbound := in.Env == nil || in.Env.AuthUser == ""
	if methods.RuleOn(RuleLocalName) && inbound {
		local, err := c.localName(ctx, in.Msg)
		if err != nil {
			return res, fmt.Errorf("replies: %w", err)
		}
		if local {
			res.Signs = append(res.Signs, engine.Sign{Name: SignLocalName, Score: localNameScore,
				Desc: "From is a free mailbox under a protected user's name", Method: "headers", Forged: true})
		}
	}
	// One look-up of the From and Reply-To domains answers both questions
	// below. A mailing list's message is no first contact: its members talk
	// about bank changes (and fraud) without asking anyone to pay.
	lookalikes := methods.RuleOn(RuleLookalike) && inbound
	list := in.Msg.Header.Get("List-Id") != ""
	first := methods.RuleOn(RuleFirst) && inbound && !list
	pitch := methods.RuleOn(RulePitch) && inbound && !list
	if !lookalikes && !first && !pitch {
		return res, nil
	}
	senders := senderDomains(in.Msg)
	found, err := c.sent.Senders(ctx, senders)
	if err != nil {
		return res, fmt.Errorf("replies: %w", err)
	}
	if d := imitator(senders, found); lookalikes && d != "" {
		res.Signs = append(res.Signs, engine.Sign{Name: SignLookalike, Score: lookalikeScore,
			Desc: d + " is made to be taken for a domain protected users write to", Method: "headers", Forged: true})
	}
	d := stranger(senders, found, in.Env.RcptDomain())
	if first && d != "" {
		res.Signs = append(res.Signs, engine.Sign{Name: SignFirst, Score: firstScore, Category: "fraud",
			Desc: "a request to pay a new account from " + d + ", which protected users have never written to", Method: "headers",
			With: paymentRequests})
	}
	if pitch && d != "" {
		res.Signs = append(res.Signs, engine.Sign{Name: SignPitch, Score: pitchScore, Category: "seo",
			Desc: "a sales pitch from " + d + ", which protected users have never written to", Method: "headers",
			With: pitchRules})
	}
	return res, nil
}

// maxSenderDomains bounds the From and Reply-To domains looked up: a
// message has one or two; a header that lists hundreds costs no more.
const maxSenderDomains = 4

// imitator returns the first sender domain that imitates one the
// protected users write to, "" when none does.
func imitator(senders []string, found []replies.Sender) string {
	for i, f := range found {
		if f.Imitates {
			return senders[i]
		}
	}
	return ""
}

// senderDomains returns the From and Reply-To domains, each once; none
// when a header lists more than maxSenderDomains.
func senderDomains(m *message.Message) []string {
	var seen []string
	for _, field := range []string{"From", "Reply-To"} {
		for _, a := range message.ParseAddressList(m.Header.Get(field)) {
			d := strings.ToLower(a.Domain())
			if d == "" || slices.Contains(seen, d) {
				continue
			}
			if len(seen) == maxSenderDomains {
				return nil
			}
			seen = append(seen, d)
		}
	}
	return seen
}

// stranger returns the first sender domain protected users have never
// written to, "" when they wrote to each (or the store cannot tell). The
// protected domain itself is not a stranger: its mail to itself is not
// remembered.
func stranger(senders []string, found []replies.Sender, own string) string {
	for i, f := range found {
		if f.Stranger && senders[i] != own {
			return senders[i]
		}
	}
	return ""
}

// localName reports a From at a free mailbox whose display name is a
// protected user's (server/replies: from their submissions and the mail
// they receive).
func (c *Check) localName(ctx context.Context, m *message.Message) (bool, error) {
	from := message.ParseAddressList(m.Header.Get("From"))
	if len(from) != 1 || from[0].Name == "" || !freemail.Address(from[0].Addr) {
		return false, nil
	}
	return c.sent.KnownName(ctx, from[0].Name)
}
