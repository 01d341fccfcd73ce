// Package lang tells the language a message is written in, from its most
// frequent words (Latin, Cyrillic) or its script (Greek, Chinese, Japanese,
// Korean, Arabic, Hebrew, Thai). It answers only when the text says so
// clearly: a short or mixed text has no language, and callers then assume
// nothing.
//
// The classifier uses it to know when it is judging a language it has seen
// no legitimate mail in (see bayes.LanguageToken).
package lang

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds and thresholds of Detect: the first ScanBytes of the text are
// read (callers may cut longer texts there themselves); a language by words needs minHits of its function words, at least
// one in minShare words, and a clear lead over the next language; a
// language by script needs half the letters.
const (
	ScanBytes = 4 << 10
	minHits   = 4
	minShare  = 12 // one word in 12
	minLead   = 1.3
)

// stopwords are the most frequent function words of each language, those
// that occur in any text of it whatever the subject. Words shared with
// English that English uses as often ("a", "i", "in", "on") are left out
// of the other languages, so English text is never mistaken for them.
var stopwords = map[string][]string{
	"en": {"the", "and", "of", "to", "is", "you", "that", "for", "with", "are", "this", "your", "have", "will", "not", "be", "it", "we", "our", "from", "was", "at", "by", "or", "as", "if", "can", "all", "please", "an", "would", "there", "they", "been", "has", "which", "on", "in", "my", "thanks"},
	"fr": {"le", "la", "les", "des", "est", "et", "vous", "pour", "dans", "une", "que", "qui", "sur", "avec", "pas", "nous", "votre", "sont", "du", "au", "aux", "ce", "cette", "il", "elle", "mais", "ou", "par", "plus", "vos", "nos", "être", "à", "été", "ne", "merci", "bonjour"},
	"de": {"der", "die", "das", "und", "ist", "nicht", "sie", "mit", "für", "auf", "ein", "eine", "dem", "den", "zu", "ich", "wir", "ihre", "ihr", "es", "sich", "auch", "von", "bei", "im", "wird", "werden", "sind", "oder", "wie", "uns", "bitte", "haben", "aus", "nach", "danke"},
	"es": {"el", "los", "las", "de", "que", "y", "en", "un", "una", "es", "por", "para", "con", "su", "usted", "del", "al", "se", "lo", "como", "más", "pero", "sus", "le", "ya", "este", "esta", "gracias", "muy", "hay", "nos", "sobre", "también"},
	"it": {"il", "di", "che", "per", "un", "una", "sono", "con", "non", "della", "gli", "alla", "del", "le", "è", "al", "dei", "delle", "nel", "si", "ci", "questo", "questa", "anche", "come", "più", "ma", "ho", "grazie", "lo", "da", "ti", "vi"},
	"pt": {"os", "as", "de", "que", "do", "da", "em", "um", "uma", "para", "com", "não", "você", "seu", "sua", "dos", "das", "no", "na", "se", "por", "mais", "ao", "é", "foi", "muito", "obrigado", "obrigada", "também", "nos", "pelo", "pela"},
	"nl": {"de", "het", "een", "en", "van", "is", "dat", "op", "te", "voor", "met", "niet", "zijn", "u", "uw", "wij", "ik", "je", "aan", "er", "ook", "maar", "om", "bij", "naar", "kunt", "worden", "wordt", "deze", "dit", "hebben", "bedankt"},
	"da": {"og", "det", "er", "til", "en", "af", "på", "at", "med", "for", "ikke", "den", "har", "de", "vi", "jeg", "du", "som", "kan", "vil", "eller", "der", "fra", "om", "venlig", "hilsen", "tak", "jer", "mvh"},
	"sv": {"och", "det", "är", "att", "en", "på", "för", "med", "som", "inte", "av", "har", "till", "vi", "jag", "du", "den", "kan", "om", "eller", "från", "vänliga", "hälsningar", "tack", "ni", "er", "ska"},
	"no": {"og", "det", "er", "til", "en", "av", "på", "at", "med", "for", "ikke", "den", "har", "de", "vi", "jeg", "du", "som", "kan", "vil", "eller", "fra", "om", "hilsen", "takk", "vennlig", "dere", "skal"},
	"fi": {"ja", "on", "ei", "se", "että", "ole", "kanssa", "joka", "tai", "mutta", "kun", "niin", "myös", "olen", "olet", "ovat", "voi", "kiitos", "terveisin", "sinun", "teidän", "meidän", "tämä", "ovat", "jos"},
	"et": {"ja", "on", "ei", "see", "et", "kui", "oma", "ka", "mis", "aga", "või", "olen", "tere", "aitäh", "palun", "lugupidamisega", "seda", "siis", "ning", "oli"},
	"pl": {"w", "na", "z", "się", "nie", "do", "jest", "to", "że", "jak", "po", "dla", "od", "za", "ale", "czy", "są", "pan", "pani", "proszę", "dziękuję", "pozdrawiam", "oraz", "tak", "tym", "być"},
	"cs": {"je", "se", "na", "že", "to", "v", "s", "z", "do", "ve", "pro", "jsou", "ale", "jak", "jsem", "by", "děkuji", "prosím", "pozdravem", "také", "nebo", "už"},
	"hr": {"je", "u", "na", "se", "da", "za", "su", "od", "s", "sa", "to", "ne", "kao", "ali", "što", "biti", "hvala", "pozdrav", "molim", "lijep", "lp", "ili"},
	"sl": {"in", "je", "na", "se", "da", "za", "so", "od", "z", "v", "ki", "ne", "pa", "kot", "hvala", "lep", "pozdrav", "prosim", "ali", "tudi"},
	"hu": {"az", "és", "hogy", "nem", "is", "egy", "van", "meg", "de", "ez", "már", "köszönöm", "üdvözlettel", "kérem", "vagy", "csak"},
	"ro": {"și", "de", "la", "în", "cu", "pe", "că", "nu", "este", "sunt", "un", "mulțumesc", "vă", "pentru", "din", "sau"},
	"tr": {"ve", "bir", "bu", "da", "de", "için", "ile", "çok", "ne", "mi", "var", "teşekkür", "ederim", "olarak", "gibi", "daha"},
	"ca": {"el", "la", "els", "les", "de", "que", "en", "un", "una", "és", "per", "amb", "no", "del", "al", "als", "moltes", "gràcies", "aquest", "aquesta"},
	"lt": {"ir", "yra", "kad", "su", "į", "ne", "tai", "bet", "kaip", "ar", "iš", "aš", "jūs", "ačiū", "pagarbiai"},
	"lv": {"un", "ir", "ka", "ar", "uz", "no", "par", "ne", "kā", "bet", "es", "jūs", "paldies", "cieņu"},
	"ru": {"и", "в", "не", "на", "что", "с", "по", "это", "как", "вы", "я", "для", "мы", "от", "так", "но", "если", "спасибо", "уважением"},
	"uk": {"і", "в", "не", "на", "що", "з", "це", "як", "ви", "я", "для", "ми", "від", "та", "але", "дякую", "повагою"},
	"bg": {"и", "в", "не", "на", "че", "с", "за", "от", "да", "се", "това", "как", "ще", "благодаря", "поздрави"},
}

