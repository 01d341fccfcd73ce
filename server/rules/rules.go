// Package rules compiles weighted phrase and pattern rules, grouped by
// category, and matches them against a parsed message. All literal phrases
// of all rules, plus one required literal of each regular expression, go into
// one Aho–Corasick automaton per part of the message (the subject and the
// body share one; Chinese, Japanese and Korean literals have their own), so
// hundreds of rules cost about one pass over the text; a regular expression
// runs only when its literal was seen.
//
// The package matches; it does not score messages (the rules check turns
// hits into signs) and it does not read files (the content database does).
package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/message"
)

// Set is a compiled, immutable rule set, safe for concurrent use.
type Set struct {
	rules []Rule
	parts [numParts]*partSet
}

// partSet is everything matched against one part.
type partSet struct {
	// bands holds an automaton per script band (band): the patterns of
	// Latin, Greek and Cyrillic in the first, those of the scripts from
	// Hebrew to Khmer in the second, Chinese, Japanese and Korean in the
	// third. Apart, one band's distinct bytes and long patterns (three
	// bytes a letter) do not multiply the others' tables (states × byte
	// classes: 20 MB for five CJK rules in the Latin table), and the
	// automatons but the first run only on texts that hold their band's
	// bytes.
	bands [numBands]*automaton
	// always are regexes without a usable literal, run on every message.
	always []compiled
}

// slotOf is the part whose automatons serve p: the subject's are the
// body's, since most rules look at both ("text"), and one automaton for
// both is half the memory of two.
func slotOf(p Part) Part {
	if p == PartSubject || p == PartText {
		return PartBody
	}
	return p
}

// automaton is a matcher and what each of its patterns stands for.
type automaton struct {
	ac *matcher
	// pats maps an automaton pattern to its rule and kind.
	pats []pattern
}

// numBands is the number of script bands.
const numBands = 3

// band returns the script band of a UTF-8 byte: 2 for the lead bytes from
// U+3000 (CJK punctuation, kana, Hangul, Han, full-width forms, and
// beyond: emoji), 1 for those from U+05C0 to U+1FFF (Hebrew, Arabic, the
// Indic scripts, Thai, Georgian, Khmer, Vietnamese's extended Latin), 0
// for the rest: ASCII, continuation bytes, Latin, Greek, Cyrillic, and
// the punctuation and symbols from U+2000 (dashes, quotes, €), which
// every language's text holds.
func band(b byte) int {
	switch {
	case b >= 0xe3:
		return 2
	case b >= 0xd7 && b <= 0xe1:
		return 1
	}
	return 0
}

// bandsOf returns a bit for each band whose bytes s holds; band 0's is
// always set.
func bandsOf(s string) uint8 {
	bits := uint8(1)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xd7 {
			bits |= 1 << band(s[i])
		}
	}
	return bits
}

// highestBand returns the highest band of s's bytes.
func highestBand(s string) int {
	switch bits := bandsOf(s); {
	case bits&(1<<2) != 0:
		return 2
	case bits&(1<<1) != 0:
		return 1
	}
	return 0
}

type pattern struct {
	rule int
	// parts has the bit (1 << Part) of each part the pattern counts in:
	// the subject and the body share one automaton.
	parts uint8
	// group is the bit of the rule's "&&" group (Rule.Groups).
	group uint8
	// re is the regex this literal guards; nil for a phrase.
	re *regexp.Regexp
	// bounded phrases must sit at word boundaries.
	bounded bool
}

type compiled struct {
	rule  int
	group uint8
	re    *regexp.Regexp
}

