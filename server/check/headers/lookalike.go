package headers

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// minLookalike is the shortest domain label compared for lookalikes: short
// names are one letter apart from many unrelated ones ("ing", "ink").
const minLookalike = 5

// lookalikeDomain reports a From or Reply-To domain made to be taken for a
// recipient's own domain or a brand's: the same letters but for those a
// reader does not tell apart (exarnple.com, brandt-keiler.de, paypa1.com,
// аpple.com in Cyrillic), a doubled or dropped double letter, a hyphen
// added or removed, or two neighbouring letters swapped. Business e-mail
// compromise and invoice fraud write from such domains; a legitimate sender
// has no reason to own one. A sister domain with the same name under
// another suffix (acme.de to acme.nl) is not a lookalike.
func lookalikeDomain(x *info) bool {
	targets := recipientDomains(x)
	var brandLabels []string
	for _, b := range x.brands {
		brandLabels = append(brandLabels, b.Domains...)
	}
	for _, field := range []string{"From", "Reply-To"} {
		for _, a := range x.addresses(field) {
			d := addrDomain(a.Addr)
			if d == "" || slices.Contains(targets, d) {
				continue
			}
			label, _, _ := strings.Cut(d, ".")
			for _, t := range targets {
				tl, _, _ := strings.Cut(t, ".")
				if lookalike(label, tl) {
					return true
				}
			}
			for _, bl := range brandLabels {
				if lookalike(label, bl) && !brandDomain(x, d) {
					return true
				}
			}
		}
	}
	return false
}

// brandDomain reports a registrable domain that one of the brands owns.
func brandDomain(x *info, domain string) bool {
	label, _, _ := strings.Cut(domain, ".")
	for _, b := range x.brands {
		for _, d := range b.Domains {
			if d == label || d == domain {
				return true
			}
		}
	}
	return false
}

// lookalike reports two different domain labels that read the same: equal
// skeletons, or skeletons one swap of neighbouring letters apart.
func lookalike(a, b string) bool {
	if a == b || len(b) < minLookalike || strings.Contains(b, ".") {
		return false
	}
	sa, sb := skeleton(a), skeleton(b)
	return sa == sb || swapped(sa, sb)
}

// skeleton reduces a domain label to what a reader sees: punycode decoded,
// accents dropped, Cyrillic and Greek letters that look Latin made Latin,
// the letters and pairs that pass for one another in most fonts made one
// (rn m, vv w, cl d, 0 o, 1 i l), hyphens dropped and doubled letters
// made single.
func skeleton(label string) string {
	if strings.HasPrefix(label, "xn--") {
		if u, err := idna.ToUnicode(label); err == nil {
			label = u
		}
	}
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(label)) {
		if unicode.Is(unicode.Mn, r) || r == '-' {
			continue
		}
		if l, ok := homoglyphs[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	s := strings.NewReplacer("rn", "m", "vv", "w", "cl", "d").Replace(b.String())
	var out []rune
	for _, r := range s {
		if len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
	}
	return string(out)
}

// homoglyphs maps the letters and digits that look like a Latin letter to
// it.
var homoglyphs = map[rune]rune{
	'0': 'o', '1': 'l', 'i': 'l', 'ı': 'l',
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'l', 'ї': 'l', 'ј': 'j', 'ԁ': 'd', 'ӏ': 'l', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'l', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
}

// swapped reports strings that differ by one swap of neighbouring runes.
func swapped(a, b string) bool {
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
