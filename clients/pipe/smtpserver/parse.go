package smtpserver

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Reply is an SMTP reply for one command or one recipient.
type Reply struct {
	Code     int
	Enhanced string
	Text     string
}

// String formats the reply line without CRLF.
func (r Reply) String() string {
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	return s + " " + r.Text
}

// OK reports a 2xx reply.
func (r Reply) OK() bool { return r.Code/100 == 2 }

// Temporary reports a 4xx reply.
func (r Reply) Temporary() bool { return r.Code/100 == 4 }

// XForward holds the XFORWARD attributes (Postfix XFORWARD_README): the
// original client as the MTA before the filter saw it. Empty means not sent
// or unavailable.
type XForward struct {
	Name, Addr, Port, Proto, Helo, Ident, Source string
}

// XForwardAttributes is what the server advertises after XFORWARD in EHLO.
const XForwardAttributes = "NAME ADDR PORT PROTO HELO IDENT SOURCE"

var errSyntax = errors.New("syntax error")

// parseCommand splits a command line (without CRLF) into the upper-case
// verb and its argument.
func parseCommand(line string) (verb, arg string) {
	line = strings.TrimRight(line, " \t")
	verb, arg, _ = strings.Cut(line, " ")
	return strings.ToUpper(verb), strings.TrimLeft(arg, " ")
}

// parsePath parses the argument of MAIL or RCPT: the given prefix
// ("FROM:" or "TO:", case-insensitive), an address in angle brackets
// (RFC 5321 §4.1.2; a space after the colon is tolerated) and ESMTP
// parameters. The address comes back without brackets.
func parsePath(arg, prefix string) (addr string, params map[string]string, err error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, errSyntax
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", nil, errSyntax
	}
	// Find the closing bracket outside a quoted local part.
	end, quoted := -1, false
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return "", nil, errSyntax
	}
	addr = rest[1:end]
	// Source routes (@a,@b:user@c) are ignored as RFC 5321 allows.
	if strings.HasPrefix(addr, "@") {
		if i := strings.IndexByte(addr, ':'); i >= 0 {
			addr = addr[i+1:]
		}
	}
	if strings.ContainsAny(addr, "\r\n\x00<>") {
		return "", nil, errSyntax
	}
	params = map[string]string{}
	for _, p := range strings.Fields(rest[end+1:]) {
		k, v, _ := strings.Cut(p, "=")
		if k == "" {
			return "", nil, errSyntax
		}
		params[strings.ToUpper(k)] = v
	}
	return addr, params, nil
}

// parseXForward parses "NAME=x ADDR=y ..." into fields of xf. Values are
// xtext (RFC 3461 §4); [UNAVAILABLE] and [TEMPUNAVAIL] mean empty.
func parseXForward(arg string, xf *XForward) error {
	fields := strings.Fields(arg)
	if len(fields) == 0 {
		return errors.New("XFORWARD needs attributes")
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return errors.New("bad XFORWARD attribute " + strconv.Quote(f))
		}
		v, err := xtextDecode(v)
		if err != nil {
			return errors.New("bad XFORWARD value for " + strings.ToUpper(k))
		}
		if v == "[UNAVAILABLE]" || v == "[TEMPUNAVAIL]" {
			v = ""
		}
		switch strings.ToUpper(k) {
		case "NAME":
			xf.Name = v
		case "ADDR":
			if v != "" {
				a := v
				if len(a) > 5 && strings.EqualFold(a[:5], "IPV6:") {
					a = a[5:]
				}
				ip, err := netip.ParseAddr(a)
				if err != nil {
					return errors.New("bad XFORWARD address " + strconv.Quote(v))
				}
				v = ip.String()
			}
			xf.Addr = v
		case "PORT":
			if v != "" {
				if _, err := strconv.ParseUint(v, 10, 16); err != nil {
					return errors.New("bad XFORWARD port " + strconv.Quote(v))
				}
			}
			xf.Port = v
		case "PROTO":
			xf.Proto = v
		case "HELO":
			xf.Helo = v
		case "IDENT":
			xf.Ident = v
		case "SOURCE":
			xf.Source = v
		default:
			return errors.New("bad XFORWARD attribute name " + strconv.Quote(k))
		}
	}
	return nil
}

// xtextDecode decodes RFC 3461 xtext ("+2B" is "+").
func xtextDecode(s string) (string, error) {
	if !strings.Contains(s, "+") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			return "", errSyntax
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", errSyntax
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}