// Compile builds a set from parsed rules.
func Compile(rs []Rule) (*Set, error) {
	s := &Set{rules: rs}
	// Literals and their patterns, per part and script band: a pattern
	// belongs to its highest band's automaton, and can only match a text
	// that holds that band's bytes.
	var lits [numParts][numBands][]string
	var pats [numParts][numBands][]pattern
	var always [numParts][]compiled
	add := func(p Part, lit string, pt pattern) {
		b := highestBand(lit)
		lits[slotOf(p)][b] = append(lits[slotOf(p)][b], lit)
		pats[slotOf(p)][b] = append(pats[slotOf(p)][b], pt)
	}
	for i, r := range rs {
		// "text" is the subject and the body.
		targets := []Part{r.Part}
		mask := uint8(1) << r.Part
		if r.Part == PartText {
			targets = []Part{PartSubject, PartBody}
			mask = 1<<PartSubject | 1<<PartBody
		}
		for j, ph := range r.Phrases {
			add(r.Part, ph, pattern{rule: i, parts: mask, group: groupBit(r.PhraseGroup, j), bounded: true})
		}
		for j, expr := range r.Regexps {
			g := groupBit(r.RegexpGroup, j)
			// The text is lower-cased already, so no (?i): case folding
			// would only slow the match down.
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("rules: compile %s: %w", r.Name, err)
			}
			req := requiredLiterals(expr)
			for _, l := range req {
				add(r.Part, l, pattern{rule: i, parts: mask, group: g, re: re})
			}
			if len(req) > 0 {
				continue
			}
			for _, p := range targets {
				if p == PartBody || p == PartHTML {
					return nil, fmt.Errorf("rules: %s: /%s/ has no literal of %d+ characters every match must contain; on the %s it would run on every message", r.Name, expr, minLiteral, r.Part)
				}
				always[p] = append(always[p], compiled{i, g, re})
			}
		}
	}
	var bands [numParts][numBands]*automaton
	for p := range numParts {
		if slotOf(p) == p {
			for b := range numBands {
				bands[p][b] = &automaton{newMatcher(lits[p][b]), pats[p][b]}
			}
		}
	}
	for p := range numParts {
		s.parts[p] = &partSet{bands: bands[slotOf(p)], always: always[p]}
	}
	return s, nil
}

// groupBit returns the bit of the group of alternative j; rules built by
// hand without groups are one group.
func groupBit(groups []int, j int) uint8 {
	if j < len(groups) {
		return 1 << groups[j]
	}
	return 1
}

// Len returns the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Rules returns the rules in source order; callers must not modify them.
func (s *Set) Rules() []Rule { return s.rules }

// Unfiltered returns the names of rules with a regex that has no literal
// pre-filter and so runs on every message.
func (s *Set) Unfiltered() []string {
	var out []string
	for _, ps := range s.parts {
		for _, c := range ps.always {
			out = append(out, s.rules[c.rule].Name)
		}
	}
	return out
}

// maxHTML is how much HTML source the html part looks at.
const maxHTML = 64 << 10

// Texts are the normalised texts of a message, one per part (PartText
// stays empty: its rules run on the subject and the body).
type Texts [numParts]string

// TextsOf extracts and normalises the parts of a message.
func TextsOf(m *message.Message) *Texts {
	var t Texts
	t[PartSubject] = Normalize(m.Subject)
	t[PartBody] = Normalize(m.Text)
	t[PartFrom] = Normalize(m.Header.Get("From"))
	var urls strings.Builder
	for _, u := range m.URLs {
		urls.WriteString(strings.ToLower(u.Raw))
		urls.WriteByte(' ')
	}
	t[PartURL] = urls.String()
	var html strings.Builder
	for _, l := range m.Leaves {
		if l.MediaType == "text/html" && html.Len() < maxHTML {
			html.WriteString(Normalize(string(l.Body[:min(len(l.Body), maxHTML)])))
			html.WriteByte(' ')
		}
	}
	t[PartHTML] = html.String()
	return &t
}

// Match returns the rules that fire on the message, in source order.
func (s *Set) Match(m *message.Message) []*Rule {
	return s.MatchTexts(TextsOf(m))
}

