// Package policy holds the administrator's filtering policy (DESIGN §4): the
// protected domains, the default settings, the ordered recipient groups with
// their overrides, lists and actions. A *Policy is immutable once built; the
// server swaps whole policies atomically.
package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/server/addrlist"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Level is the detection level; higher levels lower the thresholds.
type Level int

// Detection levels.
const (
	Minimum Level = iota + 1
	Standard
	High
	Maximum
)

var levelNames = map[Level]string{Minimum: "minimum", Standard: "standard", High: "high", Maximum: "maximum"}

// String returns the config spelling.
func (l Level) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses the config spelling.
func ParseLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if strings.EqualFold(s, n) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown detection level %q (allowed: minimum, standard, high, maximum)", s)
}

// Thresholds returns the score at or above which a message is PROBABLE_SPAM
// and SPAM at this level. Every level's thresholds are at or below the
// previous level's, so raising the level never makes a status milder.
func (l Level) Thresholds() (probable, spam float64) {
	switch l {
	case Minimum:
		return 7, 9
	case High:
		return 3.5, 5
	case Maximum:
		return 2.5, 4
	default:
		return 4.5, 6
	}
}

// Settings are the effective recognition settings of one group.
type Settings struct {
	// Detection false means the group is not filtered: status TRUSTED.
	Detection bool
	Level     Level
	// ProbableSpam false turns PROBABLE_SPAM into NOT_DETECTED.
	ProbableSpam bool
	Methods      Methods
	DNSBL        []DNSBLService
	URIBL        []URIBLService
	// White and Black are the effective sender lists (addresses and IPs):
	// the default policy's lists plus the group's own, unless the group
	// does not inherit them. Nil when empty.
	White, Black *addrlist.List
}

// Action is what happens for one status in one group.
type Action struct {
	Kind verdict.ActionKind
	// Addresses for Copy and Redirect.
	Addresses []string
	// SubjectPrefix is prepended to the Subject, e.g. "[!! SPAM] ".
	SubjectPrefix string
	// Header is the administrator's X-Spamtest-Header text, "" for none.
	Header string
	// RejectText is the SMTP text for Reject.
	RejectText string
}

// Group is one recipient group with its effective settings and actions.
type Group struct {
	// ID is 1 for the built-in group All, 2..99999999 for the others.
	ID   uint32
	Name string
	// Comment is the administrator's note.
	Comment string
	// Recipients are the address patterns of the group; nil for All.
	Recipients *addrlist.List
	Settings   *Settings
	// Actions has an entry for every status.
	Actions map[verdict.Status]Action
}

// Texts are the texts the mail server uses when it refuses mail.
type Texts struct {
	// Reject is the default SMTP text of a reject action.
	Reject string
	// Bounce is the text of the bounce a client sends when only some of a
	// message's recipients reject it.
	Bounce string
}

// Policy is one loaded policy. It is immutable: build a new one to change it.
type Policy struct {
	// Source is where the policy came from (a path, or "embedded defaults").
	Source string
	Loaded time.Time
	// Groups in match order; the last is the built-in group All (id 1).
	Groups []*Group
	// Protected are the protected domains; nil protects every domain.
	Protected *addrlist.List
	Texts     Texts
}

// All returns the built-in group All.
func (p *Policy) All() *Group { return p.Groups[len(p.Groups)-1] }

// Group returns the group with the id, or nil.
func (p *Policy) Group(id uint32) *Group {
	for _, g := range p.Groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// Protects reports whether mail for the domain is filtered.
func (p *Policy) Protects(domain string) bool {
	if p.Protected == nil {
		return true
	}
	_, ok := p.Protected.MatchDomain(domain)
	return ok
}

// Resolve returns the group of a recipient — the first group whose
// recipient patterns match, else All — and whether the recipient is in a
// protected domain. Unprotected recipients still get their group, so their
// NOT_PROTECTED result carries its id.
func (p *Policy) Resolve(rcpt string) (g *Group, protected bool) {
	addr := strings.TrimSpace(rcpt)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	domain := ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		domain = addr[at+1:]
	}
	protected = p.Protected == nil || (domain != "" && p.Protects(domain))
	for _, g := range p.Groups[:len(p.Groups)-1] {
		if _, ok := g.Recipients.MatchAddress(addr); ok {
			return g, protected
		}
	}
	return p.All(), protected
}

// defaultTexts are the texts used when the policy file sets none; never modified.
var defaultTexts = Texts{
	Reject: "Message rejected as spam",
	Bounce: "Your message was not delivered to the recipients below because it was classified as spam.",
}

// defaultSettings are the built-in recognition settings every policy starts from.
func defaultSettings() Settings {
	return Settings{Detection: true, Level: Standard, ProbableSpam: true, Methods: Methods{Lists: true, Obscene: true}}
}

// defaultActions are the built-in, non-destructive actions: every status is
// delivered; spam-like statuses get a subject prefix.
func defaultActions() map[verdict.Status]Action {
	return map[verdict.Status]Action{
		verdict.NotDetected:  {Kind: verdict.Accept},
		verdict.ProbableSpam: {Kind: verdict.Accept, SubjectPrefix: "[?? Probable Spam] ", RejectText: defaultTexts.Reject},
		verdict.Spam:         {Kind: verdict.Accept, SubjectPrefix: "[!! SPAM] ", RejectText: defaultTexts.Reject},
		verdict.Formal:       {Kind: verdict.Accept, RejectText: defaultTexts.Reject},
		verdict.Trusted:      {Kind: verdict.Accept},
		verdict.Blacklisted:  {Kind: verdict.Accept, SubjectPrefix: "[!! Blacklisted] ", RejectText: defaultTexts.Reject},
	}
}

// Default returns the built-in policy: everything protected, one group All at
// Standard level, tag-only actions.
func Default() *Policy {
	st := defaultSettings()
	all := &Group{ID: 1, Name: "All", Settings: &st, Actions: defaultActions()}
	return &Policy{Source: "embedded defaults", Loaded: time.Now(), Groups: []*Group{all}, Texts: defaultTexts}
}
