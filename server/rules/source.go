package rules

import (
	"bufio"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Source format (one rule a line, grouped under category headers):
//
//	# comment
//	[pharma]
//	PHARMA_DRUG_NAMES 2.0 body: viagra | cialis | /phent[ae]rmine/ -- Names drugs sold by spam
//
// A rule is NAME SCORE PART ':' ALTERNATIVES '--' DESCRIPTION. NAME is
// upper-case letters, digits and '_'. PART is where to look: subject, body
// (the visible text), text (subject and body), from (the From field), url
// (the links) or html (the HTML source). ALTERNATIVES are separated by '|':
// a plain phrase matches case-insensitively at word boundaries with runs of
// white space collapsed; /regex/ is a Go regular expression matched against
// the same lower-cased text (write it in lower case), run only when a
// literal it requires is present. On the body, text and html parts a regex
// must contain such a literal of at least 3 characters.
// The rule fires once when any alternative matches. Groups of alternatives
// joined by '&&' must each match, anywhere in the part, for the rule to
// fire: "update your entry | correct your listing && sign and return".
//
// After PART, "not-to=CC,CC" names the country-code domains whose
// recipients the rule does not count for, because its words are everyday
// mail there ("ghana" to a company under .gh):
//
//	SCAM_419_COUNTRIES 0.7 text not-to=ng,gh: nigeria | ghana -- ...

// Part says which text of the message a rule looks at.
type Part int

// Parts.
const (
	PartSubject Part = iota
	PartBody
	PartText
	PartFrom
	PartURL
	PartHTML
	numParts
)

var partNames = map[string]Part{"subject": PartSubject, "body": PartBody, "text": PartText, "from": PartFrom, "url": PartURL, "html": PartHTML}

// String returns the source spelling.
func (p Part) String() string {
	for n, v := range partNames {
		if v == p {
			return n
		}
	}
	return "part(" + strconv.Itoa(int(p)) + ")"
}

// Rule is one parsed rule.
type Rule struct {
	Name     string
	Score    float64
	Category string
	Part     Part
	Desc     string
	// Phrases are the normalised literal alternatives.
	Phrases []string
	// Regexps are the regular-expression alternatives as written.
	Regexps []string
	// Groups is the number of groups joined by "&&", 1 without; PhraseGroup
	// and RegexpGroup give the group, from 0, of each phrase and regex.
	Groups                   int
	PhraseGroup, RegexpGroup []int
	// NotTo are the country-code top-level domains (lower case, no dot)
	// whose recipients the rule does not count for.
	NotTo []string
	// Line is the source line, for error messages.
	Line int
}

// ErrSyntax marks a rule source that cannot be parsed.
var ErrSyntax = errors.New("rules: syntax error")

var (
	nameRE     = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)
	categoryRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	notToRE    = regexp.MustCompile(`^not-to=[a-z]{2}(,[a-z]{2})*$`)
)

// Parse reads rule source. file names the source in error messages. Every
// error in the source is reported, each as file:line: message.
func Parse(file, src string) ([]Rule, error) {
	var (
		rules    []Rule
		errs     []error
		category string
		names    = map[string]int{}
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%w: %s:%d: %s", ErrSyntax, file, line, fmt.Sprintf(format, a...)))
		}
		if l[0] == '[' {
			c, ok := strings.CutSuffix(l[1:], "]")
			if !ok || !categoryRE.MatchString(c) {
				fail("bad category header %q (want [lower-case-name])", l)
				continue
			}
			category = c
			continue
		}
		r, err := parseRule(l)
		if err != nil {
			fail("%v", err)
			continue
		}
		if category == "" {
			fail("rule %s before any [category]", r.Name)
			continue
		}
		if prev, dup := names[r.Name]; dup {
			fail("rule %s already defined on line %d", r.Name, prev)
			continue
		}
		names[r.Name] = line
		r.Category, r.Line = category, line
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %s: %v", ErrSyntax, file, err))
	}
	return rules, errors.Join(errs...)
}

