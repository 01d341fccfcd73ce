package dkim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"github.com/scilla-mail/scilla/server/engine"
)

// maxTrustedHeaders bounds the Authentication-Results headers read.
const maxTrustedHeaders = 16

// trustedDMARC returns the DMARC sign that the first Authentication-Results
// header of a trusted authserv-id gives for the From domain: the verdict of
// the MTA's own DMARC milter, for a server whose DNS checks are off. A
// header of another server, or one about another domain, says nothing: any
// sender can write one. The MTA must remove incoming headers that carry its
// own authserv-id (RFC 8601 §5), as the DMARC milters do.
func (c *Check) trustedDMARC(in *engine.Input) *engine.Sign {
	from, ok := fromDomain(in.Msg.Header.Get("From"))
	if !ok {
		return nil
	}
	for i, v := range in.Msg.Header.Values("Authentication-Results") {
		if i == maxTrustedHeaders {
			break
		}
		id, dr, policy, ok := parseDMARC(v)
		if !ok || !slices.ContainsFunc(c.trusted, func(t string) bool { return strings.EqualFold(t, id) }) ||
			!strings.EqualFold(strings.TrimSuffix(dr.From, "."), from) {
			continue
		}
		by := fmt.Sprintf(" (Authentication-Results of %s)", id)
		switch dr.Value {
		case authres.ResultPass:
			sign := &engine.Sign{Name: "DMARC_PASS", Score: ScoreDMARCPass, Method: "DMARC", Desc: "DMARC pass for " + from + by}
			if b, ok := brandOf(in.DB, from); ok {
				sign.Name, sign.Score = "DMARC_PASS_BRAND", ScoreDMARCBrand
				sign.Desc = fmt.Sprintf("DMARC pass for %s, a domain of %s%s", from, strings.Join(b.Words, " "), by)
			}
			return sign
		case authres.ResultFail:
			sign := &engine.Sign{Method: "DMARC", Desc: fmt.Sprintf("%s fails DMARC, policy %s%s", from, policy, by)}
			switch policy {
			case "reject":
				sign.Name, sign.Score = "DMARC_FAIL_REJECT", ScoreDMARCReject
			case "quarantine":
				sign.Name, sign.Score = "DMARC_FAIL_QUARANTINE", ScoreDMARCQuarantine
			default:
				sign.Name, sign.Score = "DMARC_FAIL_NONE", ScoreDMARCNone
			}
			return sign
		}
		return nil
	}
	return nil
}

// parseDMARC reads the authserv-id and the dmarc result of one
// Authentication-Results value. The policy that failed comes from the
// result's comment, where OpenDMARC and rspamd write it
// ("dmarc=fail (p=reject dis=none) header.from=…"); "none" without one.
// Comments are taken out before go-msgauth parses the rest, which would
// split a comment holding a ";" ("dkim=pass (2048-bit key; unprotected)").
func parseDMARC(v string) (id string, dr *authres.DMARCResult, policy string, ok bool) {
	stripped, comments := stripComments(v)
	id, results, _ := authres.Parse(stripped)
	for _, r := range results {
		if d, isDMARC := r.(*authres.DMARCResult); isDMARC {
			dr = d
			break
		}
	}
	if id == "" || dr == nil {
		return "", nil, "", false
	}
	policy = "none"
	start := 0
	for _, seg := range strings.Split(stripped, ";") {
		end := start + len(seg)
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(seg)), "dmarc=") {
			for _, c := range comments {
				if c.at < start || c.at > end {
					continue
				}
				for _, f := range strings.Fields(strings.ToLower(c.text)) {
					if p, found := strings.CutPrefix(f, "p="); found && (p == "reject" || p == "quarantine") {
						policy = p
					}
				}
			}
			break
		}
		start = end + 1
	}
	return id, dr, policy, true
}

// comment is a header comment's text and where it stood in the value
// without comments.
type comment struct {
	at   int
	text string
}

// stripComments removes the comments of a header value (RFC 5322 §3.2.2:
// parenthesised, nested, with quoted-pairs), outside quoted strings, each
// replaced by a space, and returns them.
func stripComments(v string) (string, []comment) {
	var (
		out      strings.Builder
		text     strings.Builder
		comments []comment
		depth    int
		quoted   bool
	)
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case depth > 0 && ch == '\\' && i+1 < len(v):
			i++
			text.WriteByte(v[i])
		case depth > 0 && ch == '(':
			depth++
		case depth > 0 && ch == ')':
			if depth--; depth == 0 {
				comments = append(comments, comment{at: out.Len(), text: text.String()})
				text.Reset()
				out.WriteByte(' ')
			}
		case depth > 0:
			text.WriteByte(ch)
		case quoted && ch == '\\' && i+1 < len(v):
			out.WriteByte(ch)
			i++
			out.WriteByte(v[i])
		case ch == '"':
			quoted = !quoted
			out.WriteByte(ch)
		case !quoted && ch == '(':
			depth = 1
		default:
			out.WriteByte(ch)
		}
	}
	return out.String(), comments
}
