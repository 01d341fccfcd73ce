// Package dkim is the engine check for DKIM signatures (RFC 6376) and the
// From domain's DMARC policy (RFC 7489), verified with
// github.com/emersion/go-msgauth through Scilla's resolver. It also writes
// the message's Authentication-Results header (RFC 8601) with the SPF, DKIM
// and DMARC outcomes, so the SPF evaluation of check/spf is repeated here
// (its DNS answers come from the shared cache).
package dkim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"github.com/scilla-mail/scilla/server/check/rdns"
	spfcheck "github.com/scilla-mail/scilla/server/check/spf"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/freemail"
	"github.com/scilla-mail/scilla/server/relays"
	rfc7208 "github.com/scilla-mail/scilla/server/spf"
)

// Scores of the signs.
const (
	ScoreValid           = -0.2
	ScoreInvalid         = 1.0
	ScoreDMARCPass       = -0.2
	ScoreDMARCReject     = 3.5
	ScoreDMARCQuarantine = 2.0
	ScoreDMARCNone       = 0.3
	// ScoreDMARCBrand is DMARC_PASS_BRAND's: the From domain is one of the
	// content database's brands' own (brands.list) and passes DMARC, so
	// the brand sent it. Their genuine notices (a courier's duties to pay,
	// a bank's security alert) say what their phishing says, and a
	// classifier of older mail rates them so; the score takes back about
	// that much, not more: a brand's own platforms also carry others' mail
	// (a DocuSign envelope, a PayPal invoice from anyone).
	ScoreDMARCBrand = -1.5
)

// maxSignatures bounds the signatures verified per message.
const maxSignatures = 5

// Check is the DKIM and DMARC check.
type Check struct {
	r          *dns.Resolver
	relays     *relays.Finder
	authServID string
	trusted    []string
}

// New returns the check. authServID names this host in
// Authentication-Results (RFC 8601 §2.5); "" means the host name. With a
// nil resolver (DNS checks off), or for a group whose policy has them
// off, it verifies nothing and writes no header; it then reads the DMARC
// result of the Authentication-Results headers of the trusted
// authserv-ids, the MTA's own, if any.
func New(r *dns.Resolver, f *relays.Finder, authServID string, trusted []string) *Check {
	if authServID == "" {
		authServID, _ = os.Hostname()
		if authServID == "" {
			authServID = "scilla"
		}
	}
	return &Check{r: r, relays: f, authServID: authServID, trusted: trusted}
}

// Name implements engine.Check.
func (*Check) Name() string { return "dkim" }

// Waits implements engine.Waiter: the check waits on the network only
// when it has a resolver; without one (DNS checks off) it returns at once
// and the engine runs it in line instead of on a goroutine of its own.
func (c *Check) Waits() bool { return c.r != nil }