func parseRule(l string) (Rule, error) {
	var r Rule
	head, rest, ok := strings.Cut(l, ":")
	if !ok {
		return r, errors.New("missing ':' after NAME SCORE PART")
	}
	f := strings.Fields(head)
	if len(f) != 3 && len(f) != 4 {
		return r, fmt.Errorf("want NAME SCORE PART [not-to=CC,...] before ':', got %q", head)
	}
	if !nameRE.MatchString(f[0]) {
		return r, fmt.Errorf("bad rule name %q (upper-case letters, digits, _)", f[0])
	}
	r.Name = f[0]
	sc, err := strconv.ParseFloat(f[1], 64)
	if err != nil || sc < -100 || sc > 100 || sc != sc {
		return r, fmt.Errorf("rule %s: bad score %q", r.Name, f[1])
	}
	r.Score = sc
	p, ok := partNames[f[2]]
	if !ok {
		return r, fmt.Errorf("rule %s: unknown part %q (subject, body, text, from, url, html)", r.Name, f[2])
	}
	r.Part = p
	if len(f) == 4 {
		if !notToRE.MatchString(f[3]) {
			return r, fmt.Errorf("rule %s: bad %q after the part (want not-to= and two-letter country codes, e.g. not-to=ng,gh)", r.Name, f[3])
		}
		r.NotTo = strings.Split(strings.TrimPrefix(f[3], "not-to="), ",")
	}
	i := strings.LastIndex(rest, " -- ")
	if i < 0 {
		return r, fmt.Errorf("rule %s: missing ' -- description'", r.Name)
	}
	r.Desc = strings.TrimSpace(rest[i+4:])
	if r.Desc == "" {
		return r, fmt.Errorf("rule %s: empty description", r.Name)
	}
	alts := strings.TrimSpace(rest[:i])
	group := 0
	for alts != "" {
		var alt string
		if alts[0] == '/' {
			end := closingSlash(alts)
			if end < 0 {
				return r, fmt.Errorf("rule %s: unterminated /regex/", r.Name)
			}
			expr := alts[1:end]
			if _, err := regexp.Compile(expr); err != nil {
				return r, fmt.Errorf("rule %s: %v", r.Name, err)
			}
			if (r.Part == PartBody || r.Part == PartText || r.Part == PartHTML) && len(requiredLiterals(expr)) == 0 {
				return r, fmt.Errorf("rule %s: /%s/ needs a literal of %d+ characters that every match contains (the pre-filter); without one it would run on every message", r.Name, expr, minLiteral)
			}
			r.Regexps = append(r.Regexps, expr)
			r.RegexpGroup = append(r.RegexpGroup, group)
			alts = strings.TrimSpace(alts[end+1:])
		} else {
			j := strings.IndexByte(alts, '|')
			if j < 0 {
				j = len(alts)
			}
			if k := strings.Index(alts[:j], "&&"); k >= 0 {
				j = k
			}
			alt, alts = alts[:j], alts[j:]
			if strings.TrimSpace(alt) == "" {
				return r, fmt.Errorf("rule %s: empty alternative before %q", r.Name, alts[:min(len(alts), 2)])
			}
			ph := Normalize(strings.TrimSpace(alt))
			if len(ph) < 2 {
				return r, fmt.Errorf("rule %s: phrase %q too short", r.Name, alt)
			}
			// Written twice, or once with accents and once without:
			// one is enough.
			if !r.hasPhrase(ph, group) {
				r.Phrases = append(r.Phrases, ph)
				r.PhraseGroup = append(r.PhraseGroup, group)
			}
			alts = strings.TrimSpace(alts)
		}
		if alts == "" {
			break
		}
		sep := "|"
		if strings.HasPrefix(alts, "&&") {
			sep = "&&"
			if group++; group == maxGroups {
				return r, fmt.Errorf("rule %s: more than %d groups joined by '&&'", r.Name, maxGroups)
			}
		} else if alts[0] != '|' {
			return r, fmt.Errorf("rule %s: want '|' or '&&' between alternatives near %q", r.Name, alts)
		}
		alts = strings.TrimSpace(alts[len(sep):])
		if alts == "" {
			return r, fmt.Errorf("rule %s: empty alternative after '%s'", r.Name, sep)
		}
	}
	if len(r.Phrases)+len(r.Regexps) == 0 {
		return r, fmt.Errorf("rule %s: no pattern", r.Name)
	}
	r.Groups = group + 1
	return r, nil
}

// maxGroups bounds the groups of a rule joined by "&&": one bit each of a
// uint8 (Set.MatchTexts).
const maxGroups = 8

// hasPhrase reports a phrase already in the group.
func (r *Rule) hasPhrase(ph string, group int) bool {
	for i, p := range r.Phrases {
		if p == ph && r.PhraseGroup[i] == group {
			return true
		}
	}
	return false
}

// closingSlash returns the index of the '/' closing a regex that starts at
// s[0], skipping escaped characters.
func closingSlash(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			return i
		}
	}
	return -1
}

// Normalize lower-cases s, folds accented Latin letters to plain ones
// ("Gebühr" and "Gebuhr" both become "gebuhr") and collapses runs of white
// space to one space: the form both phrases and scanned text take, so a
// phrase matches text typed with or without accents. ASCII takes a fast
// path; other runes are lower-cased by Unicode rules.
func Normalize(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case ' ', '\t', '\n', '\r', '\f', '\v':
				space = true
				continue
			}
			if space && len(b) > 0 {
				b = append(b, ' ')
			}
			space = false
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == '\u00a0' || unicode.IsSpace(r) {
			space = true
			continue
		}
		if arabicMark(r) {
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		if f := foldRune(r); f != "" {
			b = append(b, f...)
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return string(b)
}
