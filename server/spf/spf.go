// Package spf evaluates Sender Policy Framework records (RFC 7208): given
// the connecting IP, the MAIL FROM and the HELO name it says whether the
// sender's domain authorises the IP. Every mechanism, modifier and macro of
// the RFC is supported, with the limits of §4.6.4 (10 DNS-querying terms,
// 2 void lookups, 10 address lookups per mx or ptr).
//
// It does no DNS itself: lookups go through the Resolver given, so the
// caller's cache, timeouts and deadline apply. It does not act on the
// result; mapping results to scores is the caller's business.
package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Result is an SPF result (§2.6).
type Result string

// Results.
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// DefaultExplanation is the explanation of a fail when the domain gives none.
const DefaultExplanation = "Sender is not authorized by the domain's SPF policy"

// Processing limits of §4.6.4.
const (
	maxLookups     = 10
	maxVoidLookups = 2
	maxAddrLookups = 10
)

// Resolver is the DNS a check uses. A name that does not exist or has no
// records of the type gives (nil, nil); an error means the answer is unknown.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupA(ctx context.Context, name string) ([]netip.Addr, error)
	LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error)
	LookupMX(ctx context.Context, name string) ([]string, error)
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// Request is what is checked.
type Request struct {
	// IP is the connecting client.
	IP netip.Addr
	// MailFrom is the envelope sender, "" for the null sender.
	MailFrom string
	// Helo is the HELO/EHLO name.
	Helo string
	// Receiver is the receiving host's name for the %{r} macro ("unknown" when empty).
	Receiver string
	// Now is the time for the %{t} macro; the zero time means time.Now.
	Now time.Time
}

// Outcome is the result of a check.
type Outcome struct {
	Result Result
	// Identity is "mailfrom", or "helo" when MAIL FROM was empty.
	Identity string
	// Sender is the checked identity as local@domain.
	Sender string
	// Domain is the domain whose policy was evaluated.
	Domain string
	// Mechanism is the matching mechanism, "" when none matched.
	Mechanism string
	// Explanation is set for fail results.
	Explanation string
	// Err says why the result is temperror or permerror.
	Err error
}

// Check evaluates the MAIL FROM identity, or the HELO identity when MAIL
// FROM is empty (§2.4), by running check_host() (§4).
func Check(ctx context.Context, r Resolver, req Request) Outcome {
	st := &state{ctx: ctx, r: lenient{r}, ip: req.IP.Unmap(), helo: req.Helo, receiver: req.Receiver, now: req.Now}
	if st.receiver == "" {
		st.receiver = "unknown"
	}
	if st.now.IsZero() {
		st.now = time.Now()
	}
	o := Outcome{Identity: "mailfrom"}
	if !st.ip.IsValid() {
		o.Result, o.Err = None, errors.New("spf: no client IP to check")
		return o
	}
	sender := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(req.MailFrom), "<"), ">")
	if sender == "" {
		o.Identity = "helo"
		sender = "postmaster@" + req.Helo
	}
	local, domain := "postmaster", sender
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		local, domain = sender[:i], sender[i+1:]
	}
	if local == "" {
		local = "postmaster"
	}
	st.local, st.senderDomain = local, domain
	o.Sender = local + "@" + domain
	o.Domain = domain
	res := st.checkHost(strings.TrimSuffix(domain, "."), 0)
	o.Result, o.Mechanism, o.Explanation, o.Err = res.result, res.mechanism, res.explanation, res.err
	return o
}

type state struct {
	ctx                 context.Context
	r                   Resolver
	ip                  netip.Addr
	local, senderDomain string
	helo, receiver      string
	now                 time.Time
	lookups, voids      int
}

type result struct {
	result      Result
	mechanism   string
	explanation string
	err         error
}

func perm(format string, args ...any) result {
	return result{result: PermError, err: fmt.Errorf("spf: "+format, args...)}
}

func temp(err error, what string) result {
	return result{result: TempError, err: fmt.Errorf("spf: %s: %w", what, err)}
}

// errPerm and errTemp carry a mechanism's failure up to checkHost.
type errPerm struct{ error }
type errTemp struct{ error }

