// Package obscene marks mail that uses obscene language, in English and
// Russian, seeing through the common disguises: letters swapped for digits
// and symbols (sh1t, @$$hole, xуй with a Latin x), masked letters (f*ck,
// б**дь), letters spaced out (f.u.c.k) or stretched (fuuuck).
//
// The check reports the sign OBSCENE with a small score; whether the
// Subject gets the "[--Obscene--]" tag is the policy's business
// (policy.Methods.ObsceneTag), applied by the response header builder.
// It runs only when policy.Methods.Obscene is on.
package obscene

import (
	"bytes"
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
)

// SignName is the sign this check reports.
const SignName = "OBSCENE"

// Score is what obscene language adds: a mark, not a spam verdict.
const Score = 0.3

// maxScan bounds the bytes of text examined.
const maxScan = 256 << 10

// Check finds obscene language.
type Check struct{ l *lexicon }

// New returns the obscene-language check.
func New() *Check { return &Check{l: newLexicon()} }

// Name implements engine.Check.
func (*Check) Name() string { return "obscene" }

// Run implements engine.Check.
func (c *Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	if !in.Group.Settings.Methods.Obscene {
		return engine.Result{}, nil
	}
	word, lang := c.Find(in.Msg)
	if word == "" {
		return engine.Result{}, nil
	}
	return engine.Result{Signs: []engine.Sign{{
		Name: SignName, Score: Score, Desc: "obscene language (" + lang + ")",
		Category: "obscene", Method: "content",
	}}}, nil
}

// Find returns the first obscene word of the Subject or text (as
// normalised) and its language ("english" or "russian"), or "".
func (c *Check) Find(m *message.Message) (word, lang string) {
	if w, l := c.l.find(m.Subject); w != "" {
		return w, l
	}
	text := m.Text
	if len(text) > maxScan {
		text = text[:maxScan]
	}
	return c.l.find(text)
}

// lexicon holds the normalised word lists. It is read-only after
// newLexicon, so one lexicon serves concurrent scans.
type lexicon struct {
	enSub, enPrefix, enExact [][]byte
	ruSub, ruExact           [][]byte
	ruStart, ruPrefixes      [][]byte // stems that start a word, possibly after a prefix
	ruPrefixed               [][]byte // stems that may follow a verbal prefix
	ruVerbPrefixes           [][]byte
	translit                 [][]byte // Russian in Latin letters, prefix stems
	// latinFirst marks the first letters of the Latin prefix and exact
	// stems, so most words are rejected after one lookup.
	latinFirst [256]bool
}

func words(ws ...string) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = []byte(w)
	}
	return out
}

func newLexicon() *lexicon {
	l := &lexicon{
		enSub:    words("fuck", "motherfuck", "cocksuck"),
		enPrefix: words("cunt", "bitch", "ashole", "whore", "dickhead", "wanker", "twat", "blowjob", "fck"),
		// "slut" is Swedish, Danish and Norwegian for "end" (bokslut,
		// slutlig, slutning) and "fuk" begins Fukushima and Fukuda: only
		// their English forms count.
		enExact: words("shit", "shits", "shity", "shiting", "shithead", "bulshit", "horseshit", "shitload",
			"pusy", "pusies", "cumshot", "sluts", "sluty", "fuk", "fuks", "fuking", "fukin", "fuker", "fukers"),
		ruSub: words("пизд", "залуп", "гандон", "гондон", "мудак", "мудил", "пидор", "пидар"),
		// These stems hide inside innocent words (страхует, оскорблять), so
		// they count only at the start of a word or after a prefix.
		ruStart:    words("хуй", "хуе", "хуя", "хуи", "хую", "хул", "бляд", "блят"),
		ruPrefixes: words("", "на", "по", "ни", "от", "за", "до", "вы", "с", "рас", "раз", "при", "пере", "недо", "у"),
		ruExact: words("сука", "суки", "суке", "суку", "сукой", "сучка", "сучара", "манда", "шлюха", "шлюхи",
			"бля", "нах", "нахер", "похер"),
		// "еб" stems: only after a verbal prefix, never after "с" (себе) or "н" (небо).
		ruPrefixed:     words("еба", "ебу", "ебл", "ебн", "ебе", "еби", "ебо", "ебы", "ебец"),
		ruVerbPrefixes: words("", "за", "на", "по", "от", "вы", "до", "у", "раз", "рас", "при", "про", "съ", "подъ", "объ", "въ", "изъ", "вз", "взъ", "пере", "недо"),
		translit:       words("blyad", "blyat", "pizd", "nahuy", "nahui", "xuy", "ebat", "ebal", "yebat", "huyny"), // not "huyn": Huynh is a Vietnamese surname
	}
	for _, list := range [][][]byte{l.enPrefix, l.enExact, l.translit, words("suka")} {
		for _, w := range list {
			l.latinFirst[w[0]] = true
		}
	}
	return l
}

// find scans text word by word.
func (l *lexicon) find(text string) (string, string) {
	var scratch [256]byte
	var singles []string // consecutive one-letter tokens: "f u c k"
	var found, lang string
	check := func(tok string) bool {
		if w, lg := l.match(scratch[:0], tok); w != "" {
			found, lang = w, lg
			return true
		}
		return false
	}
	// flushSingles tries every run of three or more one-letter tokens, so
	// "a b.i.t.c.h" finds "bitch"; runs are capped to keep this cheap.
	flushSingles := func() bool {
		for i := 0; i+3 <= len(singles); i++ {
			for j := i + 3; j <= len(singles); j++ {
				if check(strings.Join(singles[i:j], "")) {
					return true
				}
			}
		}
		singles = singles[:0]
		return false
	}
	token := func(tok string) bool {
		if utf8.RuneCountInString(tok) == 1 {
			singles = append(singles, tok)
			return len(singles) == 16 && flushSingles()
		}
		if flushSingles() {
			return true
		}
		// An address's "@" between two words is not a disguised "a":
		// anh.huynh@saigon-stitchworks.vn is not one word.
		if local, domain, ok := strings.Cut(tok, "@"); ok && letters(local) >= 3 && letters(domain) >= 3 {
			return check(local) || check(domain)
		}
		return check(tok)
	}
	start := -1
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		// Separators inside spaced-out words ("f.u.c.k", "f-u-c-k") are
		// handled by collecting single-letter tokens.
		if start < 0 {
			if !unicode.IsSpace(r) && r != '.' && r != '-' && r != '_' && len(singles) > 0 {
				if flushSingles() {
					return found, lang
				}
			}
			continue
		}
		tok := text[start:i]
		start = -1
		if token(tok) {
			return found, lang
		}
	}
	if start >= 0 && token(text[start:]) {
		return found, lang
	}
	flushSingles()
	return found, lang
}

// isWordRune: letters, digits and the symbols used to disguise letters.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			r == '*' || r == '@' || r == '$' || r == '!' || r == '#'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// match normalises one token into buf and looks it up.
func (l *lexicon) match(buf []byte, tok string) (string, string) {
	if len(tok) < 3 || len(tok) > 64 {
		return "", ""
	}
	cyr := false
	for i := 0; i+1 < len(tok); i++ {
		if c := tok[i]; (c == 0xD0 || c == 0xD1) && tok[i+1] >= 0x80 { // U+0400–U+047F
			cyr = true
			break
		}
	}
	if cyr {
		w := normalise(buf, tok, toCyrillic)
		if l.russian(w) {
			return string(w), "russian"
		}
		return "", ""
	}
	w := normalise(buf, tok, toLatin)
	if l.english(w) {
		return string(w), "english"
	}
	if l.translitMatch(w) {
		return string(w), "russian"
	}
	return "", ""
}

func masked(w []byte) bool { return bytes.IndexByte(w, '*') >= 0 || bytes.IndexByte(w, '#') >= 0 }

func (l *lexicon) english(w []byte) bool {
	if masked(w) {
		s := string(w)
		return anyMasked(s, l.enSub, containsMasked) || anyMasked(s, l.enPrefix, prefixMasked) || anyMasked(s, l.enExact, equalMasked)
	}
	// Every substring stem holds "fuck" or "suck".
	if bytes.IndexByte(w, 'k') >= 0 {
		for _, s := range l.enSub {
			if bytes.Contains(w, s) {
				return true
			}
		}
	}
	if !l.latinFirst[w[0]] {
		return false
	}
	for _, s := range l.enPrefix {
		if bytes.HasPrefix(w, s) {
			return true
		}
	}
	for _, s := range l.enExact {
		if bytes.Equal(w, s) {
			return true
		}
	}
	return false
}

func (l *lexicon) russian(w []byte) bool {
	if masked(w) {
		s := string(w)
		if anyMasked(s, l.ruSub, containsMasked) || anyMasked(s, l.ruExact, equalMasked) {
			return true
		}
	} else {
		for _, s := range l.ruSub {
			if bytes.Contains(w, s) {
				return true
			}
		}
		for _, s := range l.ruExact {
			if bytes.Equal(w, s) {
				return true
			}
		}
	}
	return afterPrefix(w, l.ruPrefixes, l.ruStart) || afterPrefix(w, l.ruVerbPrefixes, l.ruPrefixed)
}

// afterPrefix reports w = prefix + stem + anything.
func afterPrefix(w []byte, prefixes, stems [][]byte) bool {
	m := masked(w)
	for _, p := range prefixes {
		if !bytes.HasPrefix(w, p) {
			continue
		}
		rest := w[len(p):]
		for _, s := range stems {
			if bytes.HasPrefix(rest, s) || m && prefixMasked(string(rest), string(s)) {
				return true
			}
		}
	}
	return false
}

func (l *lexicon) translitMatch(w []byte) bool {
	if !masked(w) && !l.latinFirst[w[0]] {
		return false
	}
	if bytes.Equal(w, []byte("suka")) {
		return true
	}
	m := masked(w)
	for _, s := range l.translit {
		if bytes.HasPrefix(w, s) || m && prefixMasked(string(w), string(s)) {
			return true
		}
	}
	return false
}

func anyMasked(w string, stems [][]byte, f func(w, s string) bool) bool {
	for _, s := range stems {
		if f(w, string(s)) {
			return true
		}
	}
	return false
}

// Masked comparison: '*' or '#' in the word stands for any one letter, but
// a word must keep at least two real letters of the stem.

func equalMasked(w, s string) bool {
	wr, sr := []rune(w), []rune(s)
	return len(wr) == len(sr) && maskedAt(wr, sr, 0)
}

func prefixMasked(w, s string) bool {
	wr, sr := []rune(w), []rune(s)
	return len(wr) >= len(sr) && maskedAt(wr, sr, 0)
}

func containsMasked(w, s string) bool {
	if strings.Contains(w, s) {
		return true
	}
	if !strings.ContainsAny(w, "*#") {
		return false
	}
	wr, sr := []rune(w), []rune(s)
	for i := 0; i+len(sr) <= len(wr); i++ {
		if maskedAt(wr, sr, i) {
			return true
		}
	}
	return false
}

func maskedAt(w, s []rune, at int) bool {
	real := 0
	for j, r := range s {
		c := w[at+j]
		if c == '*' || c == '#' {
			continue
		}
		if c != r {
			return false
		}
		real++
	}
	return real >= 2
}

// normalise lower-cases tok into buf, maps disguises through m, folds ё to
// е and collapses stretched letters ("fuuuck" → "fuck").
func normalise(buf []byte, tok string, m func(rune) rune) []byte {
	var prev rune = -1
	for _, r := range tok {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r)
		}
		r = m(r)
		if r == 'ё' {
			r = 'е'
		}
		if r == prev && r != '*' && r != '#' {
			continue
		}
		buf = utf8.AppendRune(buf, r)
		prev = r
	}
	return buf
}

func toLatin(r rune) rune {
	switch r {
	case '0':
		return 'o'
	case '1', '!', '|':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7':
		return 't'
	// Cyrillic look-alikes in a Latin word.
	case 'а':
		return 'a'
	case 'е':
		return 'e'
	case 'о':
		return 'o'
	case 'с':
		return 'c'
	case 'у':
		return 'y'
	case 'к':
		return 'k'
	}
	return r
}

func toCyrillic(r rune) rune {
	switch r {
	case 'a', '@', '4':
		return 'а'
	case 'e', '3':
		return 'е'
	case 'o', '0':
		return 'о'
	case 'p':
		return 'р'
	case 'c':
		return 'с'
	case 'x':
		return 'х'
	case 'y', 'u':
		return 'у'
	case 'k':
		return 'к'
	case 'm':
		return 'м'
	case 't':
		return 'т'
	case 'h':
		return 'н'
	case 'b', '6':
		return 'б'
	case 'n':
		return 'п'
	case 'i', '1':
		return 'и'
	}
	return r
}

// letters counts the letters of s.
func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}
