// Package dns is Scilla's stub resolver for the DNS-based checks: it sends
// queries over UDP with a TCP retry on truncation, retries over the
// configured nameservers with a per-query timeout, merges identical queries
// in flight, and caches answers (honouring TTLs, with negative caching per
// RFC 2308) in a size-bounded cache. It does not recurse or validate DNSSEC:
// it expects a recursive resolver nearby.
//
// Lookups return (nil, nil) when the name does not exist or has no records of
// the type; an error always means the answer is unknown (timeout, server
// failure), and such errors are temporary.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Errors returned by lookups, wrapped in *Error.
var (
	// ErrTimeout means no nameserver answered in time.
	ErrTimeout = errors.New("dns: timeout")
	// ErrServerFailure means the nameservers answered SERVFAIL, REFUSED or
	// another error code.
	ErrServerFailure = errors.New("dns: server failure")
	// ErrInvalidName means the name cannot be queried (empty label, label
	// over 63 octets, name over 255 octets). It is not temporary.
	ErrInvalidName = errors.New("dns: invalid name")
)

// Error is a failed lookup.
type Error struct {
	Name  string
	Qtype uint16
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("lookup %s %s: %v", e.Name, mdns.TypeToString[e.Qtype], e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the lookup timed out (net.Error).
func (e *Error) Timeout() bool { return errors.Is(e.Err, ErrTimeout) }

// Temporary reports whether trying later may succeed (net.Error).
func (e *Error) Temporary() bool { return !errors.Is(e.Err, ErrInvalidName) }

// Answer is the cached outcome of one query.
type Answer struct {
	// Rcode is the response code (mdns.RcodeSuccess or mdns.RcodeNameError).
	Rcode int
	// Records are the answer records of the queried type (CNAMEs followed by
	// the recursive resolver are dropped).
	Records []mdns.RR
	expires time.Time
	// err is a cached failure (RFC 2308 §7: server failures and timeouts
	// may be cached briefly), so a dead zone does not cost every message
	// the full timeout.
	err error
}

// Resolver is safe for concurrent use.
type Resolver struct {
	cfg     Config
	servers []string
	udp     *mdns.Client
	tcp     *mdns.Client
	cache   *ristretto.Cache[string, *Answer]
	m       *metrics
	now     func() time.Time

	mu       sync.Mutex
	inflight map[string]*call

	budget budget
}

type call struct {
	done chan struct{}
	ans  *Answer
	err  error
}

// Open returns the resolver of the "dns" section, or nil (DNS checks off)
// when cfg.Enabled is false. Metrics are registered on reg (nil for none).
func Open(cfg Config, reg prometheus.Registerer) (*Resolver, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	return New(cfg, reg)
}

// New builds a resolver from cfg whether or not it is enabled; metrics are registered on reg (nil for
// none). Nameservers default to those of /etc/resolv.conf.
func New(cfg Config, reg prometheus.Registerer) (*Resolver, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("dns config: %w", errors.Join(errs...))
	}
	servers := cfg.Nameservers
	if len(servers) == 0 {
		var err error
		if servers, err = systemNameservers("/etc/resolv.conf"); err != nil {
			return nil, err
		}
	}
	r := &Resolver{
		cfg:      cfg,
		udp:      &mdns.Client{Net: "udp", UDPSize: 1232},
		tcp:      &mdns.Client{Net: "tcp"},
		now:      time.Now,
		inflight: map[string]*call{},
	}
	r.budget.m = map[string]time.Time{}
	for _, s := range servers {
		ap, err := ParseNameserver(s)
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		r.servers = append(r.servers, ap.String())
	}
	if cfg.CacheSize > 0 {
		c, err := ristretto.NewCache(&ristretto.Config[string, *Answer]{
			NumCounters:        cfg.CacheSize * 10,
			MaxCost:            cfg.CacheSize,
			BufferItems:        64,
			IgnoreInternalCost: true,
		})
		if err != nil {
			return nil, fmt.Errorf("dns: create cache: %w", err)
		}
		r.cache = c
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	r.m = m
	return r, nil
}

// systemNameservers reads the nameservers of a resolv.conf file.
func systemNameservers(path string) ([]string, error) {
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("dns: read nameservers from %s: %w", path, err)
	}
	if len(cc.Servers) == 0 {
		return nil, fmt.Errorf("dns: no nameservers in %s and none configured", path)
	}
	var out []string
	for _, s := range cc.Servers {
		// resolv.conf may carry an IPv6 zone ("fe80::1%eth0"), which
		// netip keeps; the port is resolv.conf's (53).
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, 53).String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dns: no usable nameservers in %s", path)
	}
	return out, nil
}

// Close releases the cache. A nil resolver is fine.
func (r *Resolver) Close() {
	if r != nil && r.cache != nil {
		r.cache.Close()
	}
}

// Config returns the configuration the resolver was built with.
func (r *Resolver) Config() Config { return r.cfg }

type zoneKey struct{}

