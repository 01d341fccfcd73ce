// Package formal recognises formal messages: delivery status notifications
// (bounces, RFC 3464), message disposition notifications (read receipts,
// RFC 8098) and automatic replies (RFC 3834, vacation notices). They get the
// status FORMAL so administrators can route them apart from people's mail.
//
// FORMAL outranks the score but not a black list or forced SPAM (see
// engine.Precedence), so a spammer who dresses mail up as a bounce still
// loses to GTUBE and the lists; the evidence required here is structural
// (a report part) or an explicit RFC 3834 header, never a Subject alone.
//
// Each kind can be switched off per group with the header-rule names
// formal_dsn, formal_mdn and formal_autoreply (policy.Methods.RuleOn).
package formal

import (
	"context"
	"strings"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Rule names for policy.Methods.HeaderRules.
const (
	RuleDSN       = "formal_dsn"
	RuleMDN       = "formal_mdn"
	RuleAutoReply = "formal_autoreply"
)

// RuleNames lists the switch names of this check.
func RuleNames() []string { return []string{RuleDSN, RuleMDN, RuleAutoReply} }

// Sign names.
const (
	SignDSN       = "FORMAL_DSN"
	SignMDN       = "FORMAL_MDN"
	SignAutoReply = "FORMAL_AUTOREPLY"
)

// Check finds formal messages.
type Check struct{}

// New returns the formal-message check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "formal" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	m := in.Msg
	methods := &in.Group.Settings.Methods
	kind, desc := Classify(m, in.Env)
	rule := map[string]string{SignDSN: RuleDSN, SignMDN: RuleMDN, SignAutoReply: RuleAutoReply}[kind]
	if kind == "" || !methods.RuleOn(rule) {
		return engine.Result{}, nil
	}
	return engine.Result{Signs: []engine.Sign{{
		Name:   kind,
		Desc:   desc,
		Method: "formal",
		Status: verdict.Formal,
	}}}, nil
}

// Classify returns the sign name of the formal kind of m ("" for none) and
// a short description.
func Classify(m *message.Message, env *engine.Envelope) (sign, desc string) {
	if report, ok := reportType(m); ok {
		switch report {
		case "delivery-status", "global-delivery-status":
			return SignDSN, "delivery status notification (RFC 3464)"
		case "disposition-notification", "global-disposition-notification":
			return SignMDN, "read receipt (RFC 8098)"
		}
	}
	if isBounce(m, env) {
		return SignDSN, "non-delivery report from a mailer daemon"
	}
	if isAutoReply(m) {
		return SignAutoReply, "automatic reply (RFC 3834)"
	}
	return "", ""
}

// reportType finds a multipart/report and returns its report-type, or the
// type implied by a message/delivery-status or message/disposition-
// notification part.
func reportType(m *message.Message) (string, bool) {
	var found string
	var walk func(p *message.Part, depth int)
	walk = func(p *message.Part, depth int) {
		if p == nil || found != "" || depth > 3 {
			return
		}
		if p.MediaType == "multipart/report" {
			rt := strings.ToLower(strings.TrimSpace(p.Params["report-type"]))
			for _, c := range p.Children {
				switch c.MediaType {
				case "message/delivery-status", "message/global-delivery-status":
					rt = strings.TrimPrefix(c.MediaType, "message/")
				case "message/disposition-notification", "message/global-disposition-notification":
					rt = strings.TrimPrefix(c.MediaType, "message/")
				}
			}
			found = rt
			return
		}
		if p.MediaType == "message/rfc822" {
			return // a forwarded report is not a report
		}
		for _, c := range p.Children {
			walk(c, depth+1)
		}
	}
	walk(m.Root, 0)
	return found, found != ""
}

// isBounce recognises the old-style bounces that are not multipart/report:
// a mailer-daemon sender and a non-delivery subject, with the null
// envelope sender when the envelope is known (RFC 5321 §4.5.5).
func isBounce(m *message.Message, env *engine.Envelope) bool {
	if env != nil && env.MailFrom != "" {
		// Some MTAs record the null sender as MAILER-DAEMON@host.
		local := strings.ToLower(env.MailFrom)
		if i := strings.LastIndexByte(local, '@'); i >= 0 {
			local = local[:i]
		}
		if local != "mailer-daemon" && local != "postmaster" {
			return false
		}
	}
	from := strings.ToLower(m.Header.Get("From"))
	if !strings.Contains(from, "mailer-daemon") && !strings.Contains(from, "postmaster") &&
		!strings.Contains(from, "mail delivery") {
		return false
	}
	subj := strings.ToLower(m.Subject)
	for _, s := range []string{"undeliver", "delivery status notification", "delivery failure",
		"mail delivery failed", "returned mail", "failure notice", "delivery has failed",
		"could not be delivered", "nondeliverable", "non-delivery", "returned to sender"} {
		if strings.Contains(subj, s) {
			return true
		}
	}
	return false
}

// isAutoReply applies RFC 3834 §5 (Auto-Submitted: auto-replied) and the
// de-facto headers of vacation programs and Exchange.
func isAutoReply(m *message.Message) bool {
	h := m.Header
	as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	if i := strings.IndexByte(as, ';'); i >= 0 {
		as = strings.TrimSpace(as[:i])
	}
	if as == "auto-replied" {
		return true
	}
	if h.Has("X-Autoreply") || h.Has("X-Autorespond") || h.Has("X-Vacation") ||
		strings.EqualFold(strings.TrimSpace(h.Get("X-Auto-Response-Suppress")), "all") && h.Has("X-Autoreply") {
		return true
	}
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	subj := strings.ToLower(m.Subject)
	vacationSubject := false
	for _, s := range []string{"out of office", "out of the office", "automatic reply", "auto-reply",
		"autoreply", "auto reply", "vacation", "abwesenheit", "absence", "автоответ", "отпуск"} {
		if strings.Contains(subj, s) {
			vacationSubject = true
			break
		}
	}
	if prec == "auto_reply" {
		return true
	}
	// auto-generated (RFC 3834) with a vacation subject in reply to a message.
	return as == "auto-generated" && vacationSubject && (h.Has("In-Reply-To") || h.Has("References"))
}
