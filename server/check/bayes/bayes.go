// Package bayes is the engine check that rates a message with the
// statistical classifier: the content database's token counts plus the
// counts learned locally (globally and for the recipients' domain). The
// sign's name says the probability band (BAYES_99...); its score is a
// continuous function of the classifier's outcome through the database's
// calibration (bayes.Calibration), negative for ham.
package bayes

import (
	"context"
	"fmt"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/engine"
)

// Band names the sign for a probability range (the score is continuous).
type Band struct {
	// Min is the lowest probability in the band.
	Min  float64
	Name string
}

// Bands returns the bands from the spammiest down.
func Bands() []Band {
	return []Band{
		{0.9999, "BAYES_9999"}, {0.999, "BAYES_999"}, {0.99, "BAYES_99"}, {0.95, "BAYES_95"},
		{0.80, "BAYES_80"}, {0.60, "BAYES_60"}, {0.40, "BAYES_50"}, {0.20, "BAYES_20"},
		{0.05, "BAYES_05"}, {0.01, "BAYES_01"}, {0, "BAYES_00"},
	}
}

// Check is the classifier check.
type Check struct {
	cl    *bayes.Classifier
	store *bayes.Store
	bands []Band
	stems *bayes.Stems
}

// New returns the check. store may be nil (no local learning).
func New(store *bayes.Store) *Check {
	return &Check{cl: bayes.NewClassifier(bayes.DefaultParams()), store: store, bands: Bands(), stems: bayes.NewStems()}
}

// Name implements engine.Check.
func (*Check) Name() string { return "bayes" }

// Run implements engine.Check.
func (c *Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	if in.DB == nil || in.DB.Tokens == nil {
		return engine.Result{}, nil
	}
	toks := bayes.Tokens(in.Msg, c.stems)
	var local bayes.Source
	if c.store != nil {
		local = c.store.Source(in.Env.RcptDomain())
	}
	r := c.cl.Classify(toks, in.DB.Tokens, local)
	lin := in.DB.Weights.Score(toks)
	b := c.band(r.Prob)
	score := in.DB.Calibration.Score(r, lin)
	desc := fmt.Sprintf("Bayesian spam probability %.4f, linear log-odds %.2f", r.Prob, lin)
	if score > bayes.LanguageCap {
		if l, n := bayes.UnfamiliarLanguage(toks, in.DB.Tokens, local); l != "" {
			score = bayes.LanguageCap
			msgs := "messages"
			if n == 1 {
				msgs = "message"
			}
			desc += fmt.Sprintf("; counted at most %.1f: learnt from %d legitimate %s in language %q", bayes.LanguageCap, n, msgs, l)
		}
	}
	if score == 0 {
		return engine.Result{}, nil
	}
	return engine.Result{Signs: []engine.Sign{{
		Name:   b.Name,
		Score:  score,
		Desc:   desc,
		Method: "content",
		Alone:  bayes.AloneCap,
	}}}, nil
}

func (c *Check) band(p float64) Band {
	for _, b := range c.bands {
		if p >= b.Min {
			return b
		}
	}
	return c.bands[len(c.bands)-1]
}
