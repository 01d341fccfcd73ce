package headers

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/lookalike"
)

// lookalikeDomain reports a From or Reply-To domain made to be taken for a
// recipient's own domain or a brand's: the same letters but for those a
// reader does not tell apart (exarnple.com, brandt-keiler.de, paypa1.com,
// ollermatevs.com, аpple.com in Cyrillic), a doubled or dropped double letter, a hyphen
// added or removed, or two neighbouring letters swapped; for a recipient's
// own long name also a letter more or less (lookalike.OneLetterApart). Business e-mail
// compromise and invoice fraud write from such domains; a legitimate sender
// has no reason to own one. A sister domain with the same name under
// another suffix (acme.de to acme.nl) is not a lookalike, but the name with
// its own suffix hyphened on (acme-de.com) is (suffixed), the name under
// .co (lookalike.CoSwapped), and the
// recipient's with a company form (acme-gmbh.com, legalFormed) or a
// plural's "s" more or less (lookalike.PluralApart). Domains
// the text names count too, the genuine supplier's in a hijacked thread,
// but only for a replaced or swapped letter or such a suffix.
func lookalikeDomain(x *info) bool {
	senders := x.foreignSenderDomains()
	if len(senders) == 0 {
		return false
	}
	targets := x.recipientDomains()
	protected := x.envelopeDomains()
	rcpts := make([]skeletonLabel, len(targets))
	for i, t := range targets {
		l, _, _ := strings.Cut(t, ".")
		rcpts[i] = skeletonLabel{l, lookalike.Skeleton(l)}
	}
	for _, d := range senders {
		label, _, _ := strings.Cut(d, ".")
		sk := lookalike.Skeleton(label)
		for i, t := range rcpts {
			if lookalike.Same(label, sk, t.label, t.skeleton) || lookalike.OneLetterApart(sk, t.skeleton) || lookalike.Suffixed(label, t.label, targets[i]) ||
				lookalike.CoSwapped(d, targets[i]) ||
				slices.Contains(protected, targets[i]) && (legalFormed(label, t.label) || lookalike.PluralApart(sk, t.skeleton)) {
				return true
			}
		}
		for _, b := range x.brands.labels {
			if lookalike.Same(label, sk, b.label, b.skeleton) && !x.brands.owns(d) {
				return true
			}
		}
		// A domain the text names, in a link or an address (the real
		// supplier's, quoted from a hijacked thread or its signature),
		// counts only when a letter was replaced or two swapped: a company
		// may write from acmegroup.com and link to acme-group.com.
		n := utf8.RuneCountInString(label)
		for _, m := range x.mentionedDomains() {
			ml, _, _ := strings.Cut(m, ".")
			if m != d && (utf8.RuneCountInString(ml) == n && lookalike.Same(label, sk, ml, lookalike.Skeleton(ml)) || lookalike.Suffixed(label, ml, m)) {
				return true
			}
		}
	}
	return false
}

// legalForms are the company forms fraud hyphens onto the name of the
// company it writes to (birsig-treuhand-ag.com to staff of
// birsig-treuhand.ch).
var legalForms = []string{"llp", "llc", "ltd", "inc", "corp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "sl", "bv", "nv", "ab", "oy", "as", "aps", "kft", "doo", "pty"}

// legalFormed reports a sender's domain label that is the recipient's
// label b with a company form hyphened on. Only the recipient's own name
// is compared so: another company may well own name-gmbh.de besides
// name.de.
func legalFormed(a, b string) bool {
	return slices.Contains(legalForms, lookalike.HyphenWord(a, b))
}

// Bounds on the domains the text names: the addresses are looked for in
// the first maxMentionText bytes, and at most maxMentioned domains kept.
const (
	maxMentionText = 64 << 10
	maxMentioned   = 64
)

// mentionedDomains returns the registrable domains of the message's links
// and of the addresses its text shows.
func (x *info) mentionedDomains() []string {
	if x.mentioned != nil {
		return x.mentioned
	}
	out := []string{}
	add := func(d string) {
		if d != "" && len(out) < maxMentioned && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, u := range x.m.URLs {
		add(u.Domain)
	}
	text := x.m.Text
	if len(text) > maxMentionText {
		text = text[:maxMentionText]
	}
	for _, a := range addressesIn(text, maxMentioned) {
		add(addrDomain(a))
	}
	x.mentioned = out
	return out
}

// addressesIn returns what reAddrInName.FindAllString(text, n) returns,
// without trying the expression at every byte of a long text: it starts
// from each '@' and runs the expression on the address characters around
// it only (the expression alone took a tenth of a scan's time).
func addressesIn(text string, n int) []string {
	var out []string
	for done, i := 0, 0; len(out) < n; {
		at := strings.IndexByte(text[i:], '@')
		if at < 0 {
			break
		}
		at += i
		start, end := at, at+1
		for start > done && addrByte(text[start-1], true) {
			start--
		}
		for end < len(text) && addrByte(text[end], false) {
			end++
		}
		if loc := reAddrInName.FindStringIndex(text[start:end]); loc != nil {
			out = append(out, text[start+loc[0]:start+loc[1]])
			done = start + loc[1]
		}
		i = max(at+1, done)
	}
	return out
}

// addrByte reports a byte reAddrInName accepts in an address's local part
// (local) or domain.
func addrByte(c byte, local bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		return true
	case c == '_' || c == '%' || c == '+':
		return local
	}
	return false
}

// brandSet is a brand list with the skeletons of its domain labels
// computed once.
type brandSet struct {
	brands []contentdb.Brand
	labels []skeletonLabel
	// hostWords are the labels brandLink looks for in link hosts, by
	// first word.
	hostWords map[string][][]string
}

type skeletonLabel struct{ label, skeleton string }

func newBrandSet(brands []contentdb.Brand) *brandSet {
	// Names are matched in the words the display name is cut into: accents
	// folded ("Societe Generale" names Société Générale) and cut at what is
	// not a letter or digit ("e-boks" is "e boks").
	folded := make([]contentdb.Brand, len(brands))
	for i, b := range brands {
		folded[i] = contentdb.Brand{Words: nameWords(strings.Join(b.Words, " ")), Domains: b.Domains}
	}
	s := &brandSet{brands: folded}
	var plain []string
	for _, b := range brands {
		for _, d := range b.Domains {
			if strings.Contains(d, ".") || slices.Contains(plain, d) {
				continue
			}
			plain = append(plain, d)
			if len(d) >= lookalike.MinLabel {
				s.labels = append(s.labels, skeletonLabel{d, lookalike.Skeleton(d)})
			}
		}
	}
	s.hostWords = brandHostWords(plain)
	return s
}

// owns reports a registrable domain that one of the brands owns.
func (s *brandSet) owns(domain string) bool {
	return slices.ContainsFunc(s.brands, func(b contentdb.Brand) bool { return b.Owns(domain) })
}
