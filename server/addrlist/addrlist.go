// Package addrlist matches e-mail addresses and IP addresses against the
// administrator's lists: the white and black lists of the policy, the
// recipient patterns of groups and the protected domains (DESIGN §3, §4).
//
// An entry is one of:
//
//	user@example.com     one address
//	@example.com         every address at the domain (not its subdomains)
//	*                    everything
//	j*@example.com       * matches any run of characters, ? one character,
//	info?@*.example.com  in the local part and in the domain
//	@*example.com        the domain and all of its subdomains (a leading * that
//	                     is directly followed by a name stops at a dot, so it
//	                     does not cover badexample.com)
//	192.0.2.7  2001:db8::1                    one IP address
//	192.0.2.0/24  2001:db8::/32               a CIDR range
//	192.0.2.*                                 an IP written with wildcards
//
// Internationalised domains match in either form (UTF-8 or punycode).
// Matching is case-insensitive in both the local part and the domain: almost
// every mail system treats local parts that way, and a list that missed
// "John@" for "john@" would surprise the administrator. Lookups of exact
// addresses, domains, IPs and CIDR ranges are map lookups, so lists of
// 100,000 entries cost no more to match than lists of ten; only entries with
// wildcards in unusual places are tried one by one.
//
// The package deliberately knows nothing about what a list means (white,
// black, protected): callers decide that.
package addrlist

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Kind is the kind of a list entry.
type Kind int

// Entry kinds.
const (
	// All is "*": every address and every IP.
	All Kind = iota + 1
	// Address is an address pattern: user@domain, @domain, with wildcards.
	Address
	// IP is one IP address.
	IP
	// Prefix is a CIDR range.
	Prefix
	// IPPattern is an IP written with * and ? wildcards.
	IPPattern
)

// Entry is one parsed list entry.
type Entry struct {
	// Text is the entry as written.
	Text string
	Kind Kind
	// Local and Domain are the lower-cased parts of an Address entry; Local
	// is "" when the entry is "@domain".
	Local, Domain string
	// Addr is set for IP entries, Net for Prefix entries.
	Addr netip.Addr
	Net  netip.Prefix
}

// Split cuts inline text into entries at spaces, newlines, commas and
// semicolons. Text after '#' up to the end of the line is a comment.
func Split(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, strings.FieldsFunc(line, isSeparator)...)
	}
	return out
}

func isSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', ',', ';', '\v', '\f':
		return true
	}
	return false
}

// ParseEntry parses one entry. The error says what is wrong and what is allowed.
func ParseEntry(s string) (Entry, error) {
	e := Entry{Text: s}
	if s == "" {
		return e, errors.New("empty entry")
	}
	if s == "*" {
		e.Kind = All
		return e, nil
	}
	for _, r := range s {
		if r < 0x21 || unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune("<>,;\"()[]\\", r) {
			return e, fmt.Errorf("entry %q: character %q is not allowed", s, r)
		}
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		local, domain := strings.ToLower(s[:at]), asciiDomain(strings.ToLower(s[at+1:]))
		if domain == "" {
			return e, fmt.Errorf("entry %q: missing domain after @ (allowed: user@domain, @domain, *@domain, with * and ? wildcards)", s)
		}
		if err := checkDomain(domain); err != nil {
			return e, fmt.Errorf("entry %q: %w", s, err)
		}
		if strings.ContainsRune(local, '@') {
			return e, fmt.Errorf("entry %q: more than one @", s)
		}
		if local == "*" {
			local = ""
		}
		e.Kind, e.Local, e.Domain = Address, local, domain
		return e, nil
	}
	if strings.ContainsRune(s, '/') {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return e, fmt.Errorf("entry %q: not a CIDR range (allowed: 192.0.2.0/24, 2001:db8::/32)", s)
		}
		e.Kind, e.Net = Prefix, normalPrefix(p)
		return e, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return e, fmt.Errorf("entry %q: IPv6 zones are not allowed", s)
		}
		e.Kind, e.Addr = IP, a.Unmap()
		return e, nil
	}
	if strings.ContainsAny(s, "*?") && strings.ContainsAny(s, ".:") && strings.Trim(strings.ToLower(s), "0123456789abcdef.:*?") == "" {
		e.Kind, e.Domain = IPPattern, strings.ToLower(s)
		return e, nil
	}
	return e, fmt.Errorf("entry %q: not an address pattern, IP or CIDR range (allowed: user@domain, @domain, *, wildcards * and ?, 192.0.2.1, 192.0.2.0/24, 2001:db8::/32; write \"@%s\" for a whole domain)", s, s)
}

