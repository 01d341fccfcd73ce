// Package lists is the white and black list check (DESIGN §3, §4): the
// envelope sender, the header From addresses and the sending IPs are looked
// up in the group's effective lists. A white list hit forces TRUSTED, a black
// list hit BLACKLISTED; the engine ranks TRUSTED above BLACKLISTED, so white
// beats black whatever else matched.
//
// The white IP list is matched against the connecting client only: Received
// headers below our own can be forged by the sender, and a forged relay must
// not buy a white listing. The black IP list also covers the sending IPs the
// DNS checks use (relays.Finder: the newest dns.received_headers_to_parse
// Received headers, without private and trusted relays), where a forged
// entry can only hurt the forger.
package lists

import (
	"context"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Sign names.
const (
	SignWhiteEmail = "WHITE_EMAIL_LIST"
	SignWhiteIP    = "WHITE_IP_LIST"
	SignBlackEmail = "BLACK_EMAIL_LIST"
	SignBlackIP    = "BLACK_IP_LIST"
)

// Methods for X-SpamTest-Method.
const (
	MethodWhiteEmail = "white email list"
	MethodWhiteIP    = "white ip list"
	MethodBlackEmail = "black email list"
	MethodBlackIP    = "black ip list"
)

// Check is the list check. The lists live in the policy; the check only
// knows how to find the sending IPs.
type Check struct{ sending *relays.Finder }

// New returns the list check; sending finds the relay IPs for the black IP
// list (nil: the connecting client only).
func New(sending *relays.Finder) *Check { return &Check{sending: sending} }

// Name implements engine.Check.
func (*Check) Name() string { return "lists" }

// Run implements engine.Check.
func (c *Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	s := in.Group.Settings
	if !s.Methods.Lists || (s.White == nil && s.Black == nil) {
		return engine.Result{}, nil
	}
	senders := Senders(in.Env, in.Msg)
	if s.White != nil {
		for _, a := range senders {
			if e, ok := s.White.MatchAddress(a.Addr); ok {
				return result(SignWhiteEmail, -100, MethodWhiteEmail, verdict.Trusted, fmt.Sprintf("%s %s is on the white list (%s)", a.Where, a.Addr, e)), nil
			}
		}
		if e, ok := s.White.MatchIP(in.Env.ClientIP); ok {
			return result(SignWhiteIP, -100, MethodWhiteIP, verdict.Trusted, fmt.Sprintf("client IP %s is on the white list (%s)", in.Env.ClientIP, e)), nil
		}
	}
	if s.Black != nil {
		for _, a := range senders {
			if e, ok := s.Black.MatchAddress(a.Addr); ok {
				return result(SignBlackEmail, 100, MethodBlackEmail, verdict.Blacklisted, fmt.Sprintf("%s %s is on the black list (%s)", a.Where, a.Addr, e)), nil
			}
		}
		if e, ok := s.Black.MatchIP(in.Env.ClientIP); ok {
			return result(SignBlackIP, 100, MethodBlackIP, verdict.Blacklisted, fmt.Sprintf("client IP %s is on the black list (%s)", in.Env.ClientIP, e)), nil
		}
		for _, ip := range c.relayIPs(in) {
			if e, ok := s.Black.MatchIP(ip); ok {
				return result(SignBlackIP, 100, MethodBlackIP, verdict.Blacklisted, fmt.Sprintf("relay IP %s is on the black list (%s)", ip, e)), nil
			}
		}
	}
	return engine.Result{}, nil
}

func result(name string, score float64, method string, st verdict.Status, desc string) engine.Result {
	return engine.Result{Signs: []engine.Sign{{Name: name, Score: score, Desc: desc, Method: method, Status: st}}}
}

// Sender is one sender address and where it was found.
type Sender struct {
	// Where is "envelope sender" or "From".
	Where string
	Addr  string
}

// Senders returns the envelope sender and the header From addresses, in
// that order, without duplicates. The null sender is skipped.
func Senders(env *engine.Envelope, msg *message.Message) []Sender {
	var out []Sender
	seen := map[string]bool{}
	add := func(where, a string) {
		a = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(a), "<"), ">"))
		if a == "" || seen[strings.ToLower(a)] {
			return
		}
		seen[strings.ToLower(a)] = true
		out = append(out, Sender{where, a})
	}
	if env != nil {
		add("envelope sender", env.MailFrom)
	}
	if msg != nil {
		for _, from := range msg.Header.Values("From") {
			for _, a := range fromAddresses(from) {
				add("From", a)
			}
		}
	}
	return out
}

var addrRE = regexp.MustCompile(`[^\s<>"(),;:]+@[^\s<>"(),;:]+`)

// fromAddresses extracts the addresses of a From value, leniently: spam
// often has From fields net/mail refuses.
func fromAddresses(v string) []string {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	return addrRE.FindAllString(v, 8)
}

// relayIPs are the sending IPs after the connecting client.
func (c *Check) relayIPs(in *engine.Input) []netip.Addr {
	if c.sending == nil || in.Msg == nil {
		return nil
	}
	// The administrator's lists name addresses whatever the client did:
	// an authenticated submitter is not exempt from them.
	ips := c.sending.SendingIPs(in.Env.ClientIP, "", in.Msg.Header)
	if len(ips) > 0 && ips[0] == in.Env.ClientIP.Unmap() {
		ips = ips[1:]
	}
	return ips
}
