package spamd

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Actions as rspamd names them; Exim's rspamd variant copies the one
// received into $spam_action.
const (
	actionNone    = "no action"
	actionHeader  = "add header"
	actionSubject = "rewrite subject"
	actionReject  = "reject"
	actionDiscard = "discard"
)

// severity orders rspamd actions from mildest to strongest.
var severity = map[string]int{actionNone: 0, actionHeader: 1, actionSubject: 2, actionDiscard: 3, actionReject: 4}

// result is a ScanResponse folded into the one answer the spamd protocols
// can carry: a single score against a single threshold. When the recipients
// fell into several groups the strongest group's verdict is reported.
type result struct {
	// Spam is the answer to "is it spam" (Exim's `spam =` condition).
	Spam bool
	// Score and Required are rounded to one decimal, as clients parse them;
	// Required is moved so that Score >= Required exactly when Spam.
	Score, Required float64
	Action          string
	// Group is the reported group; nil when nothing was scanned.
	Group *scillav1.GroupResult
	// Note explains an unscanned answer ("over size limit", ...).
	Note   string
	ScanID string
}

// requiredRe finds required=R in the server's X-Spam-Status header.
var requiredRe = regexp.MustCompile(`required=(-?[0-9]+(?:\.[0-9]+)?)`)

// isSpam reports whether a status counts as spam for the spamd answer.
func (c *Config) isSpam(s scillav1.Status) bool {
	switch s {
	case scillav1.Status_STATUS_SPAM, scillav1.Status_STATUS_BLACKLISTED:
		return true
	case scillav1.Status_STATUS_PROBABLE_SPAM:
		return c.ProbableSpamIsSpam
	}
	return false
}

// groupAction is the rspamd action that matches what Scilla decided for g.
func (c *Config) groupAction(g *scillav1.GroupResult) string {
	switch g.GetAction() {
	case scillav1.Action_ACTION_REJECT:
		return actionReject
	case scillav1.Action_ACTION_DELETE:
		return actionDiscard
	}
	if !c.isSpam(g.GetStatus()) {
		return actionNone
	}
	if g.GetModifications().GetSubjectPrefix() != "" {
		return actionSubject
	}
	return actionHeader
}

// summarize folds resp into one result.
func (c *Config) summarize(resp *scillav1.ScanResponse) result {
	res := result{Action: actionNone, ScanID: resp.GetScanId(), Required: round1(c.RequiredScore)}
	var best *scillav1.GroupResult
	bestAction := ""
	for _, g := range resp.GetResults() {
		a := c.groupAction(g)
		if best == nil || severity[a] > severity[bestAction] ||
			(severity[a] == severity[bestAction] && c.isSpam(g.GetStatus()) && !c.isSpam(best.GetStatus())) ||
			(severity[a] == severity[bestAction] && c.isSpam(g.GetStatus()) == c.isSpam(best.GetStatus()) && g.GetScore() > best.GetScore()) {
			best, bestAction = g, a
		}
	}
	if best == nil {
		res.Note = "no recipient to scan for"
		return res
	}
	res.Group, res.Action = best, bestAction
	res.Spam = c.isSpam(best.GetStatus())
	res.Score = round1(best.GetScore())
	for _, h := range best.GetModifications().GetAddHeaders() {
		if strings.EqualFold(h.GetName(), "X-Spam-Status") {
			if m := requiredRe.FindStringSubmatch(h.GetValue()); m != nil {
				if r, err := strconv.ParseFloat(m[1], 64); err == nil && r > 0 {
					res.Required = round1(r)
				}
			}
		}
	}
	// The status decides; the threshold only tells it in the score grammar.
	switch {
	case res.Spam && res.Score < res.Required:
		res.Required = res.Score
	case !res.Spam && res.Score >= res.Required:
		res.Required = round1(res.Score + 0.1)
	}
	return res
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// trueFalse spells a boolean as spamd does.
func trueFalse(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// symbols returns the matched rule names, comma-separated (spamd SYMBOLS).
func (r *result) symbols() string {
	var names []string
	for _, rule := range r.Group.GetRules() {
		names = append(names, rule.GetName())
	}
	return strings.Join(names, ",")
}

// report renders the human-readable report that lands in Exim's
// $spam_report, in SpamAssassin's familiar layout.
func (r *result) report() string {
	var b strings.Builder
	if r.Group == nil {
		fmt.Fprintf(&b, "Scilla: not scanned: %s\nScilla-Action: %s\n", r.Note, r.Action)
		return b.String()
	}
	g := r.Group
	fmt.Fprintf(&b, "Scilla status: %s", statusText(g.GetStatus()))
	if info := g.GetInfo(); info != scillav1.Info_INFO_NONE && info != scillav1.Info_INFO_UNSPECIFIED {
		fmt.Fprintf(&b, " (%s)", infoText(info))
	}
	fmt.Fprintf(&b, ", group %08d %s", g.GetGroupId(), g.GetGroupName())
	if g.GetMethod() != "" {
		fmt.Fprintf(&b, ", method %s", g.GetMethod())
	}
	if r.ScanID != "" {
		fmt.Fprintf(&b, ", scan %s", r.ScanID)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Scilla-Action: %s\n\n", r.Action)
	fmt.Fprintf(&b, "Content analysis details:   (%.1f points, %.1f required)\n\n", r.Score, r.Required)
	b.WriteString(" pts rule name              description\n")
	b.WriteString("---- ---------------------- --------------------------------------------------\n")
	for _, rule := range g.GetRules() {
		fmt.Fprintf(&b, "%4.1f %-22s %s\n", rule.GetScore(), rule.GetName(), oneLine(rule.GetDescription()))
	}
	return b.String()
}

// statusText is the X-Spamtest-Status-Extended spelling of a status.
func statusText(s scillav1.Status) string {
	switch s {
	case scillav1.Status_STATUS_SPAM:
		return "SPAM"
	case scillav1.Status_STATUS_PROBABLE_SPAM:
		return "Probable Spam"
	case scillav1.Status_STATUS_FORMAL:
		return "Formal"
	case scillav1.Status_STATUS_TRUSTED:
		return "Trusted"
	case scillav1.Status_STATUS_BLACKLISTED:
		return "Blacklisted"
	case scillav1.Status_STATUS_NOT_DETECTED:
		return "Not detected"
	}
	return "Unknown"
}

// infoText is the X-SpamTest-Info spelling of an info value.
func infoText(i scillav1.Info) string {
	switch i {
	case scillav1.Info_INFO_NOT_PROTECTED:
		return "Not protected"
	case scillav1.Info_INFO_NO_LICENSE:
		return "No License"
	case scillav1.Info_INFO_NOT_PROCESSED:
		return "Not processed"
	case scillav1.Info_INFO_LICENSE_LIMIT_EXCEEDED:
		return "License limit exceeded"
	}
	return ""
}

// oneLine folds a description onto one line: reports are header material.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
