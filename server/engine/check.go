// Package engine runs the scan pipeline of DESIGN §3: parse → resolve
// recipients to groups → licence → checks → score → status per group →
// actions. Checks plug in through the one interface in this file; the list of
// checks and their order lives in server/check/registry.go.
package engine

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Check is one independent unit of analysis. A check looks at the parsed
// message and the envelope and returns named signs with scores; it never
// changes the message, never talks to the mail server, and decides nothing on
// its own: the engine adds up the signs and picks the status.
//
// Run is called once per recipient group whose settings it must honour
// (in.Group.Settings); a check that is switched off for the group returns an
// empty Result. Run must respect ctx (the scan's deadline) and may be called
// concurrently from many scans. An error means the check could not decide
// (e.g. DNS timeout): it is logged and counted, and the scan goes on rated on
// the other signs. A panic makes the whole scan NOT_PROCESSED.
type Check interface {
	// Name is the check's stable identifier for logs, metrics and switches.
	Name() string
	Run(ctx context.Context, in *Input) (Result, error)
}

// Waiter is implemented by checks that wait on the network. The engine starts
// them first, concurrently, so their latency overlaps the local checks.
type Waiter interface {
	// Waits reports whether this check waits on the network at all (a DNS
	// check without a resolver does not); one that does not runs in line
	// with the local checks.
	Waits() bool
}

// Envelope is the SMTP envelope of the scanned message.
type Envelope struct {
	// ClientIP is the connecting client; invalid (zero) when unknown.
	ClientIP   netip.Addr
	ClientHost string
	Helo       string
	// MailFrom is the envelope sender, "" for the null sender.
	MailFrom string
	Rcpts    []string
	// RcptsFromHeader: Rcpts were taken from the message's To and Cc, not
	// given by the MTA (scillad's spamd listener); checks that need to know
	// who receives the message must not rely on them.
	RcptsFromHeader bool
	AuthUser        string
	QueueID         string
}

// RcptDomain returns the recipients' common domain, "" when they differ
// or e is nil: learning is kept per protected domain, and a message for
// several domains uses the global learning only.
func (e *Envelope) RcptDomain() string {
	if e == nil {
		return ""
	}
	dom := ""
	for i, r := range e.Rcpts {
		at := strings.LastIndexByte(r, '@')
		if at < 0 {
			return ""
		}
		d := strings.ToLower(strings.TrimSuffix(r[at+1:], ">"))
		if i > 0 && d != dom {
			return ""
		}
		dom = d
	}
	return dom
}

// Input is what a check sees. Everything in it is read-only.
type Input struct {
	ScanID string
	Msg    *message.Message
	Env    *Envelope
	// Group is the recipient group being rated, with its effective settings.
	Group *policy.Group
	// DB is the content database snapshot this scan started with.
	DB  *contentdb.DB
	Log *slog.Logger
}

// Sign is one named finding. Score adds to the group's score; Status, when
// set, forces a status (GTUBE → SPAM, white list → TRUSTED...), subject to the
// precedence in Precedence.
type Sign struct {
	// Name is a stable upper-case identifier, e.g. "SUBJ_TOO_LONG".
	Name string
	// Score added to the total; negative for ham signs.
	Score float64
	// Desc is a short human description for the report header.
	Desc string
	// Category for X-SpamTest-Categories, e.g. "pharma"; "" for none.
	Category string
	// Method names what decided for X-SpamTest-Method, e.g. "headers",
	// "content", "fuzzy", "DNSBL", "white email list".
	Method string
	// Status forces a status; verdict.StatusNone for a plain scored sign.
	Status verdict.Status
	// Forged marks a sign saying the message is a forgery: a sender
	// pretending to be someone it is not (a look-alike of the recipient's
	// or a supplier's domain, a colleague's name on a free mailbox), or a
	// program, attached or dressed as a document. Such fraud is written in
	// the words of ordinary business mail on purpose, or rides a hijacked
	// conversation, so a message carrying one gets no credit from its
	// words or its sender's authentication: those negative scores count
	// zero.
	Forged bool
	// Alone, when positive, is the most the sign counts toward spam when
	// no other sign of the message adds toward spam: evidence that must
	// not flag a message by itself.
	Alone float64
	// With, when set, names the signs (another check's, usually) this one
	// only means something beside: a sender nobody here has written to is
	// news only when the message asks to pay a new account. Without one
	// of them adding toward spam, the sign is dropped.
	With []string
}

// Header is one header field a check or the engine adds to the message.
type Header struct {
	Name, Value string
}

// Result is what one check returns.
type Result struct {
	Signs []Sign
	// Headers to add for this group, e.g. Authentication-Results.
	Headers []Header
}