// normalPrefix masks host bits and unmaps IPv4-mapped IPv6 ranges.
func normalPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	bits := p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked()
}

func checkDomain(d string) error {
	if strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return fmt.Errorf("domain %q has an empty label", d)
	}
	for _, r := range d {
		switch {
		case r == '.' || r == '-' || r == '_' || r == '*' || r == '?':
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 0x80: // internationalised names as written
		default:
			return fmt.Errorf("domain %q: character %q is not allowed (letters, digits, '.', '-', '_', * and ?)", d, r)
		}
	}
	return nil
}

// globPat is an address pattern tried one by one.
type globPat struct {
	local  string // "" = any local part
	domain domainPat
	text   string
}

// domainPat matches a domain: exactly, as a domain-or-subdomain suffix, or as a glob.
type domainPat struct {
	exact, suffix, glob string
}

func newDomainPat(d string) domainPat {
	if !strings.ContainsAny(d, "*?") {
		return domainPat{exact: d}
	}
	if rest, ok := strings.CutPrefix(d, "*"); ok && rest != "" && rest[0] != '.' && !strings.ContainsAny(rest, "*?") {
		return domainPat{suffix: rest}
	}
	return domainPat{glob: d}
}

func (p domainPat) match(d string) bool {
	switch {
	case p.exact != "":
		return d == p.exact
	case p.suffix != "":
		return d == p.suffix || strings.HasSuffix(d, p.suffix) && d[len(d)-len(p.suffix)-1] == '.'
	}
	return Glob(p.glob, d)
}

// tail returns rest for a domain pattern "*rest" or "*.rest" with no other
// wildcard, so such patterns can be found by walking a domain's labels.
func tail(d string) string {
	rest, ok := strings.CutPrefix(d, "*")
	rest = strings.TrimPrefix(rest, ".")
	if !ok || rest == "" || strings.ContainsAny(rest, "*?") {
		return ""
	}
	return rest
}

// List is an immutable, parsed list. The zero value and nil match nothing.
// A List is safe for concurrent use.
type List struct {
	n   int
	all bool
	// Addresses.
	emails     map[string]string    // "user@domain" → entry
	domains    map[string]string    // "@domain" → entry
	suffixes   map[string]string    // "@*domain" → entry (domain and subdomains)
	localGlobs map[string][]globPat // wildcard local part at an exact domain
	tailGlobs  map[string][]globPat // domain "*rest" or "*.rest", keyed by rest
	globs      []globPat            // everything else
	// IPs.
	ips      map[netip.Addr]string
	prefixes map[int]map[netip.Prefix]string // by prefix length
	lengths  []int                           // keys of prefixes, longest first
	ipGlobs  []globPat
}