// checkHost is check_host() of §4.
func (st *state) checkHost(domain string, depth int) result {
	// §4.3: a malformed or single-label domain gives none.
	if !validDomain(domain) {
		return result{result: None, err: fmt.Errorf("spf: %q is not a valid domain name", domain)}
	}
	if depth > 20 {
		return perm("include/redirect nesting too deep at %s", domain)
	}
	txts, err := st.r.LookupTXT(st.ctx, domain)
	if err != nil {
		return temp(err, "look up SPF record of "+domain)
	}
	var recs []string
	for _, t := range txts {
		if IsSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return result{result: None}
	case 1:
	default:
		return perm("%s has %d SPF records", domain, len(recs))
	}
	rec, err := Parse(recs[0])
	if err != nil {
		return result{result: PermError, err: fmt.Errorf("%s: %w", domain, err)}
	}
	for _, m := range rec.Mechanisms {
		match, err := st.match(m, domain, depth)
		if err != nil {
			var te errTemp
			if errors.As(err, &te) {
				return result{result: TempError, mechanism: m.String(), err: err}
			}
			return result{result: PermError, mechanism: m.String(), err: err}
		}
		if !match {
			continue
		}
		res := result{result: m.Qualifier.Result(), mechanism: m.String()}
		if res.result == Fail {
			res.explanation = st.explain(rec.Exp, domain)
		}
		return res
	}
	if rec.Redirect != "" {
		if st.lookups++; st.lookups > maxLookups {
			return perm("more than %d DNS-querying terms", maxLookups)
		}
		target, err := st.expandDomain(rec.Redirect, domain)
		if err != nil {
			return result{result: PermError, err: err}
		}
		res := st.checkHost(target, depth+1)
		if res.result == None {
			// §6.1: a redirect to a domain without a record is a permerror.
			return perm("redirect=%s: domain has no SPF record", target)
		}
		return res
	}
	return result{result: Neutral}
}

// match evaluates one mechanism (§5).
func (st *state) match(m Mechanism, domain string, depth int) (bool, error) {
	switch m.Kind {
	case "all":
		return true, nil
	case "ip4":
		return st.ip.Is4() && m.Net.Contains(st.ip), nil
	case "ip6":
		return st.ip.Is6() && m.Net.Contains(st.ip), nil
	}
	if st.lookups++; st.lookups > maxLookups {
		return false, errPerm{fmt.Errorf("spf: more than %d DNS-querying terms", maxLookups)}
	}
	target := domain
	if m.Domain != "" {
		t, err := st.expandDomain(m.Domain, domain)
		if err != nil {
			return false, errPerm{err}
		}
		target = t
	}
	switch m.Kind {
	case "include":
		res := st.checkHost(target, depth+1)
		switch res.result {
		case Pass:
			return true, nil
		case Fail, SoftFail, Neutral:
			return false, nil
		case TempError:
			return false, errTemp{fmt.Errorf("include:%s: %w", target, res.err)}
		case None:
			return false, errPerm{fmt.Errorf("spf: include:%s: domain has no SPF record", target)}
		default:
			return false, errPerm{fmt.Errorf("include:%s: %w", target, res.err)}
		}
	case "a":
		ips, err := st.addrs(target)
		if err != nil {
			return false, errTemp{err}
		}
		if err := st.void(len(ips)); err != nil {
			return false, err
		}
		return st.inAny(ips, m), nil
	case "mx":
		mxs, err := st.r.LookupMX(st.ctx, target)
		if err != nil {
			return false, errTemp{fmt.Errorf("spf: mx %s: %w", target, err)}
		}
		if err := st.void(len(mxs)); err != nil {
			return false, err
		}
		if len(mxs) > maxAddrLookups {
			return false, errPerm{fmt.Errorf("spf: mx %s: %d MX records, over %d", target, len(mxs), maxAddrLookups)}
		}
		for _, mx := range mxs {
			mx = strings.TrimSuffix(mx, ".")
			if mx == "" {
				continue
			}
			ips, err := st.addrs(mx)
			if err != nil {
				return false, errTemp{err}
			}
			if st.inAny(ips, m) {
				return true, nil
			}
		}
		return false, nil
	case "ptr":
		names, err := st.r.LookupPTR(st.ctx, st.ip)
		if err != nil {
			// §5.5: a DNS error in the PTR lookup is no match.
			return false, nil
		}
		if err := st.void(len(names)); err != nil {
			return false, err
		}
		for _, n := range st.validated(names) {
			if equalDomain(n, target) || hasSuffixFold(n, "."+target) {
				return true, nil
			}
		}
		return false, nil
	case "exists":
		// §5.7: always an A query, whatever the IP version.
		ips, err := st.r.LookupA(st.ctx, target)
		if err != nil {
			return false, errTemp{fmt.Errorf("spf: exists %s: %w", target, err)}
		}
		if err := st.void(len(ips)); err != nil {
			return false, err
		}
		return len(ips) > 0, nil
	}
	return false, errPerm{fmt.Errorf("spf: unknown mechanism %q", m.Kind)}
}

func (st *state) void(n int) error {
	if n > 0 {
		return nil
	}
	if st.voids++; st.voids > maxVoidLookups {
		return errPerm{fmt.Errorf("spf: more than %d void lookups", maxVoidLookups)}
	}
	return nil
}