// kin groups languages so close that their function words are mostly the
// same: the lead Detect asks for is over the languages of other groups,
// and within a group the most words win.
var kin = map[string]string{"da": "da-no", "no": "da-no", "hr": "hr-sl", "sl": "hr-sl"}

func group(l string) string {
	if g, ok := kin[l]; ok {
		return g
	}
	return l
}

// languagesOf maps each function word to the languages that use it. It is
// built once from stopwords and only read.
var languagesOf = func() map[string][]string {
	m := map[string][]string{}
	for l, ws := range stopwords {
		for _, w := range ws {
			if !slices.Contains(m[w], l) {
				m[w] = append(m[w], l)
			}
		}
	}
	return m
}()

// Detect returns the ISO 639-1 code of the language text is written in, ""
// when the text does not say clearly.
func Detect(text string) string {
	if len(text) > ScanBytes {
		i := ScanBytes
		for i > 0 && !utf8.RuneStart(text[i]) {
			i--
		}
		text = text[:i]
	}
	if l := byScript(text); l != "" {
		return l
	}
	hits := map[string]int{}
	words := 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
		words++
		for _, l := range languagesOf[strings.ToLower(strings.Trim(w, "'"))] {
			hits[l]++
		}
	}
	best := ""
	for l, n := range hits {
		if best == "" || n > hits[best] || n == hits[best] && l < best {
			best = l
		}
	}
	second := 0
	for l, n := range hits {
		if group(l) != group(best) {
			second = max(second, n)
		}
	}
	n := hits[best]
	if best == "" || n < minHits || n*minShare < words || float64(n) < minLead*float64(second) {
		return ""
	}
	return best
}

// byScript returns the language of a text whose letters are mostly of a
// script that one language (or, for Cyrillic, the stopwords) tells: ""
// for Latin and Cyrillic text and for mixed text.
func byScript(text string) string {
	var letters, latin, cyrillic, greek, han, kana, hangul, arabic, hebrew, thai int
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		switch {
		case r < 0x250:
			latin++
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Greek, r):
			greek++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Hebrew, r):
			hebrew++
		case unicode.Is(unicode.Thai, r):
			thai++
		}
	}
	if letters == 0 {
		return ""
	}
	half := func(n int) bool { return 2*n > letters }
	switch {
	case half(hangul):
		return "ko"
	case half(kana+han) && kana*10 > han:
		return "ja"
	case half(han):
		return "zh"
	case half(greek):
		return "el"
	case half(arabic):
		return "ar"
	case half(hebrew):
		return "he"
	case half(thai):
		return "th"
	}
	return ""
}
