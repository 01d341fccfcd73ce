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

// Waits implements engine.Waiter.
func (*Check) Waits() bool { return true }

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	if c.r == nil || !in.Group.Settings.Methods.DNS {
		return engine.Result{}, nil
	}
	ip, ok := c.relays.Origin(in.Env.ClientIP, in.Msg.Header)
	if !ok {
		return engine.Result{}, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()
	ctx = dns.WithZone(ctx, "ptr")
	names, err := c.r.LookupPTR(ctx, ip)
	if err != nil {
		return engine.Result{}, fmt.Errorf("rdns: PTR of %s: %w", ip, err)
	}
	if len(names) == 0 {
		return engine.Result{Signs: []engine.Sign{{
			Name: "RDNS_NONE", Score: ScoreNone, Method: "rDNS",
			Desc: fmt.Sprintf("sending IP %s has no reverse DNS", ip),
		}}}, nil
	}
	var lastErr error
	for i, n := range names {
		if i >= maxNames {
			break
		}
		var addrs []netip.Addr
		if ip.Is4() {
			addrs, err = c.r.LookupA(ctx, n)
		} else {
			addrs, err = c.r.LookupAAAA(ctx, n)
		}
		if err != nil {
			lastErr = err
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				in.Log.Debug("reverse DNS confirmed", "ip", ip, "name", n)
				return engine.Result{}, nil
			}
		}
	}
	if lastErr != nil {
		return engine.Result{}, fmt.Errorf("rdns: confirm %s: %w", ip, lastErr)
	}
	return engine.Result{Signs: []engine.Sign{{
		Name: "RDNS_NOT_CONFIRMED", Score: ScoreNotConfirmed, Method: "rDNS",
		Desc: fmt.Sprintf("reverse DNS of %s (%s) does not resolve back to it", ip, strings.TrimSuffix(names[0], ".")),
	}}}, nil
}