// New parses entries (each may itself hold several entries separated by
// spaces, commas, semicolons or newlines). The error lists every bad entry.
func New(entries ...string) (*List, error) {
	b := NewBuilder()
	var errs []error
	for _, text := range entries {
		for _, s := range Split(text) {
			if err := b.Add(s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return b.List(), errors.Join(errs...)
}

// MustNew is New for lists known to be valid, such as constants in tests.
func MustNew(entries ...string) *List {
	l, err := New(entries...)
	if err != nil {
		panic(err)
	}
	return l
}

// Builder builds a List entry by entry.
type Builder struct{ l *List }

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{l: &List{
		emails: map[string]string{}, domains: map[string]string{}, suffixes: map[string]string{},
		localGlobs: map[string][]globPat{}, tailGlobs: map[string][]globPat{}, ips: map[netip.Addr]string{}, prefixes: map[int]map[netip.Prefix]string{},
	}}
}

// Add parses one entry and adds it.
func (b *Builder) Add(s string) error {
	e, err := ParseEntry(s)
	if err != nil {
		return err
	}
	b.AddEntry(e)
	return nil
}

// AddEntry adds a parsed entry.
func (b *Builder) AddEntry(e Entry) {
	l := b.l
	l.n++
	switch e.Kind {
	case All:
		l.all = true
	case IP:
		l.ips[e.Addr] = e.Text
	case Prefix:
		bits := e.Net.Bits()
		if !e.Net.Addr().Is4() {
			bits += 1000 // keep IPv6 lengths apart from IPv4 ones
		}
		m := l.prefixes[bits]
		if m == nil {
			m = map[netip.Prefix]string{}
			l.prefixes[bits] = m
			l.lengths = append(l.lengths, bits)
			slices.SortFunc(l.lengths, func(a, b int) int { return b - a })
		}
		m[e.Net] = e.Text
	case IPPattern:
		l.ipGlobs = append(l.ipGlobs, globPat{local: e.Domain, text: e.Text})
	case Address:
		dp := newDomainPat(e.Domain)
		localWild := strings.ContainsAny(e.Local, "*?")
		switch {
		case e.Local == "" && dp.exact != "":
			l.domains[dp.exact] = e.Text
		case e.Local == "" && dp.suffix != "":
			l.suffixes[dp.suffix] = e.Text
		case !localWild && dp.exact != "":
			l.emails[e.Local+"@"+dp.exact] = e.Text
		case dp.exact != "":
			l.localGlobs[dp.exact] = append(l.localGlobs[dp.exact], globPat{local: e.Local, domain: dp, text: e.Text})
		case tail(e.Domain) != "":
			t := tail(e.Domain)
			l.tailGlobs[t] = append(l.tailGlobs[t], globPat{local: e.Local, domain: dp, text: e.Text})
		default:
			l.globs = append(l.globs, globPat{local: e.Local, domain: dp, text: e.Text})
		}
	}
}

// List returns the built list. The builder must not be used afterwards.
func (b *Builder) List() *List {
	l := b.l
	b.l = nil
	return l
}

// Len is the number of entries.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return l.n
}

// Merge returns a list holding the entries of every list (nil lists are skipped).
func Merge(lists ...*List) *List {
	b := NewBuilder()
	out := b.l
	for _, l := range lists {
		if l == nil {
			continue
		}
		out.n += l.n
		out.all = out.all || l.all
		for k, v := range l.emails {
			out.emails[k] = v
		}
		for k, v := range l.domains {
			out.domains[k] = v
		}
		for k, v := range l.suffixes {
			out.suffixes[k] = v
		}
		for k, v := range l.localGlobs {
			out.localGlobs[k] = append(out.localGlobs[k], v...)
		}
		for k, v := range l.tailGlobs {
			out.tailGlobs[k] = append(out.tailGlobs[k], v...)
		}
		out.globs = append(out.globs, l.globs...)
		for k, v := range l.ips {
			out.ips[k] = v
		}
		for bits, m := range l.prefixes {
			dst := out.prefixes[bits]
			if dst == nil {
				dst = map[netip.Prefix]string{}
				out.prefixes[bits] = dst
				out.lengths = append(out.lengths, bits)
			}
			for k, v := range m {
				dst[k] = v
			}
		}
		out.ipGlobs = append(out.ipGlobs, l.ipGlobs...)
	}
	slices.SortFunc(out.lengths, func(a, b int) int { return b - a })
	return b.List()
}

// MatchAddress reports whether the address is on the list and which entry
// matched. Angle brackets and surrounding space are ignored; the empty
// address (the null sender) matches nothing.
func (l *List) MatchAddress(addr string) (entry string, ok bool) {
	if l == nil || l.n == 0 {
		return "", false
	}
	addr = strings.TrimSpace(addr)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	if addr == "" {
		return "", false
	}
	if l.all {
		return "*", true
	}
	addr = lower(addr)
	local, domain := addr, ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	domain = asciiDomain(strings.TrimSuffix(domain, "."))
	if domain != "" {
		if e, ok := l.emails[local+"@"+domain]; ok {
			return e, true
		}
		if e, ok := l.domains[domain]; ok {
			return e, true
		}
		if len(l.suffixes) > 0 {
			for d := domain; ; {
				if e, ok := l.suffixes[d]; ok {
					return e, true
				}
				i := strings.IndexByte(d, '.')
				if i < 0 {
					break
				}
				d = d[i+1:]
			}
		}
		for _, g := range l.localGlobs[domain] {
			if Glob(g.local, local) {
				return g.text, true
			}
		}
		if e, ok := l.matchTail(local, domain, false); ok {
			return e, true
		}
	}
	for _, g := range l.globs {
		if (g.local == "" || Glob(g.local, local)) && g.domain.match(domain) {
			return g.text, true
		}
	}
	return "", false
}

// MatchDomain reports whether any address at the domain is covered by an
// entry that does not restrict the local part (@domain, @*domain, *, and
// domain wildcards). It is how protected domains are matched.
func (l *List) MatchDomain(domain string) (entry string, ok bool) {
	if l == nil || l.n == 0 {
		return "", false
	}
	if l.all {
		return "*", true
	}
	domain = asciiDomain(strings.TrimSuffix(lower(domain), "."))
	if e, ok := l.domains[domain]; ok {
		return e, true
	}
	for d := domain; ; {
		if e, ok := l.suffixes[d]; ok {
			return e, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	if e, ok := l.matchTail("", domain, true); ok {
		return e, true
	}
	for _, g := range l.globs {
		if g.local == "" && g.domain.match(domain) {
			return g.text, true
		}
	}
	return "", false
}

// matchTail tries the patterns indexed under each label suffix of domain.
// With anyLocalOnly only patterns that do not restrict the local part count.
func (l *List) matchTail(local, domain string, anyLocalOnly bool) (string, bool) {
	if len(l.tailGlobs) == 0 {
		return "", false
	}
	for d := domain; ; {
		for _, g := range l.tailGlobs[d] {
			if anyLocalOnly && g.local != "" {
				continue
			}
			if (g.local == "" || Glob(g.local, local)) && g.domain.match(domain) {
				return g.text, true
			}
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		d = d[i+1:]
	}
}

// MatchIP reports whether the IP is on the list and which entry matched.
// IPv4-mapped IPv6 addresses match IPv4 entries. The zero Addr matches nothing.
func (l *List) MatchIP(ip netip.Addr) (entry string, ok bool) {
	if l == nil || l.n == 0 || !ip.IsValid() {
		return "", false
	}
	if l.all {
		return "*", true
	}
	ip = ip.Unmap().WithZone("")
	if e, ok := l.ips[ip]; ok {
		return e, true
	}
	for _, bits := range l.lengths {
		n := bits
		if n >= 1000 {
			if ip.Is4() {
				continue
			}
			n -= 1000
		} else if !ip.Is4() {
			continue
		}
		p, err := ip.Prefix(n)
		if err != nil {
			continue
		}
		if e, ok := l.prefixes[bits][p]; ok {
			return e, true
		}
	}
	if len(l.ipGlobs) > 0 {
		s := ip.String()
		for _, g := range l.ipGlobs {
			if Glob(g.local, s) {
				return g.text, true
			}
		}
	}
	return "", false
}

// asciiDomain writes the internationalised labels of a lower-case domain
// in their ASCII (punycode, RFC 5891) form, so "bücher.example" and
// "xn--bcher-kva.example" are the same domain. Labels with wildcards and
// labels IDNA refuses stay as written.
func asciiDomain(d string) string {
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return d
	}
	labels := strings.Split(d, ".")
	for i, l := range labels {
		if strings.ContainsAny(l, "*?") {
			continue
		}
		if a, err := idna.Lookup.ToASCII(l); err == nil && a != "" {
			labels[i] = a
		}
	}
	return strings.Join(labels, ".")
}

// lower lower-cases s without allocating when it is already lower case ASCII.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// Glob reports whether s matches pattern, where * matches any run of
// characters (including none) and ? exactly one character. It runs in
// O(len(pattern)·len(s)) at worst, never exponentially.
func Glob(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
