// Package spf is the engine check for the sender's SPF policy (RFC 7208):
// it evaluates MAIL FROM (or HELO for the null sender) against the sending
// IP with server/spf and turns the result into a sign. The same evaluation
// feeds DMARC and the Authentication-Results header in check/dkim.
package spf

import (
	"context"
	"fmt"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/relays"
	rfc7208 "github.com/scilla-mail/scilla/server/spf"
)

// Scores per result; neutral and temperror give no sign.
var Scores = map[rfc7208.Result]float64{
	rfc7208.Pass:      -0.3,
	rfc7208.Fail:      2.0,
	rfc7208.SoftFail:  1.0,
	rfc7208.None:      0.3,
	rfc7208.PermError: 0.5,
}

// Check is the SPF check.
type Check struct {
	r        *dns.Resolver
	relays   *relays.Finder
	receiver string
}

// New returns the check; with a nil resolver it never finds anything.
// receiver is this host's name for the %{r} macro.
func New(r *dns.Resolver, f *relays.Finder, receiver string) *Check {
	return &Check{r: r, relays: f, receiver: receiver}
}

// Name implements engine.Check.
func (*Check) Name() string { return "spf" }

// Waits implements engine.Waiter: the check waits on the network only
// when it has a resolver; without one (DNS checks off) it returns at once
// and the engine runs it in line instead of on a goroutine of its own.
func (c *Check) Waits() bool { return c.r != nil }

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	if c.r == nil || !in.Group.Settings.Methods.DNS {
		return engine.Result{}, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()
	o, ok := Evaluate(ctx, c.r, c.relays, in, c.receiver)
	if !ok {
		return engine.Result{}, nil
	}
	in.Log.Debug("spf", "result", o.Result, "identity", o.Identity, "domain", o.Domain, "mechanism", o.Mechanism, "err", o.Err)
	if o.Result == rfc7208.TempError {
		return engine.Result{}, fmt.Errorf("spf %s: %w", o.Domain, o.Err)
	}
	score, ok := Scores[o.Result]
	if !ok {
		return engine.Result{}, nil
	}
	desc := fmt.Sprintf("SPF %s for %s (%s)", o.Result, o.Sender, o.Identity)
	if o.Mechanism != "" {
		desc += " by " + o.Mechanism
	}
	return engine.Result{Signs: []engine.Sign{{
		Name: Sign(o.Result), Score: score, Desc: desc, Method: "SPF",
	}}}, nil
}

// Sign is the sign name of a result, e.g. "SPF_SOFTFAIL".
func Sign(r rfc7208.Result) string {
	b := []byte("SPF_" + string(r))
	for i := 4; i < len(b); i++ {
		b[i] -= 'a' - 'A'
	}
	return string(b)
}

// Evaluate runs SPF for a message: the sending IP is the envelope client,
// or the first untrusted relay when the client is a trusted relay. It
// reports false when there is no public sending IP to check (internal mail)
// or no identity at all.
func Evaluate(ctx context.Context, r *dns.Resolver, f *relays.Finder, in *engine.Input, receiver string) (rfc7208.Outcome, bool) {
	ip, ok := f.Origin(in.Env.ClientIP, in.Env.AuthUser, in.Msg.Header)
	if !ok || (in.Env.MailFrom == "" && in.Env.Helo == "") {
		return rfc7208.Outcome{}, false
	}
	helo := in.Env.Helo
	if ip != in.Env.ClientIP.Unmap() {
		// The HELO name belongs to the trusted relay, not to the origin.
		helo = ""
		if in.Env.MailFrom == "" {
			return rfc7208.Outcome{}, false
		}
	}
	return rfc7208.Check(dns.WithZone(ctx, "spf"), r, rfc7208.Request{
		IP: ip, MailFrom: in.Env.MailFrom, Helo: helo, Receiver: receiver,
	}), true
}
