package bayes

import (
	"math"
	"slices"
	"strings"
)

// Source is a table of token counts: the database's Model or local learning.
type Source interface {
	// Totals returns the numbers of spam and ham training messages.
	Totals() (spam, ham uint32)
	// Lookup returns a token's counts.
	Lookup(tok string) Counts
}

// Totals implements Source.
func (m *Model) Totals() (spam, ham uint32) {
	if m == nil {
		return 0, 0
	}
	return m.Spam, m.Ham
}

// Params tune the combining. The defaults were chosen by cross-validation on
// the training split only (see docs/content.md).
type Params struct {
	// S is the strength of the prior X: how many messages of evidence a
	// token needs before its own ratio dominates (Robinson's s).
	S float64
	// X is the probability assumed for a token never seen.
	X float64
	// MinDev drops tokens whose probability is within MinDev of 0.5.
	MinDev float64
	// MaxClues is the most tokens combined, the strongest first.
	MaxClues int
}

// DefaultParams returns the tuned parameters.
func DefaultParams() Params {
	return Params{S: 0.1, X: 0.5, MinDev: 0.1, MaxClues: 400}
}

// Clue is one token that took part in a decision.
type Clue struct {
	Token string
	Prob  float64
}

// Result is the classifier's outcome for one message.
type Result struct {
	// Prob is the spam probability in [0, 1]; 0.5 means no evidence.
	Prob float64
	// Clues are the tokens used, strongest first.
	Clues []Clue
	// LogOdds is the mean log-odds of the clues: a continuous measure that,
	// unlike Prob, does not saturate on long messages.
	LogOdds float64
}

// Classifier combines token probabilities with Fisher's method
// (Robinson's chi-squared combining, as in SpamBayes).
type Classifier struct {
	p Params
}

// NewClassifier returns a classifier with the parameters.
func NewClassifier(p Params) *Classifier { return &Classifier{p: p} }

// Classify rates the tokens against the sum of the sources' counts.
func (c *Classifier) Classify(toks []string, srcs ...Source) Result {
	var nspam, nham float64
	for _, s := range srcs {
		if s == nil {
			continue
		}
		a, b := s.Totals()
		nspam += float64(a)
		nham += float64(b)
	}
	if nspam == 0 || nham == 0 {
		return Result{Prob: 0.5}
	}
	clues := make([]Clue, 0, 64)
	for _, t := range toks {
		if strings.HasPrefix(t, LanguagePrefix) {
			continue
		}
		var sc, hc float64
		for _, s := range srcs {
			if s == nil {
				continue
			}
			k := s.Lookup(t)
			sc += float64(k.Spam)
			hc += float64(k.Ham)
		}
		n := sc + hc
		if n == 0 {
			continue
		}
		sr := min(sc/nspam, 1)
		hr := min(hc/nham, 1)
		p := sr / (sr + hr)
		f := (c.p.S*c.p.X + n*p) / (c.p.S + n)
		if math.Abs(f-0.5) < c.p.MinDev {
			continue
		}
		clues = append(clues, Clue{Token: t, Prob: f})
	}
	slices.SortFunc(clues, func(a, b Clue) int {
		da, db := math.Abs(a.Prob-0.5), math.Abs(b.Prob-0.5)
		switch {
		case da > db:
			return -1
		case da < db:
			return 1
		}
		return strings.Compare(a.Token, b.Token)
	})
	if len(clues) > c.p.MaxClues {
		clues = clues[:c.p.MaxClues]
	}
	if len(clues) == 0 {
		return Result{Prob: 0.5}
	}
	// Sum logs rather than multiplying, so long messages cannot underflow.
	var lnS, lnH float64
	for _, cl := range clues {
		p := min(max(cl.Prob, 1e-6), 1-1e-6)
		lnS += math.Log(1 - p)
		lnH += math.Log(p)
	}
	lo := (lnH - lnS) / float64(len(clues))
	n := 2 * len(clues)
	s := 1 - chi2Q(-2*lnS, n)
	h := 1 - chi2Q(-2*lnH, n)
	return Result{Prob: (s - h + 1) / 2, Clues: clues, LogOdds: lo}
}

// Bounds of the classifier's word in a language it hardly knows: with fewer
// than MinLanguageHam legitimate messages of the message's language among
// its sources, its spam-ward score counts at most LanguageCap points.
// Judgment, not fit: a corpus that holds a language only in spam cannot
// show that the language's legitimate mail exists. A site that learns
// MinLanguageHam of its own legitimate letters in a language lifts the cap
// for it.
const (
	MinLanguageHam = 20
	LanguageCap    = 1.0
)

// AloneCap is the most the classifier's score counts toward spam when no
// other sign backs it (engine.Sign.Alone): below Standard's threshold
// (4.5), so the classifier alone never flags a message there, as in
// SpamAssassin, whose BAYES_99 is worth 3.5 of its 5 points. Judgment,
// not fit: the training mail is of 2002, and today's transactional
// notices (a payment received, a tax reminder, a statement ready) read
// like its spam to the classifier and to nothing else.
const AloneCap = 4.0

// UnfamiliarLanguage returns the language of the tokens (LanguagePrefix)
// and the number of legitimate messages in it the sources learnt from,
// when that is below MinLanguageHam; "" when the language is familiar or
// the message has none.
func UnfamiliarLanguage(toks []string, srcs ...Source) (lang string, ham uint32) {
	for _, t := range toks {
		if !strings.HasPrefix(t, LanguagePrefix) {
			continue
		}
		for _, s := range srcs {
			if s != nil {
				ham += s.Lookup(t).Ham
			}
		}
		if ham < MinLanguageHam {
			return strings.TrimPrefix(t, LanguagePrefix), ham
		}
		return "", ham
	}
	return "", 0
}

// chi2Q is the probability that a chi-squared variable with v (even) degrees
// of freedom exceeds x2.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	term := math.Exp(-m)
	sum := term
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return min(sum, 1)
}
