package clients

import (
	"strconv"
	"strings"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Verdict header names (DESIGN §2). Clients strip incoming copies of all of
// them when they tag a message themselves (on-error accept, over size), so a
// sender cannot forge a verdict even when the server was not asked.
var verdictHeaders = []string{
	"X-Spamtest-Version", "X-Spamtest-Status-Extended", "X-Spamtest-Group-ID",
	"X-Spamtest-Rate", "X-SpamTest-Method", "X-SpamTest-Categories",
	"X-Spamtest-Envelope-From", "X-SpamTest-Info", "X-Spamtest-Header",
	"X-Spamtest-Report", "X-Spam-Flag", "X-Spam-Status", "X-Spam-Score", "X-Spam-Level",
}

// VerdictHeaders returns the names of the verdict headers a client strips
// before tagging a message itself.
func VerdictHeaders() []string { return append([]string(nil), verdictHeaders...) }

// InfoHeader is the header a client adds when it lets a message pass
// without a verdict.
const InfoHeader = "X-SpamTest-Info"

// NotProcessed is the InfoHeader value for mail that was not scanned.
const NotProcessed = "Not processed"

// Outcome is what happens to the message as a whole.
type Outcome int

// Outcomes.
const (
	// Deliver: the message goes on (to at least one recipient), with edits.
	Deliver Outcome = iota
	// Reject: refuse the message permanently (5xx) with Plan.Reply.
	Reject
	// TempFail: refuse the message temporarily (4xx) with Plan.Reply; the
	// sending MTA keeps it queued.
	TempFail
	// Discard: accept and drop the message (every group said delete).
	Discard
)

var outcomeNames = [...]string{"deliver", "reject", "tempfail", "discard"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// Reply is an SMTP reply: code, enhanced status code and text.
type Reply struct {
	Code     int    // e.g. 550
	Enhanced string // e.g. "5.7.1"
	Text     string // one line, no code
}

// String formats the reply as an SMTP line without CRLF: "550 5.7.1 text".
func (r Reply) String() string {
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	return s + " " + r.Text
}

// Default replies.
var (
	// RejectReply is used for ACTION_REJECT without a text and for
	// on-error reject.
	RejectReply = Reply{Code: 550, Enhanced: "5.7.1", Text: "Message rejected as spam"}
	// TempFailReply is used for on-error tempfail.
	TempFailReply = Reply{Code: 451, Enhanced: "4.7.1", Text: "Spam filter temporarily unavailable, try again later"}
	// ErrorRejectReply is used for on-error reject.
	ErrorRejectReply = Reply{Code: 554, Enhanced: "5.7.0", Text: "Message could not be checked for spam"}
)

// Header is one header field.
type Header struct {
	Name  string
	Value string
}

// Edits are the changes to the message content: headers removed (every
// instance of each name, case-insensitively), headers added (in order, at
// the end of the header section), and a prefix for the Subject (added
// unless the subject already starts with it; a Subject is created when the
// message has none).
type Edits struct {
	StripHeaders  []string
	AddHeaders    []Header
	SubjectPrefix string
}

// Empty reports whether e changes nothing.
func (e Edits) Empty() bool {
	return len(e.StripHeaders) == 0 && len(e.AddHeaders) == 0 && e.SubjectPrefix == ""
}

// GroupPlan is what happens to the copy for one recipient group (clients
// that split the message per group).
type GroupPlan struct {
	GroupID   uint32
	GroupName string
	// Recipients are the original envelope recipients of this group.
	Recipients []string
	// Deliver are the envelope recipients of this group's copy: the
	// recipients (accept, copy) or the redirect addresses (redirect), plus
	// the copy addresses (copy). Empty for reject and delete.
	Deliver []string
	// Reject is set when the group's recipients are refused; the client
	// answers per recipient (LMTP) or bounces to the sender.
	Reject *Reply
	// Delete is set when the group's copy is dropped silently.
	Delete bool
	// Edits for this group's copy.
	Edits Edits
	// Status is the group's verdict, for logs.
	Status scillav1.Status
	// Action is the group's action, for logs.
	Action scillav1.Action
}

// Plan is the complete, concrete outcome of scanning one message. Every
// client derives its behaviour from a Plan and nothing else.
type Plan struct {
	// ScanID is the server's scan id ("" when not scanned), for logs.
	ScanID string
	// Outcome for the message as a whole.
	Outcome Outcome
	// Reply for Reject and TempFail.
	Reply Reply
	// Merged are the content edits for clients that cannot split the
	// message: the strip list once, then every delivering group's headers
	// (exact duplicates once), every distinct subject prefix.
	Merged Edits
	// AddRecipients and DeleteRecipients are the envelope changes for
	// clients that cannot split: copy and redirect addresses added, the
	// recipients of redirected groups removed. Recipients of deleted groups
	// are removed too when another group still delivers.
	AddRecipients    []string
	DeleteRecipients []string
	// PartialReject lists the groups refused while others deliver. A
	// client that cannot refuse per recipient (milter) delivers to them
	// tagged and logs it, rather than lose mail silently.
	PartialReject []*GroupPlan
	// Groups are the per-group plans for clients that split.
	Groups []*GroupPlan
	// Err is the scan error that led to an on-error or size-limit plan,
	// nil when the server answered.
	Err error
}

// NewPlan turns a ScanResponse into a Plan. It is the one place where the
// server's verdict becomes actions; every client uses it.
func NewPlan(resp *scillav1.ScanResponse) *Plan {
	p := &Plan{ScanID: resp.GetScanId()}
	strip := dedupFold(resp.GetStripHeaders())
	delivering, rejecting := 0, 0
	var firstReject *Reply
	for _, g := range resp.GetResults() {
		gp := &GroupPlan{
			GroupID:    g.GetGroupId(),
			GroupName:  g.GetGroupName(),
			Recipients: g.GetRecipients(),
			Status:     g.GetStatus(),
			Action:     g.GetAction(),
			Edits: Edits{
				StripHeaders:  strip,
				AddHeaders:    protoHeaders(g.GetModifications().GetAddHeaders()),
				SubjectPrefix: g.GetModifications().GetSubjectPrefix(),
			},
		}
		switch g.GetAction() {
		case scillav1.Action_ACTION_REJECT:
			r := RejectReply
			if t := oneLine(g.GetRejectText()); t != "" {
				r.Text = t
			}
			gp.Reject = &r
			rejecting++
			if firstReject == nil {
				firstReject = &r
			}
		case scillav1.Action_ACTION_DELETE:
			gp.Delete = true
		case scillav1.Action_ACTION_REDIRECT:
			gp.Deliver = append(gp.Deliver, g.GetRedirectTo()...)
			if len(gp.Deliver) == 0 { // redirect nowhere: keep the mail
				gp.Deliver = append(gp.Deliver, gp.Recipients...)
			}
		case scillav1.Action_ACTION_COPY:
			gp.Deliver = append(append(gp.Deliver, gp.Recipients...), g.GetCopyTo()...)
		default: // accept and anything unknown: deliver unchanged recipients
			gp.Deliver = append(gp.Deliver, gp.Recipients...)
		}
		if len(gp.Deliver) > 0 {
			delivering++
		}
		p.Groups = append(p.Groups, gp)
	}

	switch {
	case len(p.Groups) == 0:
		// No groups (should not happen): deliver with the strip list only.
		p.Merged.StripHeaders = strip
		return p
	case delivering == 0 && rejecting > 0:
		p.Outcome, p.Reply = Reject, *firstReject
		return p
	case delivering == 0:
		p.Outcome = Discard
		return p
	}

	// Merged view for clients that cannot split.
	p.Merged.StripHeaders = strip
	seenHdr := map[Header]bool{}
	seenAdd := map[string]bool{}
	seenDel := map[string]bool{}
	for _, gp := range p.Groups {
		if gp.Reject != nil {
			p.PartialReject = append(p.PartialReject, gp)
		}
		if gp.Delete {
			for _, r := range gp.Recipients {
				if !seenDel[strings.ToLower(r)] {
					seenDel[strings.ToLower(r)] = true
					p.DeleteRecipients = append(p.DeleteRecipients, r)
				}
			}
			continue
		}
		for _, h := range gp.Edits.AddHeaders {
			if !seenHdr[h] {
				seenHdr[h] = true
				p.Merged.AddHeaders = append(p.Merged.AddHeaders, h)
			}
		}
		if pre := gp.Edits.SubjectPrefix; pre != "" && !strings.Contains(p.Merged.SubjectPrefix, strings.TrimSpace(pre)) {
			p.Merged.SubjectPrefix += pre
		}
		if gp.Reject != nil {
			continue // delivered tagged by non-splitting clients, see PartialReject
		}
		inGroup := map[string]bool{}
		for _, r := range gp.Recipients {
			inGroup[strings.ToLower(r)] = true
		}
		for _, r := range gp.Deliver {
			if !inGroup[strings.ToLower(r)] && !seenAdd[strings.ToLower(r)] {
				seenAdd[strings.ToLower(r)] = true
				p.AddRecipients = append(p.AddRecipients, r)
			}
		}
		if gp.Action == scillav1.Action_ACTION_REDIRECT && len(gp.Deliver) > 0 {
			keep := map[string]bool{}
			for _, r := range gp.Deliver {
				keep[strings.ToLower(r)] = true
			}
			for _, r := range gp.Recipients {
				if !keep[strings.ToLower(r)] && !seenDel[strings.ToLower(r)] {
					seenDel[strings.ToLower(r)] = true
					p.DeleteRecipients = append(p.DeleteRecipients, r)
				}
			}
		}
	}
	return p
}

// FallbackPlan is the plan for a message that was not scanned because of
// err: the on-error policy (accept tags the message Not processed).
func FallbackPlan(onError OnError, rcpts []string, err error) *Plan {
	p := &Plan{Err: err}
	switch onError {
	case OnErrorAccept:
		return NotProcessedPlan(rcpts, err)
	case OnErrorReject:
		p.Outcome, p.Reply = Reject, ErrorRejectReply
	default:
		p.Outcome, p.Reply = TempFail, TempFailReply
	}
	return p
}

// NotProcessedPlan delivers the message unchanged except for the verdict
// headers: forged copies removed, X-SpamTest-Info: Not processed added.
func NotProcessedPlan(rcpts []string, err error) *Plan {
	e := Edits{StripHeaders: VerdictHeaders(), AddHeaders: []Header{{InfoHeader, NotProcessed}}}
	return &Plan{
		Outcome: Deliver,
		Merged:  e,
		Groups:  []*GroupPlan{{Recipients: rcpts, Deliver: rcpts, Edits: e}},
		Err:     err,
	}
}

func protoHeaders(hs []*scillav1.Header) []Header {
	out := make([]Header, 0, len(hs))
	for _, h := range hs {
		if h.GetName() == "" {
			continue
		}
		out = append(out, Header{Name: h.GetName(), Value: oneLineHeader(h.GetValue())})
	}
	return out
}

// oneLine makes text safe for an SMTP reply: no CR/LF, trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// oneLineHeader keeps folded values (CRLF followed by white space) and
// turns any other line break into a space, so a value cannot inject a
// header.
func oneLineHeader(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || (c == '\n' && (i+1 >= len(v) || (v[i+1] != ' ' && v[i+1] != '\t'))) {
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func dedupFold(names []string) []string {
	if len(names) > 32 {
		return dedupFoldMap(names)
	}
	// The strip list comes with every response and is short: comparing
	// with what was kept costs less than lower-casing into a map.
	var out []string
next:
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		for _, o := range out {
			if strings.EqualFold(o, n) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

func dedupFoldMap(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, strings.TrimSpace(n))
	}
	return out
}
