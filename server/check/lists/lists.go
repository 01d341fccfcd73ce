// Package lists is the white and black list check (DESIGN §3, §4): the
// envelope sender, the header From addresses and the sending IPs are looked
// up in the group's effective lists. A white list hit forces TRUSTED, a black
// list hit BLACKLISTED; the engine ranks TRUSTED above BLACKLISTED, so white
// beats black whatever else matched.
//
// The white IP list is matched against the connecting client only: Received
// headers below our own can be forged by the sender, and a forged relay must
// not buy a white listing. The black IP list also covers the relay IPs of
// the newest Settings.ReceivedHeaders Received headers, where a forged entry
// can only hurt the forger.
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

// Check is the list check. It is stateless: the lists live in the policy.
type Check struct{}

// New returns the list check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "lists" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
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
		for _, ip := range RelayIPs(in.Msg, s.ReceivedHeaders) {
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

var receivedIPRE = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]`)

// RelayIPs returns the IPs of the "from" clauses of the newest n Received
// headers (RFC 5321 §4.4: "from host (name [ip])"), newest first.
func RelayIPs(msg *message.Message, n int) []netip.Addr {
	if msg == nil || n <= 0 {
		return nil
	}
	var out []netip.Addr
	for _, f := range msg.Header {
		if !strings.EqualFold(f.Name, "Received") {
			continue
		}
		if n--; n < 0 {
			break
		}
		from := f.Raw
		// Only the from clause names the sending host; "by" names the receiver.
		if j := strings.Index(strings.ToLower(from), " by "); j >= 0 {
			from = from[:j]
		}
		for _, m := range receivedIPRE.FindAllStringSubmatch(from, 2) {
			if ip, err := netip.ParseAddr(m[1]); err == nil {
				out = append(out, ip.Unmap())
				break
			}
		}
	}
	return out
}
