package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every record syntax error (a permerror).
var ErrSyntax = errors.New("spf: syntax error")

// Qualifier is the result a matching mechanism gives (RFC 7208 §4.6.2).
type Qualifier byte

// Qualifiers.
const (
	QPass     Qualifier = '+'
	QFail     Qualifier = '-'
	QSoftFail Qualifier = '~'
	QNeutral  Qualifier = '?'
)

// Result of the qualifier.
func (q Qualifier) Result() Result {
	switch q {
	case QFail:
		return Fail
	case QSoftFail:
		return SoftFail
	case QNeutral:
		return Neutral
	}
	return Pass
}

// Mechanism is one directive of a record.
type Mechanism struct {
	Qualifier Qualifier
	// Kind is "all", "include", "a", "mx", "ptr", "ip4", "ip6" or "exists".
	Kind string
	// Domain is the unexpanded domain-spec, "" when absent.
	Domain string
	// Net is the network of ip4 and ip6.
	Net netip.Prefix
	// V4Len and V6Len are the CIDR lengths of a and mx (32 and 128 when absent).
	V4Len, V6Len int
}

func (m Mechanism) String() string {
	s := m.Kind
	if m.Qualifier != QPass {
		s = string(m.Qualifier) + s
	}
	switch m.Kind {
	case "ip4", "ip6":
		return s + ":" + m.Net.String()
	}
	if m.Domain != "" {
		s += ":" + m.Domain
	}
	if m.Kind == "a" || m.Kind == "mx" {
		if m.V4Len != 32 {
			s += "/" + strconv.Itoa(m.V4Len)
		}
		if m.V6Len != 128 {
			s += "//" + strconv.Itoa(m.V6Len)
		}
	}
	return s
}

// Record is a parsed SPF record.
type Record struct {
	Mechanisms []Mechanism
	// Redirect and Exp are the unexpanded domain-specs of the modifiers.
	Redirect, Exp string
}

// IsSPF reports whether a TXT record is an SPF version 1 record (§4.5):
// "v=spf1" alone or followed by a space, case-insensitively.
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// Parse parses an SPF record (the whole TXT string, starting "v=spf1").
// Any syntax error anywhere makes the record a permerror (§4.6).
func Parse(txt string) (*Record, error) {
	if !IsSPF(txt) {
		return nil, fmt.Errorf("%w: not an spf1 record", ErrSyntax)
	}
	r := &Record{}
	var haveRedirect, haveExp bool
	// Terms are separated by spaces only (§4.6.1, 1*SP).
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" {
			continue
		}
		if name, value, ok := modifier(term); ok {
			switch strings.ToLower(name) {
			case "redirect":
				if haveRedirect {
					return nil, fmt.Errorf("%w: redirect given twice", ErrSyntax)
				}
				haveRedirect, r.Redirect = true, value
				if err := checkDomainSpec(value); err != nil {
					return nil, err
				}
			case "exp":
				if haveExp {
					return nil, fmt.Errorf("%w: exp given twice", ErrSyntax)
				}
				haveExp, r.Exp = true, value
				if err := checkDomainSpec(value); err != nil {
					return nil, err
				}
			default:
				// Unknown modifiers are ignored, but their value must
				// still be a valid macro-string (§6).
				if _, err := parseMacro(value, false); err != nil {
					return nil, err
				}
			}
			continue
		}
		m, err := parseMechanism(term)
		if err != nil {
			return nil, err
		}
		r.Mechanisms = append(r.Mechanisms, m)
	}
	return r, nil
}

