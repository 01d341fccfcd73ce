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
	"context"
	"strings"
	"unicode"

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

// lexicon holds the normalised word lists.
type lexicon struct {
	enSub, enPrefix, enExact []string
	ruSub, ruExact           []string
	ruStart, ruPrefixes      []string // stems that start a word, possibly after a prefix
	ruPrefixed               []string // stems that may follow a verbal prefix
	ruVerbPrefixes           []string
	translit                 []string // Russian in Latin letters, prefix stems
}

func newLexicon() *lexicon {
	l := &lexicon{
		enSub:    []string{"fuck", "motherfuck", "cocksuck"},
		enPrefix: []string{"cunt", "bitch", "ashole", "whore", "slut", "dickhead", "wanker", "twat", "blowjob", "fuk", "fck"},
		enExact: []string{"shit", "shits", "shity", "shiting", "shithead", "bulshit", "horseshit", "shitload",
			"pusy", "pusies", "cumshot"},
		ruSub: []string{"пизд", "залуп", "гандон", "гондон", "мудак", "мудил", "пидор", "пидар"},
		// These stems hide inside innocent words (страхует, оскорблять), so
		// they count only at the start of a word or after a prefix.
		ruStart:    []string{"хуй", "хуе", "хуя", "хуи", "хую", "хул", "бляд", "блят"},
		ruPrefixes: []string{"", "на", "по", "ни", "от", "за", "до", "вы", "с", "рас", "раз", "при", "пере", "недо", "у"},
		ruExact: []string{"сука", "суки", "суке", "суку", "сукой", "сучка", "сучара", "манда", "шлюха", "шлюхи",
			"бля", "нах", "нахер", "похер"},
		ruPrefixed:     []string{"еба", "ебу", "ебл", "ебн", "ебе", "еби", "ебо", "ебы", "ебец"},
		ruVerbPrefixes: []string{"", "за", "на", "по", "от", "вы", "до", "у", "раз", "рас", "при", "про", "съ", "подъ", "объ", "въ", "изъ", "вз", "взъ", "пере", "недо"},
		translit:       []string{"blyad", "blyat", "pizd", "nahuy", "nahui", "xuy", "ebat", "ebal", "yebat", "huyn", "suka"},
	}
	return l
}

// find scans text word by word.
func (l *lexicon) find(text string) (string, string) {
	var singles []string // consecutive one-letter tokens: "f u c k"
	var found, lang string
	check := func(tok string) bool {
		if w, lg := l.match(tok); w != "" {
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
	start := -1
	for i, r := range text + " " {
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
		if n := len([]rune(tok)); n == 1 {
			singles = append(singles, tok)
			if len(singles) == 16 && flushSingles() {
				return found, lang
			}
			continue
		}
		if flushSingles() || check(tok) {
			return found, lang
		}
	}
	flushSingles()
	return found, lang
}

// isWordRune: letters, digits and the symbols used to disguise letters.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '*' || r == '@' || r == '$' || r == '!' || r == '#'
}

// match normalises one token and looks it up.
func (l *lexicon) match(tok string) (string, string) {
	if len(tok) < 3 || len(tok) > 64 {
		return "", ""
	}
	cyr := false
	for _, r := range tok {
		if unicode.Is(unicode.Cyrillic, r) {
			cyr = true
			break
		}
	}
	if cyr {
		w := normalise(tok, toCyrillic)
		if l.russian(w) {
			return w, "russian"
		}
		return "", ""
	}
	w := normalise(tok, toLatin)
	if l.english(w) {
		return w, "english"
	}
	if l.translitMatch(w) {
		return w, "russian"
	}
	return "", ""
}

func (l *lexicon) english(w string) bool {
	for _, s := range l.enSub {
		if containsMasked(w, s) {
			return true
		}
	}
	for _, s := range l.enPrefix {
		if prefixMasked(w, s) {
			return true
		}
	}
	for _, s := range l.enExact {
		if equalMasked(w, s) {
			return true
		}
	}
	return false
}

func (l *lexicon) russian(w string) bool {
	for _, s := range l.ruSub {
		if containsMasked(w, s) {
			return true
		}
	}
	for _, s := range l.ruExact {
		if equalMasked(w, s) {
			return true
		}
	}
	for _, p := range l.ruPrefixes {
		if !strings.HasPrefix(w, p) {
			continue
		}
		rest := w[len(p):]
		for _, s := range l.ruStart {
			if prefixMasked(rest, s) {
				return true
			}
		}
	}
	for _, p := range l.ruVerbPrefixes {
		if !strings.HasPrefix(w, p) {
			continue
		}
		rest := w[len(p):]
		for _, s := range l.ruPrefixed {
			if prefixMasked(rest, s) {
				return true
			}
		}
	}
	return false
}

func (l *lexicon) translitMatch(w string) bool {
	for _, s := range l.translit {
		if s == "suka" {
			if w == s {
				return true
			}
			continue
		}
		if prefixMasked(w, s) {
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

// normalise lower-cases, maps disguises through m, folds ё to е and
// collapses stretched letters ("fuuuck" → "fuck").
func normalise(tok string, m func(rune) rune) string {
	var b strings.Builder
	var prev rune = -1
	for _, r := range strings.ToLower(tok) {
		r = m(r)
		if r == 'ё' {
			r = 'е'
		}
		if r == prev && r != '*' && r != '#' {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
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
