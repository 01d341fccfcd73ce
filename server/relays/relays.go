// Package relays finds the IP addresses a message came from: the connecting
// client of the SMTP envelope and, when configured, the hosts named in the
// newest Received headers. Addresses that say nothing about the sender —
// private, loopback, link-local, shared (CGNAT), the administrator's own
// trusted relays and clients that authenticated (SMTP AUTH: the user's own
// address at home or on the move) — are skipped. It only reads headers; it
// never queries DNS.
package relays

import (
	"net/netip"
	"strings"

	"github.com/scilla-mail/scilla/server/message"
)

// Finder finds sending IPs. It is immutable and safe for concurrent use.
type Finder struct {
	received  int
	trusted   []netip.Prefix
	checkAuth bool
}

// New returns a Finder that also reads the newest received Received headers
// (0: the envelope client only) and skips the trusted prefixes. Clients that
// authenticated are skipped unless checkAuthenticated is set.
func New(received int, trusted []netip.Prefix, checkAuthenticated bool) *Finder {
	return &Finder{received: max(received, 0), trusted: trusted, checkAuth: checkAuthenticated}
}

// shared is the RFC 6598 shared address space (carrier-grade NAT).
var shared = netip.MustParsePrefix("100.64.0.0/10")

// Skipped reports whether ip says nothing about the sender: invalid,
// private, loopback, link-local, unspecified, multicast, shared or trusted.
func (f *Finder) Skipped(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalMulticast() || shared.Contains(ip) {
		return true
	}
	for _, p := range f.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// SendingIPs returns the envelope client and the IPs of the newest Received
// headers (as many as configured), in that order, without duplicates and
// without skipped addresses. authUser is the envelope's authenticated user:
// when set, the client is a submitting user, not a relay that says anything
// about the mail, and is skipped with every Received hop from the same
// address; so is a hop whose Received header records an authenticated
// submission (RFC 3848: "with ESMTPA", "ESMTPSA", "LMTPA", "LMTPSA").
func (f *Finder) SendingIPs(client netip.Addr, authUser string, h message.Header) []netip.Addr {
	var out []netip.Addr
	var submitter netip.Addr
	if authUser != "" && !f.checkAuth {
		submitter = client.Unmap()
	}
	add := func(ip netip.Addr) {
		ip = ip.Unmap()
		if f.Skipped(ip) || (submitter.IsValid() && ip == submitter) {
			return
		}
		for _, o := range out {
			if o == ip {
				return
			}
		}
		out = append(out, ip)
	}
	add(client)
	if f.received > 0 {
		for i, v := range receivedValues(h) {
			if i >= f.received {
				break
			}
			if !f.checkAuth && authenticatedHop(v) {
				continue
			}
			if ip, ok := ParseReceived(v); ok {
				add(ip)
			}
		}
	}
	return out
}

// Origin returns the first sending IP (the envelope client unless it is
// skipped), or false when there is none.
func (f *Finder) Origin(client netip.Addr, authUser string, h message.Header) (netip.Addr, bool) {
	ips := f.SendingIPs(client, authUser, h)
	if len(ips) == 0 {
		return netip.Addr{}, false
	}
	return ips[0], true
}

// authenticatedHop reports whether a Received header's "with" clause names
// an authenticated protocol (RFC 3848: ESMTPA, ESMTPSA, LMTPA, LMTPSA).
func authenticatedHop(v string) bool {
	f := strings.Fields(asciiLower(v))
	for i := 0; i+1 < len(f); i++ {
		if f[i] != "with" {
			continue
		}
		switch strings.TrimRight(f[i+1], ";") {
		case "esmtpa", "esmtpsa", "lmtpa", "lmtpsa":
			return true
		}
		return false
	}
	return false
}

func receivedValues(h message.Header) []string {
	var vs []string
	for _, fl := range h {
		if strings.EqualFold(fl.Name, "Received") {
			vs = append(vs, fl.Raw)
		}
	}
	return vs
}

// ParseReceived returns the IP of the host a Received header says the
// message came from: the address in the "from" clause, as written by
// Postfix ("from h (h [192.0.2.1])"), Sendmail, Exim ("from [192.0.2.1]
// (helo=h)"), qmail ("from unknown (HELO h) (192.0.2.1)"), Microsoft
// ("from h (192.0.2.1) by") and others, including "IPv6:" literals.
func ParseReceived(v string) (netip.Addr, bool) {
	lower := asciiLower(v)
	i := strings.Index(lower, "from ")
	if i < 0 || (i > 0 && !isSpace(lower[i-1])) {
		return netip.Addr{}, false
	}
	clause := v[i+5:]
	// The from clause ends at the by, via, with, id or for clause, or at ";".
	end := len(clause)
	if j := strings.IndexByte(clause, ';'); j >= 0 {
		end = j
	}
	lc := asciiLower(clause[:end])
	for _, kw := range []string{" by ", " via ", " with ", " id ", " for "} {
		if j := strings.Index(lc, kw); j >= 0 && j < end {
			end = j
		}
	}
	clause = clause[:end]
	// Prefer a bracketed literal, then a parenthesised bare address, then
	// the host name itself when it is an address.
	if ip, ok := between(clause, '[', ']'); ok {
		return ip, true
	}
	if ip, ok := between(clause, '(', ')'); ok {
		return ip, true
	}
	for _, tok := range strings.FieldsFunc(clause, func(r rune) bool { return r == ' ' || r == '\t' || r == '(' || r == ')' }) {
		if ip, ok := parseIP(tok); ok {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// between finds the first address written between open and close, also
// when other words share the brackets ("(h.example [192.0.2.1] ...)").
func between(s string, open, close byte) (netip.Addr, bool) {
	for {
		i := strings.IndexByte(s, open)
		if i < 0 {
			return netip.Addr{}, false
		}
		s = s[i+1:]
		j := strings.IndexByte(s, close)
		if j < 0 {
			return netip.Addr{}, false
		}
		inner := s[:j]
		for _, tok := range strings.FieldsFunc(inner, func(r rune) bool { return r == ' ' || r == '\t' || r == '[' || r == ']' || r == '=' }) {
			if ip, ok := parseIP(tok); ok {
				return ip, true
			}
		}
	}
}

func parseIP(tok string) (netip.Addr, bool) {
	tok = strings.TrimRight(tok, ".,:")
	if len(tok) > 5 && strings.EqualFold(tok[:5], "ipv6:") {
		tok = tok[5:]
	}
	// Some MTAs append the port: "192.0.2.1:25" or "[2001:db8::1]:25".
	if ap, err := netip.ParseAddrPort(tok); err == nil {
		return ap.Addr().Unmap(), true
	}
	ip, err := netip.ParseAddr(tok)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// asciiLower lower-cases ASCII letters only, keeping byte offsets intact
// (strings.ToLower rewrites invalid UTF-8 and shifts them).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
