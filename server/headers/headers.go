// Package headers computes, on the server, everything a client writes into a
// message for one recipient group (DESIGN §2): the X-Spamtest-* and
// X-Spam-* header fields, the subject prefix, and the action with its
// addresses or text. Every client applies the same result, so users' mail
// filters can key on the headers whatever the mail server.
//
// Clients first remove every incoming field named in StripNames, so no
// sender can forge a verdict, then add Result.Headers in order. A client
// that cannot split a message by group adds every group's headers; the
// fields that do not depend on the group (version, envelope sender) are
// identical in every group's list, so it may write them once.
//
// Values never contain line breaks; clients fold long fields when writing
// (RFC 5322 §2.2.3).
package headers

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Header field names, spelled as users' filters expect them.
const (
	Version        = "X-Spamtest-Version"
	StatusExtended = "X-Spamtest-Status-Extended"
	GroupID        = "X-Spamtest-Group-ID"
	Rate           = "X-Spamtest-Rate"
	Method         = "X-SpamTest-Method"
	Categories     = "X-SpamTest-Categories"
	EnvelopeFrom   = "X-Spamtest-Envelope-From"
	Info           = "X-SpamTest-Info"
	AdminHeader    = "X-Spamtest-Header"
	Report         = "X-Spamtest-Report"
	SpamFlag       = "X-Spam-Flag"
	SpamStatus     = "X-Spam-Status"
	SpamScore      = "X-Spam-Score"
	SpamLevel      = "X-Spam-Level"
	// legacyStatus is stripped too: older filters wrote it.
	legacyStatus = "X-Spamtest-Status"
)

// ObsceneSign is the name of the sign that marks obscene language, and
// ObsceneTag the subject tag added when the group's policy asks for it.
const (
	ObsceneSign = "OBSCENE"
	ObsceneTag  = "[--Obscene--] "
)

// maxReport bounds the report field so it stays well under the 998-byte
// line limit of RFC 5322 §2.1.1 even before folding.
const maxReport = 900

// StripNames returns the names of every field Scilla writes; clients delete
// incoming fields with these names (case-insensitively) before adding ours.
func StripNames() []string {
	return []string{Version, StatusExtended, GroupID, Rate, Method, Categories, EnvelopeFrom, Info,
		AdminHeader, Report, SpamFlag, SpamStatus, SpamScore, SpamLevel, legacyStatus}
}

// Result is what the client applies for one group: the gRPC layer copies it
// into GroupResult (action, copy_to, redirect_to, reject_text,
// modifications).
type Result struct {
	Action verdict.ActionKind
	// CopyTo and RedirectTo are set for Copy and Redirect.
	CopyTo, RedirectTo []string
	// RejectText is set for Reject.
	RejectText string
	// SubjectPrefix is prepended to the Subject; "" for none.
	SubjectPrefix string
	// Headers are added in order, after the fields of StripNames were removed.
	Headers []engine.Header
}

// Build computes the result of one group of a verdict. mailFrom is the
// envelope sender ("" for the null sender).
func Build(v *engine.Verdict, gv *engine.GroupVerdict, mailFrom string) Result {
	var r Result
	add := func(name, value string) {
		r.Headers = append(r.Headers, engine.Header{Name: name, Value: clean(value)})
	}
	ver := engine.Version
	if v.DBVersion != "" {
		ver += " (database " + v.DBVersion + ")"
	}
	add(Version, ver)
	if mailFrom == "" {
		mailFrom = "<>"
	}
	add(EnvelopeFrom, mailFrom)
	var id uint32
	if gv.Group != nil {
		id = gv.Group.ID
	}
	add(GroupID, fmt.Sprintf("%08d", id))
	st := gv.Status
	if st == verdict.StatusNone {
		st = verdict.NotDetected
	}
	add(StatusExtended, st.HeaderText())
	if gv.Info != verdict.InfoNone {
		// Not rated: the message passes untouched but tagged.
		add(Info, gv.Info.HeaderText())
		return r
	}

	a := gv.Action
	r.Action = a.Kind
	switch a.Kind {
	case verdict.Copy:
		r.CopyTo = slices.Clone(a.Addresses)
	case verdict.Redirect:
		r.RedirectTo = slices.Clone(a.Addresses)
	case verdict.Reject:
		r.RejectText = a.RejectText
	}
	r.SubjectPrefix = a.SubjectPrefix
	if gv.Group != nil && gv.Group.Settings != nil && gv.Group.Settings.Methods.ObsceneTag && hasSign(gv, ObsceneSign) {
		r.SubjectPrefix += ObsceneTag
	}

	add(Rate, strconv.Itoa(gv.Rate))
	add(Method, or(gv.Method, "none"))
	add(Categories, or(strings.Join(gv.Categories, ", "), "none"))
	if rep := report(gv.Signs); rep != "" {
		add(Report, rep)
	}
	if a.Header != "" {
		add(AdminHeader, a.Header)
	}
	spam := st == verdict.Spam || st == verdict.Blacklisted
	required := 0.0
	if gv.Group != nil && gv.Group.Settings != nil {
		_, required = gv.Group.Settings.Level.Thresholds()
	}
	flag, yes := "NO", "No"
	if spam {
		flag, yes = "YES", "Yes"
	}
	add(SpamFlag, flag)
	add(SpamStatus, fmt.Sprintf("%s, score=%s required=%s tests=%s", yes, num(gv.Score), num(required), tests(gv.Signs)))
	add(SpamScore, num(gv.Score))
	add(SpamLevel, strings.Repeat("*", min(max(int(math.Floor(gv.Score)), 0), 50)))
	for _, h := range gv.Headers {
		add(h.Name, h.Value)
	}
	return r
}

func hasSign(gv *engine.GroupVerdict, name string) bool {
	for _, s := range gv.Signs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// report lists the signs with their scores, strongest first, e.g.
// "GTUBE=1000, SUBJ_ALL_CAPS=1.5", cut at maxReport bytes.
func report(signs []engine.Sign) string {
	var b strings.Builder
	for i, s := range signs {
		item := s.Name + "=" + strconv.FormatFloat(math.Round(s.Score*100)/100, 'f', -1, 64)
		if i > 0 {
			item = ", " + item
		}
		if b.Len()+len(item) > maxReport-5 {
			b.WriteString(", ...")
			break
		}
		b.WriteString(item)
	}
	return b.String()
}

// tests is the SpamAssassin-style comma-separated, sorted list of sign names.
func tests(signs []engine.Sign) string {
	names := make([]string, 0, len(signs))
	for _, s := range signs {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	out := strings.Join(names, ",")
	if len(out) > maxReport {
		out = out[:strings.LastIndexByte(out[:maxReport], ',')] + ",..."
	}
	if out == "" {
		return "none"
	}
	return out
}

// num formats a score with at most one decimal, as SpamAssassin does.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clean makes a value safe for one header line: control characters
// (CR and LF above all, which would let a value inject fields) become spaces.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }
