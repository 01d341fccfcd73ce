// Package lang tells the language a message is written in, from its most
// frequent words (Latin, Cyrillic) or its script (Greek, Chinese, Japanese,
// Korean, Arabic, Hebrew, Thai). It answers only when the text says so
// clearly: a short or mixed text has no language, and callers then assume
// nothing.
//
// The classifier uses it to know when it is judging a language it has seen
// no legitimate mail in (see bayes.LanguagePrefix).
package lang

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds and thresholds of Detect: the first ScanBytes of the text are
// read (callers may cut longer texts there themselves); a language by
// words needs minHits of its function words, at least one in minShare
// words, and a clear lead over the next language; a language by script
// needs half the letters.
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
	"tr": {"ve", "bir", "bu", "da", "de", "için", "ile", "çok", "ne", "mi", "var", "teşekkür", "ederim", "olarak", "gibi", "daha",
		"veya", "olan", "olup", "kadar", "göre", "ancak", "ayrıca", "lütfen", "sayın", "merhaba", "iyi", "günler", "saygılarımızla",
		"ilgili", "değil", "tüm", "bizim", "sizin", "bize", "şekilde", "sonra", "yeni", "hakkında", "tarafından", "dileriz", "rica"},
	"id": {"yang", "dan", "di", "untuk", "dengan", "ini", "itu", "dari", "ke", "tidak", "akan", "ada", "kami", "anda", "terima", "kasih",
		"dalam", "atau", "juga", "sudah", "bisa", "bapak", "ibu", "mohon", "saya", "kita", "pada", "silakan", "salam"},
	"ms": {"yang", "dan", "di", "untuk", "dengan", "ini", "itu", "dari", "ke", "tidak", "akan", "ada", "kami", "anda", "terima", "kasih",
		"dalam", "atau", "juga", "sudah", "boleh", "encik", "puan", "sila", "saya", "kita", "pada", "tuan", "sahaja"},
	"ca": {"el", "la", "els", "les", "de", "que", "en", "un", "una", "és", "per", "amb", "no", "del", "al", "als", "moltes", "gràcies", "aquest", "aquesta"},
	"lt": {"ir", "yra", "kad", "su", "į", "ne", "tai", "bet", "kaip", "ar", "iš", "aš", "jūs", "ačiū", "pagarbiai"},
	"lv": {"un", "ir", "ka", "ar", "uz", "no", "par", "ne", "kā", "bet", "es", "jūs", "paldies", "cieņu"},
	"vi": {"và", "của", "có", "không", "được", "cho", "các", "những", "với", "này", "trong", "để", "một", "đã", "chúng", "tôi", "bạn", "quý",
		"khách", "cảm", "ơn", "xin", "vui", "lòng", "đến", "từ", "theo", "về", "đây", "sẽ", "như", "hoặc", "trân", "trọng"},
	"ru": {"и", "в", "не", "на", "что", "с", "по", "это", "как", "вы", "я", "для", "мы", "от", "так", "но", "если", "спасибо", "уважением"},
	"uk": {"і", "в", "не", "на", "що", "з", "це", "як", "ви", "я", "для", "ми", "від", "та", "але", "дякую", "повагою"},
	"bg": {"и", "в", "не", "на", "че", "с", "за", "от", "да", "се", "това", "как", "ще", "благодаря", "поздрави"},
}

// kin groups languages so close that their function words are mostly the
// same: the lead Detect asks for is over the languages of other groups,
// and within a group the most words win.
var kin = map[string]string{"da": "da-no", "no": "da-no", "hr": "hr-sl", "sl": "hr-sl", "id": "id-ms", "ms": "id-ms"}

func group(l string) string {
	if g, ok := kin[l]; ok {
		return g
	}
	return l
}

// languages are the codes of stopwords, sorted; Detect counts by index.
var languages = func() []string {
	var ls []string
	for l := range stopwords {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}()

// languagesOf maps each function word to the indices (in languages) of the
// languages that use it. It is built once from stopwords and only read.
var languagesOf = func() map[string][]uint8 {
	m := map[string][]uint8{}
	for i, l := range languages {
		for _, w := range stopwords[l] {
			if !slices.Contains(m[w], uint8(i)) {
				m[w] = append(m[w], uint8(i))
			}
		}
	}
	return m
}()

// maxStopword bounds the function words in bytes; longer words are not
// looked up.
const maxStopword = 24

// counts is what Detect gathers in its one pass.
type counts struct {
	words   int
	hits    [32]int // by index in languages
	letters int
	script  [numScripts]int
}

// Scripts that tell a language by themselves.
const (
	scriptGreek = iota
	scriptHangul
	scriptKana
	scriptHan
	scriptArabic
	scriptHebrew
	scriptThai
	numScripts
)

// Detect returns the ISO 639-1 code of the language the texts are written
// in, "" when they do not say clearly. The texts are read as one, each
// ending a word, up to ScanBytes in all (a separator between two texts
// counts one byte), so that a subject and a body are judged without being
// joined first.
func Detect(texts ...string) string {
	var c counts
	budget := ScanBytes
	for k, text := range texts {
		if k > 0 {
			budget--
		}
		if budget <= 0 {
			break
		}
		if len(text) > budget {
			i := budget
			for i > 0 && !utf8.RuneStart(text[i]) {
				i--
			}
			text = text[:i]
		}
		c.scan(text)
		budget -= len(text)
	}
	if l := c.byScript(); l != "" {
		return l
	}
	best := -1
	for i, n := range c.hits[:len(languages)] {
		if best < 0 || n > c.hits[best] {
			best = i // ties go to the first in order, and fail the lead below
		}
	}
	second := 0
	for i, n := range c.hits[:len(languages)] {
		if group(languages[i]) != group(languages[best]) {
			second = max(second, n)
		}
	}
	n := c.hits[best]
	if n < minHits || n*minShare < c.words || float64(n) < minLead*float64(second) {
		return ""
	}
	return languages[best]
}

// scan counts the words and letters of text.
func (c *counts) scan(text string) {
	start := -1
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		letter := false
		if r < utf8.RuneSelf {
			letter = r|0x20 >= 'a' && r|0x20 <= 'z'
		} else {
			r, size = utf8.DecodeRuneInString(text[i:])
			letter = unicode.IsLetter(r)
		}
		if letter {
			c.letter(r)
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			c.word(text[start:i])
			start = -1
		}
		i += size
	}
	if start >= 0 {
		c.word(text[start:])
	}
}

// word counts a word and the languages it is a function word of.
func (c *counts) word(w string) {
	c.words++
	if len(w) > maxStopword {
		return
	}
	var buf [maxStopword]byte
	b := buf[:copy(buf[:], w)]
	for k, x := range b {
		switch {
		case x >= utf8.RuneSelf:
			c.count(languagesOf[strings.ToLower(w)]) // allocates only for a capital
			return
		case 'A' <= x && x <= 'Z':
			b[k] = x + 'a' - 'A'
		}
	}
	c.count(languagesOf[string(b)]) // a lookup by bytes does not allocate
}

func (c *counts) count(langs []uint8) {
	for _, l := range langs {
		c.hits[l]++
	}
}

// letter counts a letter by its script.
func (c *counts) letter(r rune) {
	c.letters++
	if r < 0x250 { // Latin
		return
	}
	switch {
	case unicode.Is(unicode.Greek, r):
		c.script[scriptGreek]++
	case unicode.Is(unicode.Hangul, r):
		c.script[scriptHangul]++
	case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		c.script[scriptKana]++
	case unicode.Is(unicode.Han, r):
		c.script[scriptHan]++
	case unicode.Is(unicode.Arabic, r):
		c.script[scriptArabic]++
	case unicode.Is(unicode.Hebrew, r):
		c.script[scriptHebrew]++
	case unicode.Is(unicode.Thai, r):
		c.script[scriptThai]++
	}
}

// byScript returns the language of a text whose letters are mostly of a
// script one language is written in: "" for Latin and Cyrillic text
// (the function words tell those) and for mixed text.
func (c *counts) byScript() string {
	half := func(n int) bool { return 2*n > c.letters }
	s := c.script
	switch {
	case c.letters == 0:
		return ""
	case half(s[scriptHangul]):
		return "ko"
	case half(s[scriptKana]+s[scriptHan]) && s[scriptKana]*10 > s[scriptHan]:
		return "ja"
	case half(s[scriptHan]):
		return "zh"
	case half(s[scriptGreek]):
		return "el"
	case half(s[scriptArabic]):
		return "ar"
	case half(s[scriptHebrew]):
		return "he"
	case half(s[scriptThai]):
		return "th"
	}
	return ""
}
