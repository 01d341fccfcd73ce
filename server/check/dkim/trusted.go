package dkim

import (
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"

	"github.com/scilla-mail/scilla/server/engine"
)

// maxTrustedHeaders bounds the Authentication-Results headers read.
const maxTrustedHeaders = 16

// trustedDMARC returns the DMARC sign that the first Authentication-Results
// header of a trusted authserv-id gives for the From domain: the verdict of
// the MTA's own DMARC milter, for a server whose DNS checks are off. A
// header of another server, or one about another domain, says nothing: any
// sender can write one. The MTA must remove incoming headers that carry its
// own authserv-id (RFC 8601 §5; docs/dns.md shows how with Postfix).
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
		var sign *engine.Sign
		switch dr.Value {
		case authres.ResultPass:
			sign = passSign(in.DB, from)
		case authres.ResultFail:
			sign = failSign(from, policy)
		default:
			return nil
		}
		sign.Desc += " (Authentication-Results of " + id + ")"
		return sign
	}
	return nil
}

// parseDMARC reads the authserv-id and the dmarc result of one
// Authentication-Results value. The policy that failed comes from the
// result's comment, where OpenDMARC and rspamd write it
// ("dmarc=fail (p=reject dis=none) header.from=…"); "none" without one.
// Comments are taken out before go-msgauth parses the rest, which would
// split a comment holding a ";" ("dkim=pass (2048-bit key; unprotected)").
func parseDMARC(v string) (id string, dr *authres.DMARCResult, policy dmarc.Policy, ok bool) {
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
	policy = dmarc.PolicyNone
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
						policy = dmarc.Policy(p)
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