// modifier splits name=value when term is a modifier (§4.6.1):
// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
func modifier(term string) (name, value string, ok bool) {
	i := strings.IndexByte(term, '=')
	if i <= 0 {
		return "", "", false
	}
	name = term[:i]
	if !isAlpha(name[0]) {
		return "", "", false
	}
	for j := 1; j < len(name); j++ {
		c := name[j]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return name, term[i+1:], true
}

func parseMechanism(term string) (Mechanism, error) {
	m := Mechanism{Qualifier: QPass, V4Len: 32, V6Len: 128}
	switch term[0] {
	case '+', '-', '~', '?':
		m.Qualifier = Qualifier(term[0])
		term = term[1:]
	}
	name, arg := term, ""
	hasArg := false
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name, arg = term[:i], term[i:]
		hasArg = true
	}
	m.Kind = strings.ToLower(name)
	bad := func(why string) (Mechanism, error) {
		return Mechanism{}, fmt.Errorf("%w: %s in %q", ErrSyntax, why, term)
	}
	switch m.Kind {
	case "all":
		if hasArg {
			return bad("all takes no argument")
		}
	case "include", "exists":
		if !strings.HasPrefix(arg, ":") || len(arg) == 1 {
			return bad(m.Kind + " needs a domain")
		}
		m.Domain = arg[1:]
		if err := checkDomainSpec(m.Domain); err != nil {
			return Mechanism{}, err
		}
	case "ptr":
		if hasArg {
			if !strings.HasPrefix(arg, ":") || len(arg) == 1 {
				return bad("ptr takes only a domain")
			}
			m.Domain = arg[1:]
			if err := checkDomainSpec(m.Domain); err != nil {
				return Mechanism{}, err
			}
		}
	case "a", "mx":
		spec, cidr := arg, ""
		// The dual-cidr-length follows the last "/" run that is all digits
		// and slashes, e.g. "a:example.com/24//64".
		if i := cidrStart(arg); i >= 0 {
			spec, cidr = arg[:i], arg[i:]
		}
		if spec != "" {
			if !strings.HasPrefix(spec, ":") || len(spec) == 1 {
				return bad("bad domain")
			}
			m.Domain = spec[1:]
			if err := checkDomainSpec(m.Domain); err != nil {
				return Mechanism{}, err
			}
		}
		if cidr != "" {
			v4, v6, err := parseDualCIDR(cidr)
			if err != nil {
				return bad(err.Error())
			}
			m.V4Len, m.V6Len = v4, v6
		}
	case "ip4":
		if !strings.HasPrefix(arg, ":") {
			return bad("ip4 needs a network")
		}
		addr, bits, err := splitCIDR(arg[1:], 32)
		if err != nil {
			return bad(err.Error())
		}
		ip, ok := parseIP4(addr)
		if !ok {
			return bad("bad IPv4 address")
		}
		m.Net = netip.PrefixFrom(ip, bits).Masked()
	case "ip6":
		if !strings.HasPrefix(arg, ":") {
			return bad("ip6 needs a network")
		}
		addr, bits, err := splitCIDR(arg[1:], 128)
		if err != nil {
			return bad(err.Error())
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil || !ip.Is6() || ip.Zone() != "" || !strings.Contains(addr, ":") {
			return bad("bad IPv6 address")
		}
		m.Net = netip.PrefixFrom(ip, bits).Masked()
	default:
		return bad("unknown mechanism")
	}
	return m, nil
}

// cidrStart returns where a trailing dual-cidr-length starts in arg, or -1.
func cidrStart(arg string) int {
	i := len(arg)
	for i > 0 && (isDigit(arg[i-1]) || arg[i-1] == '/') {
		i--
	}
	j := strings.IndexByte(arg[i:], '/')
	if j < 0 {
		return -1
	}
	return i + j
}

// parseDualCIDR parses "/24", "//64" or "/24//64" (§5.6).
func parseDualCIDR(s string) (v4, v6 int, err error) {
	v4, v6 = 32, 128
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		v6, err = cidrLen(rest, 128)
		return v4, v6, err
	}
	s = s[1:]
	p4, p6, both := strings.Cut(s, "//")
	if v4, err = cidrLen(p4, 32); err != nil {
		return 0, 0, err
	}
	if both {
		if v6, err = cidrLen(p6, 128); err != nil {
			return 0, 0, err
		}
	}
	return v4, v6, nil
}

// cidrLen parses a CIDR length: "0" or digits without a leading zero, at most max.
func cidrLen(s string, max int) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad CIDR length %q", s)
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fmt.Errorf("bad CIDR length %q", s)
		}
	}
	n, _ := strconv.Atoi(s)
	if n > max {
		return 0, fmt.Errorf("CIDR length %d over %d", n, max)
	}
	return n, nil
}

func splitCIDR(s string, max int) (string, int, error) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return s, max, nil
	}
	n, err := cidrLen(s[i+1:], max)
	return s[:i], n, err
}

// parseIP4 parses dotted-quad with the §4.6.1 qnum rules (no leading zeros).
func parseIP4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return netip.Addr{}, false
		}
		n := 0
		for j := 0; j < len(p); j++ {
			if !isDigit(p[j]) {
				return netip.Addr{}, false
			}
			n = n*10 + int(p[j]-'0')
		}
		if n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// checkDomainSpec checks domain-spec = macro-string domain-end (§7.1):
// it must end in a macro or in "." and a top label that is not all digits.
func checkDomainSpec(spec string) error {
	toks, err := parseMacro(spec, false)
	if err != nil {
		return err
	}
	if len(toks) > 0 && toks[len(toks)-1].letter != 0 {
		return nil
	}
	lit := ""
	if len(toks) > 0 {
		lit = toks[len(toks)-1].lit
	}
	lit = strings.TrimSuffix(lit, ".")
	i := strings.LastIndexByte(lit, '.')
	if i < 0 {
		// The whole literal is one label: valid only after a macro.
		if len(toks) < 2 {
			return fmt.Errorf("%w: domain %q has no top-level label", ErrSyntax, spec)
		}
		return fmt.Errorf("%w: domain %q does not end in a top-level label", ErrSyntax, spec)
	}
	if !isTopLabel(lit[i+1:]) {
		return fmt.Errorf("%w: domain %q ends in a bad top-level label", ErrSyntax, spec)
	}
	return nil
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(l string) bool {
	if l == "" {
		return false
	}
	alpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			if i == 0 || i == len(l)-1 {
				return false
			}
			alpha = true
		default:
			return false
		}
	}
	return alpha
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
