// Package lookalike tells a domain name made to be taken for another: the
// same letters but for those a reader does not tell apart, a doubled or
// dropped double letter, a hyphen added or removed, two neighbouring
// letters swapped, in a long name a letter more or less, the name with its
// own suffix hyphened on, or the name under .co. The header check compares
// a sender's domain with the recipients', the brands' and those the text names
// (server/check/headers); the sent-mail store compares it with the domains
// the protected users write to, which it keeps only as digests of Keys and
// looks up with Probes (server/replies).
package lookalike

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// MinLabel is the shortest domain label compared for lookalikes: short
// names are one letter apart from many unrelated ones ("ing", "ink").
const MinLabel = 5

// MinOneLetter is the shortest skeleton that a label one letter longer or
// shorter imitates (OneLetterApart): in a long name a reader does not see
// it, and no other company has the name but for one letter.
const MinOneLetter = 10

// Same reports two different domain labels, given with their skeletons,
// that read the same: equal skeletons, or skeletons one swap of
// neighbouring letters apart. b is the one imitated.
func Same(a, skA, b, skB string) bool {
	if a == b || len(b) < MinLabel {
		return false
	}
	return skA == skB || swapped(skA, skB)
}

// OneLetterApart reports skeletons one inserted or dropped letter apart,
// the imitated one (b) at least MinOneLetter long:
// southgatecyclesparts.com for southgatecycleparts.com.au,
// lumen-fondation.be for lumen-foundation.be. A plural's "s" at the end (a
// company's other domain) and an "e" after a vowel (ue for ü:
// mueller-bau.de for müller-bau.de) do not count.
func OneLetterApart(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(rb) < MinOneLetter || len(ra) < MinOneLetter-1 {
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
	return string(long[i+1:]) == string(short[i:]) && !plainExtra(long, i)
}

// PluralApart reports skeletons a final "s" apart (morel-avocat for
// morel-avocats), which OneLetterApart lets pass as a company's other
// domain: not as another domain of the reader's own organisation, whose
// mail between its domains does not come from outside.
func PluralApart(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	return utf8.RuneCountInString(b) >= MinOneLetter && a == b+"s"
}

// plainExtra reports the letter at i of a skeleton as one that a
// legitimate variant of the name adds: a plural's final "s", an "e" after
// a vowel.
func plainExtra(long []rune, i int) bool {
	switch extra := long[i]; {
	case extra == 's' && i == len(long)-1:
		return true
	case extra == 'e' && i > 0 && strings.ContainsRune("aovu", long[i-1]):
		return true
	}
	return false
}

// HyphenWord returns the word a adds to the label b with a hyphen ("ca"
// of lamfairweather-ca for lamfairweather), or "" when a is not so made
// or b is shorter than MinLabel.
func HyphenWord(a, b string) string {
	rest, ok := strings.CutPrefix(a, b+"-")
	if !ok || len(b) < MinLabel {
		return ""
	}
	return rest
}

// Suffixed reports a sender's domain label a that is the first label
// (bLabel) of another registrable domain b with b's own suffix hyphened
// on: lamfairweather-ca.com for lamfairweather.ca, techlinkdist-sg.com for
// techlinkdist.com.sg, lakeshorefoodbank-org.com for
// lakeshorefoodbank.org. The forger keeps the whole name in sight; a
// company's own sending domains add words (acme-news.com, notif-acme.com)
// and its country sites take the country's suffix (acme.co.uk).
func Suffixed(a, bLabel, b string) bool {
	w := HyphenWord(a, bLabel)
	return w != "" && strings.HasSuffix(b, "."+w)
}

// CoSwapped reports a sender's domain a under .co whose registrable
// domain's name is another domain b's under another suffix: nordkod.co for
// nordkod.se, deltasteel-eg.co for deltasteel-eg.com. A company's sister
// domains take the suffixes of its countries; .co is Colombia's, a
// keystroke from .com, and registered elsewhere to be taken for the
// company's own. A Colombian company's .com.co and .co are sisters.
func CoSwapped(a, b string) bool {
	regA, la := split(a)
	regB, lb := split(b)
	if la == "" || la != lb || len(la) < minKept || regA != la+".co" {
		return false
	}
	return !strings.HasSuffix(regB, ".co")
}

// Skeleton reduces a domain label to what a reader sees: punycode decoded,
// accents dropped, Cyrillic and Greek letters that look Latin made Latin,
// the letters and pairs that pass for one another in most fonts made one
// (rn m, vv w, cl d, 0 o, 1 i l, u v), hyphens dropped and doubled
// letters made single.
func Skeleton(label string) string {
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
