// Package dnsbl checks the sending IPs against the DNS blocklists of the
// group's policy (DESIGN §3). Each list has a rating; for each IP the
// ratings of the lists that have it are added up, and a sum of 100 or more
// makes the message BLACKLISTED whatever else is found. Below that each
// listing is a scored sign. Answers can be filtered by return code, and the
// 127.255.255.x answers blocklists give to blocked (e.g. public) resolvers
// are reported as errors, never as listings.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

// BlacklistRating is the summed rating at which a message is BLACKLISTED.
const BlacklistRating = 100

// ratingScore turns a list's rating into a score: rating 100 alone would be
// 5 points, just under the Standard spam threshold.
const ratingScore = 0.05

// ErrBlockedResolver means a blocklist refused to answer our resolver.
var ErrBlockedResolver = errors.New("dnsbl: list refuses queries from this resolver (127.255.255.x answer)")

var blocked = netip.MustParsePrefix("127.255.255.0/24")
var loopback = netip.MustParsePrefix("127.0.0.0/8")

// Check is the DNSBL check.
type Check struct {
	r      *dns.Resolver
	relays *relays.Finder
}

// New returns the check; with a nil resolver it never finds anything.
func New(r *dns.Resolver, f *relays.Finder) *Check { return &Check{r: r, relays: f} }

// Name implements engine.Check.
func (*Check) Name() string { return "dnsbl" }

// Waits implements engine.Waiter: the check waits on the network only
// when it has a resolver; without one (DNS checks off) it returns at once
// and the engine runs it in line instead of on a goroutine of its own.
func (c *Check) Waits() bool { return c.r != nil }

type hit struct {
	list   policy.DNSBLService
	ip     netip.Addr
	answer netip.Addr
}

// Run implements engine.Check.
func (c *Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	s := in.Group.Settings
	if c.r == nil || !s.Methods.DNS {
		return engine.Result{}, nil
	}
	var lists []policy.DNSBLService
	for _, l := range s.DNSBL {
		if l.Enabled && l.Zone != "" {
			lists = append(lists, l)
		}
	}
	ips := c.relays.SendingIPs(in.Env.ClientIP, in.Env.AuthUser, in.Msg.Header)
	if len(lists) == 0 || len(ips) == 0 {
		return engine.Result{}, nil
	}
	ctx, cancel := c.r.MessageContext(ctx, in.ScanID)
	defer cancel()

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		hits []hit
		errs []error
	)
	for _, ip := range ips {
		for _, l := range lists {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := query(ctx, c.r, l, ip)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if h != nil {
					hits = append(hits, *h)
				}
			}()
		}
	}
	wg.Wait()
	res := score(hits, ips, lists)
	for _, h := range hits {
		in.Log.Info("dnsbl listing", "ip", h.ip, "list", h.list.Name, "zone", h.list.Zone, "answer", h.answer, "rating", h.list.Rating)
	}
	return res, errors.Join(errs...)
}

// query asks one list about one IP.
func query(ctx context.Context, r *dns.Resolver, l policy.DNSBLService, ip netip.Addr) (*hit, error) {
	ctx = dns.WithZone(ctx, l.Zone)
	name := dns.ReverseName(ip) + "." + strings.TrimSuffix(l.Zone, ".")
	answers, err := r.LookupA(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("dnsbl %s: %w", l.Name, err)
	}
	m, err := ParseReturns(l.Returns)
	if err != nil {
		return nil, fmt.Errorf("dnsbl %s: %w", l.Name, err)
	}
	for _, a := range answers {
		if blocked.Contains(a) {
			return nil, fmt.Errorf("%w: %s answered %s", ErrBlockedResolver, l.Zone, a)
		}
	}
	for _, a := range answers {
		if m.Match(a) {
			return &hit{list: l, ip: ip, answer: a}, nil
		}
	}
	return nil, nil
}

// score turns the listings into signs: BLACKLISTED when one IP's summed
// rating reaches BlacklistRating, else one scored sign per list.
func score(hits []hit, ips []netip.Addr, lists []policy.DNSBLService) engine.Result {
	var res engine.Result
	for _, ip := range ips {
		sum := 0
		var names []string
		for _, l := range lists {
			for _, h := range hits {
				if h.ip == ip && h.list.Zone == l.Zone && h.list.Name == l.Name {
					sum += l.Rating
					names = append(names, l.Name)
					break
				}
			}
		}
		if sum >= BlacklistRating {
			res.Signs = append(res.Signs, engine.Sign{
				Name:   "DNSBL_BLACKLISTED",
				Score:  float64(sum) * ratingScore,
				Desc:   fmt.Sprintf("%s listed by %s (rating %d)", ip, strings.Join(names, ", "), sum),
				Method: "DNSBL",
				Status: verdict.Blacklisted,
			})
			return res
		}
	}
	for _, l := range lists {
		var listed []string
		var answer netip.Addr
		for _, h := range hits {
			if h.list.Zone == l.Zone && h.list.Name == l.Name && !slices.Contains(listed, h.ip.String()) {
				listed = append(listed, h.ip.String())
				answer = h.answer
			}
		}
		if len(listed) == 0 {
			continue
		}
		res.Signs = append(res.Signs, engine.Sign{
			Name:   "DNSBL_" + SignName(l.Name),
			Score:  float64(l.Rating) * ratingScore,
			Desc:   fmt.Sprintf("%s listed in %s (%s)", strings.Join(listed, ", "), l.Zone, answer),
			Method: "DNSBL",
		})
	}
	return res
}

// SignName turns a list name into the upper-case part of a sign name.
func SignName(name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Returns selects the answers of a list that count as listings.
type Returns struct {
	ranges [][2]netip.Addr
}

// ParseReturns parses a return-code filter: addresses ("127.0.0.2"), ranges
// ("127.0.0.2-127.0.0.11") or CIDR prefixes ("127.0.0.0/24"). An empty
// filter accepts any 127.0.0.0/8 answer except 127.255.255.x.
func ParseReturns(specs []string) (Returns, error) {
	var r Returns
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if lo, hi, ok := strings.Cut(s, "-"); ok {
			a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
			b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
			if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() || b.Less(a) {
				return Returns{}, fmt.Errorf("return code range %q: want A.B.C.D-A.B.C.D, low to high", s)
			}
			r.ranges = append(r.ranges, [2]netip.Addr{a, b})
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
			p = p.Masked()
			last := p.Addr().As4()
			for bit := 0; bit < 32-p.Bits(); bit++ {
				last[3-bit/8] |= 1 << (bit % 8)
			}
			r.ranges = append(r.ranges, [2]netip.Addr{p.Addr(), netip.AddrFrom4(last)})
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return Returns{}, fmt.Errorf("return code %q: want an IPv4 address, range or prefix", s)
		}
		r.ranges = append(r.ranges, [2]netip.Addr{a, a})
	}
	return r, nil
}

// Match reports whether an answer counts as a listing.
func (r Returns) Match(a netip.Addr) bool {
	if blocked.Contains(a) {
		return false
	}
	if len(r.ranges) == 0 {
		return loopback.Contains(a)
	}
	for _, rg := range r.ranges {
		if !a.Less(rg[0]) && !rg[1].Less(a) {
			return true
		}
	}
	return false
}