// MatchTexts is Match on already extracted texts.
func (s *Set) MatchTexts(t *Texts) []*Rule {
	// matched holds the bits of each rule's groups that matched; a rule
	// fires when all its groups did.
	matched := make([]uint8, len(s.rules))
	done := func(rule int, g uint8) bool { return matched[rule]&g != 0 }
	var waits []waiting
	for p := range numParts {
		ps := s.parts[p]
		text := t[p]
		if ps == nil || text == "" {
			continue
		}
		// A regex runs on a window around each hit of its literal (every
		// match contains the literal), at most maxTries times per message.
		tries := map[*regexp.Regexp]int{}
		win := windowed(p)
		limit := maxTries
		if !win {
			limit = 1 // the whole part is tried at once
		}
		hit := func(a *automaton) func(id, end int) bool {
			return func(id, end int) bool {
				pt := a.pats[id]
				if pt.parts&(1<<p) == 0 || done(pt.rule, pt.group) {
					return true
				}
				start := end - a.ac.lengths[id]
				if pt.re == nil {
					if boundary(text, start, end) {
						matched[pt.rule] |= pt.group
					}
					return true
				}
				if tries[pt.re] >= limit {
					return true
				}
				tries[pt.re]++
				if s.rules[pt.rule].Groups > 1 {
					waits = append(waits, waiting{pt.re, pt.rule, pt.group, p, start, end})
					return true
				}
				in := text
				if win {
					in = text[max(0, start-window):min(len(text), end+window)]
				}
				if pt.re.MatchString(in) {
					matched[pt.rule] |= pt.group
				}
				return true
			}
		}
		ps.bands[0].ac.scan(text, hit(ps.bands[0]))
		var inText uint8 // the text's bands, looked for once a band needs them
		for b, a := range ps.bands[1:] {
			if len(a.pats) == 0 {
				continue
			}
			if inText == 0 {
				inText = bandsOf(text)
			}
			if inText&(2<<b) != 0 {
				a.ac.scan(text, hit(a))
			}
		}
		for _, c := range ps.always {
			if !done(c.rule, c.group) && c.re.MatchString(text) {
				matched[c.rule] |= c.group
			}
		}
	}
	s.runWaiting(t, waits, matched)
	var out []*Rule
	for i := range s.rules {
		if matched[i] == allGroups(s.rules[i].Groups) {
			out = append(out, &s.rules[i])
		}
	}
	return out
}

// windowed reports a part whose regexes run on a window around their
// literal's hit. Short parts (subject, from, links) are matched whole, so
// ^ and $ keep their meaning there.
func windowed(p Part) bool { return p == PartBody || p == PartHTML }

// waiting is a regex of a rule of several groups whose literal was seen:
// it runs once the scan is over, and only if each other group of its rule
// matched or waits too. An expression that most texts give a literal for
// ("i am " of ROMANCE_FIRST_LETTER's age) then costs nothing on the texts
// without its rule's rarer words.
type waiting struct {
	re         *regexp.Regexp
	rule       int
	group      uint8
	part       Part
	start, end int
}

// runWaiting runs the waiting regexes whose rules may still fire, adding
// their groups to matched.
func (s *Set) runWaiting(t *Texts, waits []waiting, matched []uint8) {
	if len(waits) == 0 {
		return
	}
	pending := map[int]uint8{}
	for _, w := range waits {
		pending[w.rule] |= w.group
	}
	for _, w := range waits {
		if matched[w.rule]&w.group != 0 || matched[w.rule]|pending[w.rule] != allGroups(s.rules[w.rule].Groups) {
			continue
		}
		in := t[w.part]
		if windowed(w.part) {
			in = in[max(0, w.start-window):min(len(in), w.end+window)]
		}
		if w.re.MatchString(in) {
			matched[w.rule] |= w.group
		}
	}
}

// allGroups returns the bits of n groups; a rule built by hand without
// Groups is one group.
func allGroups(n int) uint8 {
	return 1<<max(n, 1) - 1
}

// boundary reports whether text[start:end] stands as whole words: the
// characters around it are not letters or digits (or the phrase itself
// begins or ends with a non-word character). Chinese, Japanese, Korean
// and Thai are written without spaces between words (Korean glues its
// particles on), so a phrase's end in one of them needs no boundary, and
// a letter of theirs next to a phrase is one.
func boundary(text string, start, end int) bool {
	if start > 0 && isWord(text[start]) {
		if first, _ := utf8.DecodeRuneInString(text[start:]); !unspaced(first) {
			r, _ := utf8.DecodeLastRuneInString(text[:start])
			if wordRune(r) && !unspaced(r) {
				return false
			}
		}
	}
	if end < len(text) && isWord(text[end-1]) {
		if last, _ := utf8.DecodeLastRuneInString(text[:end]); !unspaced(last) {
			r, _ := utf8.DecodeRuneInString(text[end:])
			if wordRune(r) && !unspaced(r) {
				return false
			}
		}
	}
	return true
}

