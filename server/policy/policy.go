// Package policy holds the administrator's filtering policy (DESIGN §4): the
// protected domains, the default settings, the ordered recipient groups with
// their overrides, lists and actions. A *Policy is immutable once built; the
// server swaps whole policies atomically.
package policy

import (
	"fmt"
	"strings"
	"time"

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
	ID       uint32
	Name     string
	Settings *Settings
	Actions  map[verdict.Status]Action
}

// Policy is one loaded policy.
type Policy struct {
	// Source is where the policy came from (a path, or "embedded defaults").
	Source string
	Loaded time.Time
	// Groups in match order; the last is the built-in group All (id 1).
	Groups []*Group
}

// Resolve returns the group of a recipient and whether it is in a protected domain.
func (p *Policy) Resolve(rcpt string) (g *Group, protected bool) {
	return p.Groups[len(p.Groups)-1], true
}

// Default returns the built-in policy: everything protected, one group All at
// Standard level, tag-only actions.
func Default() *Policy {
	all := &Group{
		ID:       1,
		Name:     "All",
		Settings: &Settings{Detection: true, Level: Standard, ProbableSpam: true, Methods: Methods{Lists: true, Obscene: true}},
		Actions: map[verdict.Status]Action{
			verdict.Spam:         {Kind: verdict.Accept, SubjectPrefix: "[!! SPAM] "},
			verdict.ProbableSpam: {Kind: verdict.Accept, SubjectPrefix: "[?? Probable Spam] "},
			verdict.Blacklisted:  {Kind: verdict.Accept, SubjectPrefix: "[!! Blacklisted] "},
		},
	}
	return &Policy{Source: "embedded defaults", Loaded: time.Now(), Groups: []*Group{all}}
}