// WithZone labels the queries made with ctx for the per-zone latency metric
// (e.g. a DNSBL zone, or "spf"). Unlabelled queries count as "other".
func WithZone(ctx context.Context, zone string) context.Context {
	return context.WithValue(ctx, zoneKey{}, zone)
}

func zoneOf(ctx context.Context) string {
	if z, ok := ctx.Value(zoneKey{}).(string); ok {
		return z
	}
	return "other"
}

// Query returns the answer for name and qtype, from the cache when fresh.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	raw := strings.ToLower(strings.TrimSuffix(name, "."))
	if !validName(raw) {
		return nil, &Error{Name: name, Qtype: qtype, Err: ErrInvalidName}
	}
	fqdn := escapeName(raw) + "."
	key := mdns.TypeToString[qtype] + " " + fqdn
	if r.cache != nil {
		if a, ok := r.cache.Get(key); ok && r.now().Before(a.expires) {
			r.m.cache.WithLabelValues("hit").Inc()
			if a.err != nil {
				return nil, a.err
			}
			return a, nil
		}
		r.m.cache.WithLabelValues("miss").Inc()
	}

	r.mu.Lock()
	if c, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			if c.err != nil && errors.Is(c.err, ErrTimeout) && ctx.Err() == nil {
				// The first asker ran out of its own time (another
				// message's deadline); this one still has time to ask.
				a, _, err := r.resolveFull(ctx, fqdn, qtype)
				return a, err
			}
			return c.ans, c.err
		case <-ctx.Done():
			return nil, r.ctxErr(ctx, fqdn, qtype)
		}
	}
	c := &call{done: make(chan struct{})}
	r.inflight[key] = c
	r.mu.Unlock()

	var whole bool
	c.ans, whole, c.err = r.resolveFull(ctx, fqdn, qtype)
	switch {
	case r.cache == nil:
	case c.err == nil:
		if ttl := c.ans.expires.Sub(r.now()); ttl > 0 {
			r.cache.SetWithTTL(key, c.ans, 1, ttl)
			r.cache.Wait()
		}
	case whole && r.cfg.FailureTTL > 0:
		// Every nameserver failed or timed out while we still had time:
		// remember it briefly. Failures caused by our own deadline are not
		// the zone's fault and are not cached.
		ttl := r.cfg.FailureTTL.D()
		r.cache.SetWithTTL(key, &Answer{expires: r.now().Add(ttl), err: c.err}, 1, ttl)
		r.cache.Wait()
	}
	r.mu.Lock()
	delete(r.inflight, key)
	r.mu.Unlock()
	close(c.done)
	return c.ans, c.err
}

func (r *Resolver) ctxErr(ctx context.Context, name string, qtype uint16) error {
	err := ErrTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		err = fmt.Errorf("%w: %w", ErrTimeout, context.Canceled)
	}
	return &Error{Name: name, Qtype: qtype, Err: err}
}

// resolveFull asks the nameservers in turn until one gives a usable answer.
// whole reports that every attempt had its full timeout, so a failure is
// the nameservers' and not our deadline's.
func (r *Resolver) resolveFull(ctx context.Context, fqdn string, qtype uint16) (ans *Answer, whole bool, err error) {
	zone := zoneOf(ctx)
	start := time.Now()
	result := "error"
	defer func() {
		r.m.queries.WithLabelValues(mdns.TypeToString[qtype], result).Inc()
		r.m.latency.WithLabelValues(zone).Observe(time.Since(start).Seconds())
		if result == "timeout" {
			r.m.timeouts.Inc()
		}
	}()

	q := new(mdns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.RecursionDesired = true
	q.SetEdns0(1232, false)

	var lastErr error = ErrTimeout
	first := int(start.UnixNano() % int64(len(r.servers)))
	whole = true
	for attempt := 0; attempt <= r.cfg.Retries; attempt++ {
		if ctx.Err() != nil {
			whole = false
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < r.cfg.Timeout.D() {
			whole = false
		}
		server := r.servers[(first+attempt)%len(r.servers)]
		q.Id = mdns.Id() // a fresh id per attempt: a late answer to an earlier one is not taken
		resp, err := r.exchange(ctx, q, server)
		if err != nil {
			lastErr = err
			continue
		}
		switch resp.Rcode {
		case mdns.RcodeSuccess, mdns.RcodeNameError:
		default:
			lastErr = fmt.Errorf("%w: %s from %s", ErrServerFailure, mdns.RcodeToString[resp.Rcode], server)
			continue
		}
		a := r.answer(resp, qtype)
		result = strings.ToLower(mdns.RcodeToString[resp.Rcode])
		return a, true, nil
	}
	if ctx.Err() != nil || errors.Is(lastErr, ErrTimeout) {
		result = "timeout"
		return nil, whole && ctx.Err() == nil, r.ctxErr(ctx, fqdn, qtype)
	}
	if errors.Is(lastErr, ErrServerFailure) {
		result = "servfail"
	}
	return nil, whole, &Error{Name: fqdn, Qtype: qtype, Err: lastErr}
}

// exchange sends q to one server over UDP, and over TCP when the UDP answer
// is truncated (RFC 7766 §5).
func (r *Resolver) exchange(ctx context.Context, q *mdns.Msg, server string) (*mdns.Msg, error) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.Timeout.D())
	defer cancel()
	resp, _, err := r.udp.ExchangeContext(actx, q, server)
	if err == nil && resp.Truncated {
		r.m.truncated.Inc()
		resp, _, err = r.tcp.ExchangeContext(actx, q, server)
	}
	if err != nil {
		var ne net.Error
		if actx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, fmt.Errorf("%w: %s", ErrTimeout, server)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrServerFailure, server, err)
	}
	if resp.Id != q.Id {
		return nil, fmt.Errorf("%w: %s: mismatched id", ErrServerFailure, server)
	}
	return resp, nil
}