// unspaced reports a letter of a script written without spaces between
// words, with the signs these scripts share (the kana's length mark ー,
// full-width forms).
func unspaced(r rune) bool {
	return r >= 0x0e00 && (r >= 0x3000 && r <= 0x30ff || r >= 0xff00 && r <= 0xffef ||
		unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai))
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

// wordRune reports a letter or digit: outside ASCII by Unicode's classes,
// so that "¿", "«" and "„" bound a phrase as "?" and '"' do.
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// A regex is tried on window bytes either side of its literal, at most
// maxTries times per message: patterns describe phrases, not pages.
const (
	window   = 200
	maxTries = 16
)

// minLiteral is the shortest literal worth pre-filtering on; goodLiteral
// is long enough to be rare.
const (
	minLiteral  = 3
	goodLiteral = 5
)

// requiredLiterals returns literals one of which every match of expr must
// contain, lower-cased, or nil when none is known.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil
	}
	return required(re.Simplify())
}

func required(re *syntax.Regexp) []string {
	if set, ok := exact(re); ok {
		if len(set) > 0 && shortest(set) >= minLiteral {
			return set
		}
		return nil
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// Runs of children with exact sets multiply out ("no " (doctor |
		// physician) " visit" is two literals). Of those runs and the other
		// children's literals, the first whose weakest literal is
		// goodLiteral long is taken, so the writer decides by order, as in
		// "amount, then anything, then a common word"; failing that, the
		// set whose weakest literal is longest.
		var cands [][]string
		run := []string{""}
		for _, sub := range re.Sub {
			if set, ok := exact(sub); ok {
				if r, ok := product(run, set); ok {
					run = r
					continue
				}
				cands = append(cands, run)
				run = set
				continue
			}
			cands = append(cands, run, required(sub))
			run = []string{""}
		}
		cands = append(cands, run)
		var best []string
		bestLen := 0
		for _, l := range cands {
			if len(l) == 0 {
				continue
			}
			m := shortest(l)
			if m >= goodLiteral {
				return l
			}
			if m >= minLiteral && m > bestLen {
				best, bestLen = l, m
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l := required(sub)
			if l == nil {
				return nil
			}
			all = append(all, l...)
		}
		return dedupe(all)
	}
	return nil
}

// maxExact bounds the strings of an exact set, maxClass the characters of
// a class in one.
const (
	maxExact = 64
	maxClass = 4
)

// exact returns the strings re matches, lower-cased, when they are a finite
// set of at most maxExact: a literal, a small character class, an optional
// or alternative of such, and their concatenations. The parser factors
// alternatives ("eur 250|euro 250" becomes "eur(?: |o )250"), so exact sets
// see through what it factored.
func exact(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}, true
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return []string{""}, true // width zero: what is around it is contiguous
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpCharClass:
		// A few characters ("[.,]", "[ -]"); a range of letters is no
		// literal.
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(set) >= maxClass {
					return nil, false
				}
				set = append(set, strings.ToLower(string(r)))
			}
		}
		return dedupe(set), true
	case syntax.OpQuest:
		set, ok := exact(re.Sub[0])
		if !ok {
			return nil, false
		}
		return dedupe(append(set, "")), true
	case syntax.OpAlternate:
		var set []string
		for _, sub := range re.Sub {
			s, ok := exact(sub)
			if !ok || len(set)+len(s) > maxExact {
				return nil, false
			}
			set = append(set, s...)
		}
		return dedupe(set), true
	case syntax.OpConcat:
		set := []string{""}
		for _, sub := range re.Sub {
			s, ok := exact(sub)
			if !ok {
				return nil, false
			}
			if set, ok = product(set, s); !ok {
				return nil, false
			}
		}
		return set, true
	}
	return nil, false
}

// product returns every a followed by every b, false when more than
// maxExact.
func product(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxExact {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return dedupe(out), true
}

func dedupe(set []string) []string {
	slices.Sort(set)
	return slices.Compact(set)
}

func shortest(l []string) int {
	m := len(l[0])
	for _, s := range l[1:] {
		m = min(m, len(s))
	}
	return m
}