// AuthServID is the authserv-id written in Authentication-Results.
func (c *Check) AuthServID() string { return c.authServID }

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	if c.r == nil || !in.Group.Settings.Methods.DNS {
		// Scilla does not verify for this message: the MTA's verdict,
		// where it is trusted, stands in.
		var res engine.Result
		if len(c.trusted) > 0 {
			if sign := c.trustedDMARC(in); sign != nil {
				res.Signs = append(res.Signs, *sign)
			}
		}
		return res, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()
	var (
		res     engine.Result
		results []authres.Result
		errs    []error
	)

	// SPF, for the header and for DMARC.
	o, haveSPF := spfcheck.Evaluate(ctx, c.r, c.relays, in, c.authServID)
	if haveSPF {
		sr := &authres.SPFResult{Value: authres.ResultValue(o.Result)}
		if o.Identity == "helo" {
			sr.Helo = in.Env.Helo
		} else {
			sr.From = o.Sender
		}
		results = append(results, sr)
	}

	// iprev (RFC 8601 §3): does the sending IP's name resolve back to it?
	origin, haveOrigin := c.relays.Origin(in.Env.ClientIP, in.Env.AuthUser, in.Msg.Header)
	if ip := origin; haveOrigin {
		ir := &authres.IPRevResult{IP: ip.String()}
		ro, err := rdns.Lookup(ctx, c.r, ip)
		switch {
		case err != nil:
			ir.Value = authres.ResultTempError
		case ro.Confirmed != "":
			ir.Value = authres.ResultPass
		default:
			ir.Value = authres.ResultFail
		}
		results = append(results, ir)
	}

	// DKIM.
	lookup := txtLookup(dns.WithZone(ctx, "dkim"), c.r)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(in.Msg.Raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: maxSignatures})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		errs = append(errs, fmt.Errorf("dkim: verify: %w", err))
	}
	var passed []string
	failed, tempFailed := false, false
	for _, v := range verifs {
		dr := &authres.DKIMResult{Domain: v.Domain, Identifier: v.Identifier}
		switch {
		case v.Err == nil:
			dr.Value = authres.ResultPass
			passed = append(passed, strings.ToLower(v.Domain))
		case dkim.IsTempFail(v.Err):
			dr.Value, tempFailed = authres.ResultTempError, true
			errs = append(errs, fmt.Errorf("dkim d=%s: %w", v.Domain, v.Err))
		case dkim.IsPermFail(v.Err):
			dr.Value, failed = authres.ResultPermError, true
			dr.Reason = v.Err.Error()
		default:
			dr.Value, failed = authres.ResultFail, true
			dr.Reason = v.Err.Error()
		}
		results = append(results, dr)
	}
	if len(verifs) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	switch {
	case len(passed) > 0:
		res.Signs = append(res.Signs, engine.Sign{Name: "DKIM_VALID", Score: ScoreValid, Method: "DKIM",
			Desc: "valid DKIM signature of " + strings.Join(passed, ", ")})
	case failed:
		res.Signs = append(res.Signs, engine.Sign{Name: "DKIM_INVALID", Score: ScoreInvalid, Method: "DKIM",
			Desc: "DKIM signature does not verify"})
	}

	// DMARC, for mail from outside: internal mail and authenticated
	// submissions (no sending IP to judge) are the domain's own, often not
	// signed yet.
	if from, ok := fromDomain(in.Msg.Header.Get("From")); ok && haveOrigin {
		unknown := tempFailed || (haveSPF && o.Result == rfc7208.TempError)
		dr, sign, err := c.dmarc(ctx, in.DB, from, passed, o, haveSPF, unknown)
		if err != nil {
			errs = append(errs, err)
		}
		if dr != nil {
			results = append(results, dr)
		}
		if sign != nil {
			res.Signs = append(res.Signs, *sign)
		}
	}
	res.Headers = append(res.Headers, engine.Header{Name: "Authentication-Results", Value: format(c.authServID, results)})
	return res, errors.Join(errs...)
}

// dmarc evaluates the From domain's policy (RFC 7489 §6.6).
// unknown says an SPF or DKIM result could not be had (temperror): then a
// failure is a temperror too, not a policy failure (§6.6.2).
func (c *Check) dmarc(ctx context.Context, db *contentdb.DB, from string, dkimPassed []string, o rfc7208.Outcome, haveSPF, unknown bool) (*authres.DMARCResult, *engine.Sign, error) {
	lookup := txtLookup(dns.WithZone(ctx, "dmarc"), c.r)
	org := orgDomain(from)
	rec, err := dmarc.LookupWithOptions(from, &dmarc.LookupOptions{LookupTXT: lookup})
	fromOrg := false
	if errors.Is(err, dmarc.ErrNoPolicy) && org != from {
		rec, err = dmarc.LookupWithOptions(org, &dmarc.LookupOptions{LookupTXT: lookup})
		fromOrg = true
	}
	dr := &authres.DMARCResult{From: from}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		dr.Value = authres.ResultNone
		return dr, nil, nil
	case dmarc.IsTempFail(err):
		dr.Value = authres.ResultTempError
		return dr, nil, fmt.Errorf("dmarc %s: %w", from, err)
	case err != nil:
		dr.Value = authres.ResultPermError
		return dr, nil, nil
	}
	aligned := func(d string, mode dmarc.AlignmentMode) bool {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if mode == dmarc.AlignmentStrict {
			return d == from
		}
		return orgDomain(d) == org
	}
	pass := false
	for _, d := range dkimPassed {
		pass = pass || aligned(d, rec.DKIMAlignment)
	}
	if haveSPF && o.Result == rfc7208.Pass && aligned(o.Domain, rec.SPFAlignment) {
		pass = true
	}
	if pass {
		dr.Value = authres.ResultPass
		return dr, passSign(db, from), nil
	}
	if unknown {
		dr.Value = authres.ResultTempError
		return dr, nil, nil
	}
	dr.Value = authres.ResultFail
	p := rec.Policy
	if fromOrg && rec.SubdomainPolicy != "" {
		p = rec.SubdomainPolicy
	}
	dr.Reason = "p=" + string(p)
	return dr, failSign(from, p), nil
}