// addrs looks up the addresses of name in the family of the client IP.
func (st *state) addrs(name string) ([]netip.Addr, error) {
	var (
		ips []netip.Addr
		err error
	)
	if st.ip.Is4() {
		ips, err = st.r.LookupA(st.ctx, name)
	} else {
		ips, err = st.r.LookupAAAA(st.ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("spf: address of %s: %w", name, err)
	}
	return ips, nil
}

func (st *state) inAny(ips []netip.Addr, m Mechanism) bool {
	for _, ip := range ips {
		ip = ip.Unmap()
		bits := m.V4Len
		if ip.Is6() {
			bits = m.V6Len
		}
		if ip.Is4() != st.ip.Is4() {
			continue
		}
		if p, err := ip.Prefix(bits); err == nil && p.Contains(st.ip) {
			return true
		}
	}
	return false
}

// validated returns the PTR names that resolve back to the client IP
// (§5.5), looking at no more than 10 names.
func (st *state) validated(names []string) []string {
	var out []string
	for i, n := range names {
		if i >= maxAddrLookups {
			break
		}
		n = strings.TrimSuffix(n, ".")
		ips, err := st.addrs(n)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if ip.Unmap() == st.ip {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// explain computes the explanation of a fail from the exp modifier (§6.2).
// Any problem means the default explanation.
func (st *state) explain(exp, domain string) string {
	if exp == "" {
		return DefaultExplanation
	}
	target, err := st.expandDomain(exp, domain)
	if err != nil {
		return DefaultExplanation
	}
	txts, err := st.r.LookupTXT(st.ctx, target)
	if err != nil || len(txts) != 1 {
		return DefaultExplanation
	}
	toks, err := parseMacro(txts[0], true)
	if err != nil {
		return DefaultExplanation
	}
	text := st.expand(toks, domain)
	for i := 0; i < len(text); i++ {
		if text[i] < 0x20 || text[i] > 0x7e {
			return DefaultExplanation
		}
	}
	return text
}

// expandDomain expands a domain-spec and shortens it to 253 octets by
// dropping labels from the left (§7.3).
func (st *state) expandDomain(spec, domain string) (string, error) {
	toks, err := parseMacro(spec, false)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(st.expand(toks, domain), ".")
	for len(s) > 253 {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return s, nil
}

func (st *state) expand(toks []token, domain string) string {
	var b strings.Builder
	for _, t := range toks {
		if t.letter == 0 {
			b.WriteString(t.lit)
			continue
		}
		b.WriteString(t.expand(st.macroValue(t.letter, domain)))
	}
	return b.String()
}

func (st *state) macroValue(letter byte, domain string) string {
	switch letter {
	case 's':
		return st.local + "@" + st.senderDomain
	case 'l':
		return st.local
	case 'o':
		return st.senderDomain
	case 'd':
		return domain
	case 'i':
		if st.ip.Is4() {
			return st.ip.String()
		}
		return nibbles(st.ip)
	case 'p':
		return st.validatedName(domain)
	case 'v':
		if st.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return st.helo
	case 'c':
		return st.ip.String()
	case 'r':
		return st.receiver
	case 't':
		return strconv.FormatInt(st.now.Unix(), 10)
	}
	return ""
}

// validatedName is the %{p} macro: a validated PTR name of the IP,
// preferring the domain itself or a subdomain of it (§7.3).
func (st *state) validatedName(domain string) string {
	names, err := st.r.LookupPTR(st.ctx, st.ip)
	if err != nil {
		return "unknown"
	}
	valid := st.validated(names)
	for _, n := range valid {
		if equalDomain(n, domain) {
			return n
		}
	}
	for _, n := range valid {
		if hasSuffixFold(n, "."+domain) {
			return n
		}
	}
	if len(valid) > 0 {
		return valid[0]
	}
	return "unknown"
}

// nibbles is the dotted-nibble form of an IPv6 address for %{i} (§7.3).
func nibbles(ip netip.Addr) string {
	const hex = "0123456789abcdef"
	b := ip.As16()
	out := make([]byte, 0, 63)
	for _, x := range b {
		out = append(out, hex[x>>4], '.', hex[x&0xf], '.')
	}
	return string(out[:len(out)-1])
}

// validDomain applies §4.3: labels of 1..63 octets, at least two labels,
// no domain literal.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || strings.HasPrefix(d, "[") {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

func equalDomain(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// lenient treats a name that cannot exist in the DNS (an error whose
// Temporary method says false, e.g. a label over 63 octets) as a name with
// no records, as the RFC 7208 test suite expects (§4.3, §5).
type lenient struct{ r Resolver }

func permanent(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && !t.Temporary()
}

func (l lenient) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := l.r.LookupTXT(ctx, name)
	if permanent(err) {
		return nil, nil
	}
	return v, err
}

func (l lenient) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	v, err := l.r.LookupA(ctx, name)
	if permanent(err) {
		return nil, nil
	}
	return v, err
}

func (l lenient) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	v, err := l.r.LookupAAAA(ctx, name)
	if permanent(err) {
		return nil, nil
	}
	return v, err
}

func (l lenient) LookupMX(ctx context.Context, name string) ([]string, error) {
	v, err := l.r.LookupMX(ctx, name)
	if permanent(err) {
		return nil, nil
	}
	return v, err
}

func (l lenient) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	v, err := l.r.LookupPTR(ctx, ip)
	if permanent(err) {
		return nil, nil
	}
	return v, err
}
