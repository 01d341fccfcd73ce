package structure

import "strings"

// Bounds of a random-letter word: at least minRandomLen letters holding a
// run of at least minConsonantRun consonants once the consonant clusters of
// European spelling count as one letter each. Random letters are mostly
// consonants (20 of 26), so a hash buster of twelve letters has such a run
// more often than not; words of every European language spelt in ASCII
// (Rechtsschutzversicherung, Bydgoszcz, strengthening) keep their runs
// below it.
const (
	minRandomLen    = 10
	minConsonantRun = 7
	randomScanBytes = 64 << 10
)

// randomWord returns the first word of random letters in s, "" when there
// is none: a "hash buster", the string of random letters spam adds to its
// subject or text so that no two copies look alike to a statistical filter
// or a checksum. Only whole words of ASCII letters in one case count: a
// word that touches a digit, another letter, or a link's or address's
// punctuation is an identifier, not text. The first randomScanBytes of s
// are read.
func randomWord(s string) string {
	if len(s) > randomScanBytes {
		s = s[:randomScanBytes]
	}
	for i := 0; i < len(s); {
		if !asciiLetter(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && asciiLetter(s[j]) {
			j++
		}
		if j-i >= minRandomLen && (i == 0 || !wordByte(s[i-1])) && wordEnd(s, j) && random(s[i:j]) {
			return s[i:j]
		}
		i = j
	}
	return ""
}

// consonantClusters are spellings that stand for one sound in some European
// language; each counts as one consonant.
var consonantClusters = strings.NewReplacer(
	"tsch", "C", "sch", "C", "ch", "C", "ck", "C", "ph", "C", "th", "C", "sh", "C", "ng", "C",
	"gh", "C", "sz", "C", "cz", "C", "rz", "C", "dz", "C", "kh", "C", "zh", "C",
)

// random reports letters that read as random: one case, no letter three
// times in a row (a shout, "LARRRGER"), and a long run of consonants.
func random(w string) bool {
	lower := strings.ToLower(w)
	if lower != w && strings.ToUpper(w) != w {
		return false
	}
	for k := 2; k < len(lower); k++ {
		if lower[k] == lower[k-1] && lower[k] == lower[k-2] {
			return false
		}
	}
	run, longest := 0, 0
	for _, c := range consonantClusters.Replace(lower) {
		switch c {
		case 'a', 'e', 'i', 'o', 'u', 'y':
			run = 0
		default:
			run++
			longest = max(longest, run)
		}
	}
	return longest >= minConsonantRun
}

// wordEnd reports whether a letter run ending at j ends the token: the end
// of s, a byte that is not part of tokens, or a full stop that ends a
// sentence.
func wordEnd(s string, j int) bool {
	if j < len(s) && s[j] == '.' {
		j++
	}
	return j == len(s) || !wordByte(s[j])
}

func asciiLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// wordByte reports the bytes that make a letter run part of a longer token:
// digits, non-ASCII letters (any byte of UTF-8 beyond ASCII), and the
// punctuation of links, addresses and identifiers.
func wordByte(c byte) bool {
	return asciiLetter(c) || c >= '0' && c <= '9' || c >= 0x80 || strings.IndexByte("_@./=+%-&?#:~\\", c) >= 0
}