// failSign is the sign of a DMARC failure under the From domain's policy.
func failSign(from string, p dmarc.Policy) *engine.Sign {
	sign := &engine.Sign{Method: "DMARC", Desc: fmt.Sprintf("%s fails DMARC, policy %s", from, p)}
	switch p {
	case dmarc.PolicyReject:
		sign.Name, sign.Score = "DMARC_FAIL_REJECT", ScoreDMARCReject
	case dmarc.PolicyQuarantine:
		sign.Name, sign.Score = "DMARC_FAIL_QUARANTINE", ScoreDMARCQuarantine
	default:
		sign.Name, sign.Score = "DMARC_FAIL_NONE", ScoreDMARCNone
	}
	return sign
}

// passSign is the sign of a DMARC pass: DMARC_PASS_BRAND for a brand's or a
// public authority's domain.
func passSign(db *contentdb.DB, from string) *engine.Sign {
	sign := &engine.Sign{Name: "DMARC_PASS", Score: ScoreDMARCPass, Method: "DMARC", Desc: "DMARC pass for " + from}
	if b, ok := brandOf(db, from); ok {
		sign.Name, sign.Score = "DMARC_PASS_BRAND", ScoreDMARCBrand
		sign.Desc += ", a domain of " + strings.Join(b.Words, " ")
	}
	return sign
}

// txtLookup adapts the resolver to go-msgauth's lookup function, which
// takes no context and tells errors apart by *net.DNSError.
func txtLookup(ctx context.Context, r *dns.Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		txts, err := r.LookupTXT(ctx, name)
		if err != nil {
			var de *dns.Error
			temp := !errors.As(err, &de) || de.Temporary()
			return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: temp, IsTimeout: errors.Is(err, dns.ErrTimeout), IsNotFound: !temp}
		}
		if len(txts) == 0 {
			return nil, &net.DNSError{Err: "no such record", Name: name, IsNotFound: true}
		}
		return txts, nil
	}
}

// fromDomain returns the lower-case domain of a From header with exactly
// one address.
func fromDomain(v string) (string, bool) {
	addrs, err := mail.ParseAddressList(v)
	if err != nil || len(addrs) != 1 {
		return "", false
	}
	i := strings.LastIndexByte(addrs[0].Address, '@')
	if i < 0 {
		return "", false
	}
	d := strings.ToLower(strings.TrimSuffix(addrs[0].Address[i+1:], "."))
	return d, d != ""
}

// brandOf returns the database's brand that owns a From domain, or the
// public authority a government's domain names (ilsos.gov, acra.gov.sg,
// impots.gouv.fr: only governments register under those suffixes, and
// their genuine reminders of fees and penalties read like phishing). The
// brands' free mailboxes (outlook.com, icloud.com) are no brand's word:
// anyone opens one, and CEO fraud writes from them, passing DMARC.
func brandOf(db *contentdb.DB, from string) (contentdb.Brand, bool) {
	org := orgDomain(from)
	if label, _, _ := strings.Cut(org, "."); db == nil || freemail.Label(label) {
		return contentdb.Brand{}, false
	}
	if publicAuthority(from) {
		return contentdb.Brand{Words: []string{"a", "public", "authority"}}, true
	}
	for _, b := range db.Brands {
		if b.Owns(org) {
			return b, true
		}
	}
	return contentdb.Brand{}, false
}

// publicAuthority reports a domain under a public suffix reserved to a
// government: gov, gov.sg, gouv.fr, gob.mx, go.jp, gv.at, gc.ca, mil.
// A private suffix under one counts by its ICANN part (service.gov.uk).
func publicAuthority(domain string) bool {
	suffix, icann := publicsuffix.PublicSuffix(domain)
	for !icann {
		_, rest, ok := strings.Cut(suffix, ".")
		if !ok {
			return false
		}
		suffix, icann = publicsuffix.PublicSuffix(rest)
	}
	first, _, _ := strings.Cut(suffix, ".")
	switch first {
	case "gov", "gouv", "gob", "govt", "gv", "gc", "mil":
		return true
	case "go":
		return strings.Count(suffix, ".") == 1
	}
	return false
}

// orgDomain is the organizational domain (RFC 7489 §3.2): the registrable
// domain by the public suffix list.
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// format writes the header value without the blanks go-msgauth leaves
// after results that have no properties.
func format(id string, results []authres.Result) string {
	parts := strings.Split(authres.Format(id, results), ";")
	for i := range parts {
		parts[i] = strings.TrimRight(parts[i], " ")
	}
	return strings.Join(parts, ";")
}
