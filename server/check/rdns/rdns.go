// Package rdns checks the reverse DNS of the sending IP: the IP should have
// a PTR name, and that name should resolve back to the IP
// (forward-confirmed reverse DNS). Mail servers of real organisations
// almost always pass; botnets on consumer lines often do not. A DNS error
// gives no sign.
package rdns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/relays"
)

// Scores of the signs.
const (
	ScoreNone         = 1.0
	ScoreNotConfirmed = 0.7
)

// maxNames bounds the PTR names checked, as RFC 7208 §5.5 does.
const maxNames = 10

// Check is the reverse DNS check.
type Check struct {
	r      *dns.Resolver
	relays *relays.Finder
}

// New returns the check; with a nil resolver it never finds anything.
func New(r *dns.Resolver, f *relays.Finder) *Check { return &Check{r: r, relays: f} }

// Name implements engine.Check.
func (*Check) Name() string { return "rdns" }

// Waits implements engine.Waiter: the check waits on the network only
// when it has a resolver; without one (DNS checks off) it returns at once
// and the engine runs it in line instead of on a goroutine of its own.
func (c *Check) Waits() bool { return c.r != nil }

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	if c.r == nil || !in.Group.Settings.Methods.DNS {
		return engine.Result{}, nil
	}
	ip, ok := c.relays.Origin(in.Env.ClientIP, in.Env.AuthUser, in.Msg.Header)
	if !ok {
		return engine.Result{}, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()
	o, err := Lookup(ctx, c.r, ip)
	if err != nil {
		return engine.Result{}, err
	}
	switch {
	case len(o.Names) == 0:
		return engine.Result{Signs: []engine.Sign{{
			Name: "RDNS_NONE", Score: ScoreNone, Method: "rDNS",
			Desc: fmt.Sprintf("sending IP %s has no reverse DNS", ip),
		}}}, nil
	case o.Confirmed == "":
		return engine.Result{Signs: []engine.Sign{{
			Name: "RDNS_NOT_CONFIRMED", Score: ScoreNotConfirmed, Method: "rDNS",
			Desc: fmt.Sprintf("reverse DNS of %s (%s) does not resolve back to it", ip, o.Names[0]),
		}}}, nil
	}
	in.Log.Debug("reverse DNS confirmed", "ip", ip, "name", o.Confirmed)
	return engine.Result{}, nil
}

// Outcome is the reverse DNS of one IP.
type Outcome struct {
	// Names are the PTR names, without the final dot.
	Names []string
	// Confirmed is the first name that resolves back to the IP, "" for none.
	Confirmed string
}

// Lookup finds the PTR names of ip and the first that forward-confirms
// (RFC 8601 §3 "iprev"). An error means the answer is unknown.
func Lookup(ctx context.Context, r *dns.Resolver, ip netip.Addr) (Outcome, error) {
	ctx = dns.WithZone(ctx, "ptr")
	names, err := r.LookupPTR(ctx, ip)
	if err != nil {
		return Outcome{}, fmt.Errorf("rdns: PTR of %s: %w", ip, err)
	}
	var o Outcome
	for _, n := range names {
		o.Names = append(o.Names, strings.TrimSuffix(n, "."))
	}
	var lastErr error
	for i, n := range o.Names {
		if i >= maxNames {
			break
		}
		var addrs []netip.Addr
		if ip.Is4() {
			addrs, err = r.LookupA(ctx, n)
		} else {
			addrs, err = r.LookupAAAA(ctx, n)
		}
		if err != nil {
			lastErr = err
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				o.Confirmed = n
				return o, nil
			}
		}
	}
	if lastErr != nil {
		return o, fmt.Errorf("rdns: confirm %s: %w", ip, lastErr)
	}
	return o, nil
}