// answer keeps the records of qtype and computes how long to cache them.
func (r *Resolver) answer(resp *mdns.Msg, qtype uint16) *Answer {
	a := &Answer{Rcode: resp.Rcode}
	ttl := r.cfg.MaxTTL.D()
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		a.Records = append(a.Records, rr)
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
	}
	if len(a.Records) == 0 {
		// RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and
		// its MINIMUM field; without a SOA cache only briefly.
		ttl = min(r.cfg.NegativeTTL.D(), time.Minute)
		for _, rr := range resp.Ns {
			if soa, ok := rr.(*mdns.SOA); ok {
				ttl = min(r.cfg.NegativeTTL.D(), time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second)
			}
		}
	}
	a.expires = r.now().Add(ttl)
	return a
}

// validName checks the RFC 1035 limits on a name without its final dot:
// labels of 1..63 octets, 253 octets in all. Any octet is allowed in a label.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
	}
	return true
}

// escapeName writes a name in miekg/dns's presentation form, escaping the
// octets that have a meaning there so that every octet goes out as given
// (SPF macros can expand to names with spaces or "%").
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.' || c == '-' || c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	return b.String()
}

// LookupA returns the IPv4 addresses of name.
func (r *Resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.Query(ctx, name, mdns.TypeA)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*mdns.A).A.To4()); ok {
			out = append(out, ip)
		}
	}
	return out, nil
}

// LookupAAAA returns the IPv6 addresses of name.
func (r *Resolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.Query(ctx, name, mdns.TypeAAAA)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*mdns.AAAA).AAAA.To16()); ok {
			out = append(out, ip)
		}
	}
	return out, nil
}

// LookupIP returns the IPv4 and IPv6 addresses of name, querying both in
// parallel. It fails only when both queries fail.
func (r *Resolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, error) {
	var (
		wg   sync.WaitGroup
		v6   []netip.Addr
		err6 error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v6, err6 = r.LookupAAAA(ctx, name)
	}()
	v4, err4 := r.LookupA(ctx, name)
	wg.Wait()
	if err4 != nil && err6 != nil {
		return nil, err4
	}
	return append(v4, v6...), nil
}

// LookupTXT returns the TXT records of name, the strings of each record
// joined (RFC 7208 §3.3).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := r.Query(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range a.Records {
		var b strings.Builder
		for _, part := range rr.(*mdns.TXT).Txt {
			b.WriteString(unescape(part))
		}
		out = append(out, b.String())
	}
	return out, nil
}

// LookupMX returns the exchanges of name, most preferred first.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]string, error) {
	a, err := r.Query(ctx, name, mdns.TypeMX)
	if err != nil {
		return nil, err
	}
	mxs := make([]*mdns.MX, 0, len(a.Records))
	for _, rr := range a.Records {
		mxs = append(mxs, rr.(*mdns.MX))
	}
	slices.SortStableFunc(mxs, func(x, y *mdns.MX) int { return int(x.Preference) - int(y.Preference) })
	out := make([]string, len(mxs))
	for i, mx := range mxs {
		out[i] = unescape(mx.Mx)
	}
	return out, nil
}

// LookupPTR returns the names of ip (fully qualified, with the final dot).
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	zone := ".in-addr.arpa"
	if ip.Unmap().Is6() {
		zone = ".ip6.arpa"
	}
	a, err := r.Query(ctx, ReverseName(ip)+zone, mdns.TypePTR)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range a.Records {
		out = append(out, unescape(rr.(*mdns.PTR).Ptr))
	}
	return out, nil
}

// ReverseName returns the labels of ip for reverse and DNSBL lookups,
// without a zone: "4.3.2.1" for 1.2.3.4, and 32 nibbles for IPv6
// ("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4" for
// 4321:0:1:2:3:4:567:89ab, RFC 3596 §2.5).
func ReverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	const hex = "0123456789abcdef"
	b := ip.As16()
	out := make([]byte, 0, 63)
	for i := len(b) - 1; i >= 0; i-- {
		out = append(out, hex[b[i]&0xf], '.', hex[b[i]>>4], '.')
	}
	return string(out[:len(out)-1])
}

// unescape turns miekg/dns's presentation form of a character-string
// (`\DDD` for unprintable octets, `\X` for quotes and backslashes) back
// into the octets on the wire.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
