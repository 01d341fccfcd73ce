package lookalike

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// A store that keeps only digests cannot compare a sender's domain with
// each domain it holds. It keeps, for each domain, the forms a look-alike
// of it reduces to (Keys), and looks up those a sender's domain reduces to
// (Probes): the two share a key exactly when the sender's label is Same as
// the kept one's, OneLetterApart from it, or it Suffixed.

// minKept is the shortest label whose look-alikes Keys covers. A company
// writes to thousands of domains, among them short names that read like
// another company's by chance (amber, ambre); the look-alikes forgers
// register are of longer names.
const minKept = MinLabel + 1

// Keys returns what a store keeps for a domain: its registrable domain's
// first label, and the forms its look-alikes reduce to (its skeleton; for
// a long one, the skeleton with a letter dropped; the label with its own
// suffix hyphened on; the label under .co, or for a domain under .co the
// label as such, see CoProbes). Nil for a domain without a label.
func Keys(domain string) []string {
	reg, label := split(domain)
	if label == "" {
		return nil
	}
	keys := []string{"l:" + label}
	if len(label) < minKept {
		return keys
	}
	sk := Skeleton(label)
	keys = append(keys, "k:"+sk, "x:"+label+"-"+reg[strings.LastIndexByte(reg, '.')+1:])
	switch {
	case reg == label+".co":
		keys = append(keys, "o:"+label)
	case !strings.HasSuffix(reg, ".co"):
		keys = append(keys, "c:"+label)
	}
	if rs := []rune(sk); len(rs) >= MinOneLetter {
		keys = dropped(keys, "d:", rs)
	}
	return keys
}

// Probes returns, for a sender's domain, the key of its own label (own: a
// domain kept under the same label is the sender's, or a sister of it) and
// the keys a domain it imitates would have been kept under: its skeleton,
// the skeleton with two neighbours swapped or a letter dropped, itself one
// letter short of a long kept one, a kept label with its suffix hyphened on.
func Probes(domain string) (own string, probes []string) {
	_, label := split(domain)
	if label == "" {
		return "", nil
	}
	sk := Skeleton(label)
	probes = append(probes, "k:"+sk, "x:"+label)
	rs := []rune(sk)
	for i := 0; i+1 < len(rs); i++ {
		if rs[i] != rs[i+1] {
			rs[i], rs[i+1] = rs[i+1], rs[i]
			probes = append(probes, "k:"+string(rs))
			rs[i], rs[i+1] = rs[i+1], rs[i]
		}
	}
	if len(rs) > MinOneLetter {
		probes = dropped(probes, "k:", rs)
	}
	if len(rs) >= MinOneLetter-1 {
		probes = append(probes, "d:"+sk)
	}
	return "l:" + label, probes
}

// CoProbes returns, for a sender's domain under .co with a long name, the
// key a domain of that name under another suffix is kept under (swap: the
// sender may imitate it, CoSwapped) and the key the sender's own domain is
// kept under (self: users write to it, so it is theirs); "" for others.
func CoProbes(domain string) (swap, self string) {
	reg, label := split(domain)
	if label == "" || len(label) < minKept || reg != label+".co" {
		return "", ""
	}
	return "c:" + label, "o:" + label
}

// dropped appends to out, each under prefix, the skeleton rs with one
// letter dropped, for each letter but those a legitimate variant of the
// name adds (plainExtra).
func dropped(out []string, prefix string, rs []rune) []string {
	for i := range rs {
		if !plainExtra(rs, i) {
			out = append(out, prefix+string(rs[:i])+string(rs[i+1:]))
		}
	}
	return out
}

// split returns a domain's registrable domain and its first label, both
// lower case; "" for what has no registrable domain.
func split(domain string) (reg, label string) {
	reg, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(strings.TrimSuffix(domain, ".")))
	if err != nil || !utf8.ValidString(reg) {
		return "", ""
	}
	label, _, _ = strings.Cut(reg, ".")
	return reg, label
}
