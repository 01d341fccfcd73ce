package headers

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/contentdb"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// minLookalike is the shortest domain label compared for lookalikes: short
// names are one letter apart from many unrelated ones ("ing", "ink").
const minLookalike = 5

// lookalikeDomain reports a From or Reply-To domain made to be taken for a
// recipient's own domain or a brand's: the same letters but for those a
// reader does not tell apart (exarnple.com, brandt-keiler.de, paypa1.com,
// ollermatevs.com, аpple.com in Cyrillic), a doubled or dropped double letter, a hyphen
// added or removed, or two neighbouring letters swapped; for a recipient's
// own long name also a letter more or less (oneLetterApart). Business e-mail
// compromise and invoice fraud write from such domains; a legitimate sender
// has no reason to own one. A sister domain with the same name under
// another suffix (acme.de to acme.nl) is not a lookalike, but the name with
// its own suffix hyphened on (acme-de.com) is (suffixed), and the
// recipient's with a company form (acme-gmbh.com, legalFormed). Domains
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
		rcpts[i] = skeletonLabel{l, skeleton(l)}
	}
	for _, d := range senders {
		label, _, _ := strings.Cut(d, ".")
		sk := skeleton(label)
		for i, t := range rcpts {
			if lookalike(label, sk, t.label, t.skeleton) || oneLetterApart(sk, t.skeleton) || suffixed(label, t.label, targets[i]) ||
				slices.Contains(protected, targets[i]) && legalFormed(label, t.label) {
				return true
			}
		}
		for _, b := range x.brands.labels {
			if lookalike(label, sk, b.label, b.skeleton) && !x.brands.owns(d) {
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
			if m != d && (utf8.RuneCountInString(ml) == n && lookalike(label, sk, ml, skeleton(ml)) || suffixed(label, ml, m)) {
				return true
			}
		}
	}
	return false
}

// hyphenWord returns the word a adds to the label b with a hyphen ("ca"
// of lamfairweather-ca for lamfairweather), or "" when a is not so made
// or b is shorter than minLookalike.
func hyphenWord(a, b string) string {
	rest, ok := strings.CutPrefix(a, b+"-")
	if !ok || len(b) < minLookalike {
		return ""
	}
	return rest
}

// suffixed reports a sender's domain label a that is the first label
// (bLabel) of another registrable domain b with b's own suffix hyphened
// on: lamfairweather-ca.com for lamfairweather.ca, techlinkdist-sg.com for
// techlinkdist.com.sg, lakeshorefoodbank-org.com for
// lakeshorefoodbank.org. The forger keeps the whole name in sight; a
// company's own sending domains add words (acme-news.com, notif-acme.com)
// and its country sites take the country's suffix (acme.co.uk).
func suffixed(a, bLabel, b string) bool {
	w := hyphenWord(a, bLabel)
	return w != "" && strings.HasSuffix(b, "."+w)
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
	return slices.Contains(legalForms, hyphenWord(a, b))
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
			if len(d) >= minLookalike {
				s.labels = append(s.labels, skeletonLabel{d, skeleton(d)})
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

// lookalike reports two different domain labels, given with their
// skeletons, that read the same: equal skeletons, or skeletons one swap of
// neighbouring letters apart. b is the one imitated.
func lookalike(a, skA, b, skB string) bool {
	if a == b || len(b) < minLookalike {
		return false
	}
	return skA == skB || swapped(skA, skB)
}

// minOneLetter is the shortest skeleton of a recipient's own domain that a
// sender's one letter more or less imitates: in a long name a reader does
// not see it, and no other company has the name but for one letter.
const minOneLetter = 10

// oneLetterApart reports skeletons one inserted or dropped letter apart,
// the recipient's (b) at least minOneLetter long: southgatecyclesparts.com
// for southgatecycleparts.com.au, lumen-fondation.be for
// lumen-foundation.be. A plural's "s" at the end (a company's other
// domain) and an "e" after a vowel (ue for ü: mueller-bau.de for
// müller-bau.de) do not count.
func oneLetterApart(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(rb) < minOneLetter || len(ra) < minOneLetter-1 {
		return false
	}
	long, short := ra, rb
	if len(long) < len(short) {
		long, short = short, long
	}
	if len(long) != len(short)+1 {
		return false
	}
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	if string(long[i+1:]) != string(short[i:]) {
		return false
	}
	extra := long[i]
	switch {
	case extra == 's' && i == len(long)-1:
		return false
	case extra == 'e' && i > 0 && strings.ContainsRune("aovu", long[i-1]):
		return false
	}
	return true
}

// skeleton reduces a domain label to what a reader sees: punycode decoded,
// accents dropped, Cyrillic and Greek letters that look Latin made Latin,
// the letters and pairs that pass for one another in most fonts made one
// (rn m, vv w, cl d, 0 o, 1 i l, u v), hyphens dropped and doubled
// letters made single.
func skeleton(label string) string {
	label = strings.ToLower(label)
	if strings.HasPrefix(label, "xn--") {
		if u, err := idna.ToUnicode(label); err == nil {
			label = u
		}
	}
	ascii := true
	for i := 0; i < len(label); i++ {
		if label[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		label = norm.NFKD.String(label)
	}
	rs := make([]rune, 0, len(label))
	for _, r := range label {
		if r == '-' || !ascii && unicode.Is(unicode.Mn, r) {
			continue
		}
		if l, ok := homoglyphs[r]; ok {
			r = l
		}
		rs = append(rs, r)
	}
	n := 0
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if i+1 < len(rs) {
			if p, ok := confusablePairs[[2]rune{r, rs[i+1]}]; ok {
				r = p
				i++
			}
		}
		if n == 0 || rs[n-1] != r {
			rs[n] = r
			n++
		}
	}
	return string(rs[:n])
}

// confusablePairs are the letter pairs that pass for one letter.
var confusablePairs = map[[2]rune]rune{{'r', 'n'}: 'm', {'v', 'v'}: 'w', {'c', 'l'}: 'd'}

// homoglyphs maps the letters and digits that look like a Latin letter to
// it.
var homoglyphs = map[rune]rune{
	'0': 'o', '1': 'l', 'i': 'l', 'ı': 'l', 'u': 'v',
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'l', 'ї': 'l', 'ј': 'j', 'ԁ': 'd', 'ӏ': 'l', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'l', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
}

// swapped reports strings that differ by one swap of neighbouring runes.
func swapped(a, b string) bool {
	if len(a) != len(b) { // a swap keeps the length in bytes
		return false
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if i+1 >= len(ra) || ra[i] != rb[i+1] || ra[i+1] != rb[i] {
		return false
	}
	return string(ra[i+2:]) == string(rb[i+2:])
}
