package rules

import (
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// latinFold maps each letter of Latin-1 Supplement and Latin Extended-A
// (U+00C0 to U+017F) to its letters without accents, lower case: "ü" to
// "u", "ß" to "ss", "ł" to "l". An empty entry (× and ÷) keeps the rune.
// Built once from the Unicode decompositions; never written afterwards.
var latinFold = buildLatinFold()

const latinFoldFirst, latinFoldLast = 0xC0, 0x17F

// Letters without a canonical decomposition into a base letter and marks.
var latinFoldExtra = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'ł': "l", 'Ł': "l", 'ı': "i",
	'þ': "th", 'Þ': "th", 'ħ': "h", 'Ħ': "h", 'ŧ': "t", 'Ŧ': "t", 'ĸ': "k",
	'ŋ': "n", 'Ŋ': "n", 'ĳ': "ij", 'Ĳ': "ij", 'ŀ': "l", 'Ŀ': "l", 'ŉ': "n", 'ſ': "s",
}

func buildLatinFold() (t [latinFoldLast - latinFoldFirst + 1]string) {
	for r := rune(latinFoldFirst); r <= latinFoldLast; r++ {
		if s, ok := latinFoldExtra[r]; ok {
			t[r-latinFoldFirst] = s
			continue
		}
		if d := norm.NFD.String(string(r)); d[0] < 0x80 && d != string(r) {
			c := d[0]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			t[r-latinFoldFirst] = string(c)
		}
	}
	return t
}

// greekFold maps each Greek letter with a tonos or dialytika (U+0386 to
// U+03CE) to the lower-case letter without it, "Ώ" and "ώ" to "ω"; the
// final sigma "ς" folds to "σ", the lower case of "Σ", so that a name in
// capitals matches the same name in small letters. Built once like
// latinFold.
var greekFold = buildGreekFold()

const greekFoldFirst, greekFoldLast = 0x386, 0x3CE

func buildGreekFold() (t [greekFoldLast - greekFoldFirst + 1]string) {
	for r := rune(greekFoldFirst); r <= greekFoldLast; r++ {
		if r == 'ς' {
			t[r-greekFoldFirst] = "σ"
			continue
		}
		if d := []rune(norm.NFD.String(string(r))); len(d) > 1 {
			t[r-greekFoldFirst] = string(unicode.ToLower(d[0]))
		}
	}
	return t
}

// foldRune returns the unaccented lower-case letters for r, or "" when r
// is kept as it is. Typographic apostrophes fold to the ASCII one, so a
// phrase written with either matches text written with the other.
func foldRune(r rune) string {
	switch {
	case r >= latinFoldFirst && r <= latinFoldLast:
		return latinFold[r-latinFoldFirst]
	case r >= greekFoldFirst && r <= greekFoldLast:
		return greekFold[r-greekFoldFirst]
	case r == '\u2019' || r == '\u2018' || r == '\u02bc':
		return "'"
	case r >= 0x622 && r <= 0x649:
		return arabicFold(r)
	}
	return ""
}

// arabicFold maps the Arabic letters written interchangeably to one: the
// alef with hamza or madda to the bare alef ("إيقاف", "ايقاف"), the alef
// maqsura to the ya, as Egyptian writing mixes them; "" keeps the rune.
func arabicFold(r rune) string {
	switch r {
	case 'آ', 'أ', 'إ':
		return "ا"
	case 'ى':
		return "ي"
	}
	return ""
}

// arabicMark reports the Arabic short vowels, tanween, shadda and sukun
// (U+064B to U+0652), the superscript alef and the tatweel: optional
// marks and a stretching stroke that Normalize leaves out, as it leaves
// out Latin accents.
func arabicMark(r rune) bool {
	return r >= 0x64b && r <= 0x652 || r == 0x670 || r == 0x640
}
