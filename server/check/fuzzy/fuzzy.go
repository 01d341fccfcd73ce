// Package fuzzy is the engine check that compares the message text's fuzzy
// signature with the signatures of known spam: the content database's and
// those of messages learned as spam (`scilla learn --spam`, globally or
// for the recipients' domain, shared between servers through Redis when it
// is on). A close match means the message is a known spam with a few words
// changed.
package fuzzy

import (
	"context"
	"fmt"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/fuzzy"
)

// Levels from the closest match down.
var levels = []struct {
	min   float64
	name  string
	score float64
}{
	{0.85, "FUZZY_SPAM_HIGH", 3.0},
	{0.65, "FUZZY_SPAM", 2.0},
	{0.50, "FUZZY_SPAM_LOW", 0.8},
}

// Learned are the fuzzy signatures of messages learned as spam
// (*bayes.Store implements it).
type Learned interface {
	// HasFuzzy reports whether any signature is learned globally or for
	// the domain, so a scan without any skips signing the text.
	HasFuzzy(domain string) bool
	// FuzzyBest returns the highest similarity of sig to a signature
	// learned globally or for the domain; it must not block.
	FuzzyBest(domain string, sig *fuzzy.Signature) float64
}

// Check is the fuzzy-signature check.
type Check struct {
	learned Learned
}

// New returns the check; learned may be nil (no learning).
func New(learned Learned) *Check { return &Check{learned: learned} }

// Name implements engine.Check.
func (*Check) Name() string { return "fuzzy" }

// Run implements engine.Check.
func (c *Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	hasDB := in.DB != nil && in.DB.Fuzzy.Len() > 0
	domain := in.Env.RcptDomain()
	hasLearned := c.learned != nil && c.learned.HasFuzzy(domain)
	if !hasDB && !hasLearned {
		return engine.Result{}, nil
	}
	sig, ok := fuzzy.Sign(in.Msg.Text)
	if !ok {
		return engine.Result{}, nil
	}
	var sim float64
	if hasDB {
		sim, _ = in.DB.Fuzzy.Best(&sig)
	}
	what := "known spam"
	if hasLearned {
		if l := c.learned.FuzzyBest(domain, &sig); l > sim {
			sim, what = l, "spam learned here"
		}
	}
	for _, l := range levels {
		if sim >= l.min {
			return engine.Result{Signs: []engine.Sign{{
				Name:   l.name,
				Score:  l.score,
				Desc:   fmt.Sprintf("Text %.0f%% similar to %s", sim*100, what),
				Method: "fuzzy",
			}}}, nil
		}
	}
	return engine.Result{}, nil
}
