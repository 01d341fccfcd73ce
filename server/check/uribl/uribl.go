// Package uribl checks the links of a message against URI blocklists
// (SURBL/URIBL style, DESIGN §3): the registrable domain of each link
// (eTLD+1 by the public suffix list) and each IPv4 address in a link is
// looked up under the list's zone, and an answer whose bits meet the list's
// mask is a hit. One sign per list, whatever the number of listed domains.
package uribl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/scilla-mail/scilla/server/check/dnsbl"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

// MaxTargets bounds the distinct domains and IPs looked up per message.
const MaxTargets = 20

// ErrBlockedResolver means a list refused to answer our resolver.
var ErrBlockedResolver = errors.New("uribl: list refuses queries from this resolver")

var (
	loopback = netip.MustParsePrefix("127.0.0.0/8")
	refused  = netip.MustParsePrefix("127.255.255.0/24")
	// URIBL answers 127.0.0.1 to refused queries.
	refusedURIBL = netip.MustParseAddr("127.0.0.1")
)

// Check is the URI blocklist check.
type Check struct {
	r *dns.Resolver
}

// New returns the check; with a nil resolver it never finds anything.
func New(r *dns.Resolver) *Check { return &Check{r: r} }

// Name implements engine.Check.
func (*Check) Name() string { return "uribl" }

// Waits implements engine.Waiter: the check waits on the network only
// when it has a resolver; without one (DNS checks off) it returns at once
// and the engine runs it in line instead of on a goroutine of its own.
func (c *Check) Waits() bool { return c.r != nil }

// Targets returns the distinct names to look up for the message's links:
// registrable domains, and reversed IPv4 addresses for links by address.
func Targets(urls []message.URL) []string {
	var out []string
	for _, u := range urls {
		t := ""
		host := strings.Trim(u.Host, "[]")
		if ip, err := netip.ParseAddr(host); err == nil {
			if ip = ip.Unmap(); ip.Is4() {
				t = dns.ReverseName(ip)
			}
		} else if u.Domain != "" {
			t = strings.ToLower(u.Domain)
		}
		if t == "" || slices.Contains(out, t) {
			continue
		}
		out = append(out, t)
		if len(out) == MaxTargets {
			break
		}
	}
	return out
}

type hit struct {
	target string
	answer netip.Addr
}

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	s := in.Group.Settings
	if c.r == nil || !s.Methods.SURBL {
		return engine.Result{}, nil
	}
	var lists []policy.URIBLService
	for _, l := range s.URIBL {
		if l.Enabled && l.Zone != "" {
			lists = append(lists, l)
		}
	}
	targets := Targets(in.Msg.URLs)
	if len(lists) == 0 || len(targets) == 0 {
		return engine.Result{}, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		hits = make([][]hit, len(lists))
		errs []error
	)
	for i, l := range lists {
		for _, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := query(ctx, c.r, l, t)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if a.IsValid() {
					hits[i] = append(hits[i], hit{t, a})
				}
			}()
		}
	}
	wg.Wait()
	var res engine.Result
	for i, l := range lists {
		if len(hits[i]) == 0 {
			continue
		}
		var names []string
		for _, h := range hits[i] {
			names = append(names, h.target)
		}
		slices.Sort(names)
		in.Log.Info("uribl listing", "list", l.Name, "zone", l.Zone, "targets", names)
		res.Signs = append(res.Signs, engine.Sign{
			Name:   "URIBL_" + dnsbl.SignName(l.Name),
			Score:  l.Score,
			Desc:   fmt.Sprintf("link to %s listed in %s", strings.Join(names, ", "), l.Zone),
			Method: "SURBL",
		})
	}
	return res, errors.Join(errs...)
}

// query looks one target up in one list and returns the answer that counts,
// or the zero address.
func query(ctx context.Context, r *dns.Resolver, l policy.URIBLService, target string) (netip.Addr, error) {
	answers, err := r.LookupA(dns.WithZone(ctx, l.Zone), target+"."+strings.TrimSuffix(l.Zone, "."))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("uribl %s: %w", l.Name, err)
	}
	for _, a := range answers {
		if refused.Contains(a) || a == refusedURIBL {
			return netip.Addr{}, fmt.Errorf("%w: %s answered %s", ErrBlockedResolver, l.Zone, a)
		}
	}
	for _, a := range answers {
		if Listed(a, l.Mask) {
			return a, nil
		}
	}
	return netip.Addr{}, nil
}

// Listed decodes a bitmask answer: with mask 0 any 127.0.0.0/8 answer is a
// listing; otherwise the answer's bits (as a 32-bit number) must meet the mask.
func Listed(a netip.Addr, mask uint32) bool {
	if !loopback.Contains(a) {
		return false
	}
	if mask == 0 {
		return true
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return v&mask != 0
}
