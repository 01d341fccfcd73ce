// Package fuzzy is the engine check that compares the message text's fuzzy
// signature with the signatures of known spam in the content database. A
// close match means the message is a known spam with a few words changed.
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

// Check is the fuzzy-signature check.
type Check struct{}

// New returns the check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "fuzzy" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	if in.DB == nil || in.DB.Fuzzy.Len() == 0 {
		return engine.Result{}, nil
	}
	sig, ok := fuzzy.Sign(in.Msg.Text)
	if !ok {
		return engine.Result{}, nil
	}
	sim, _ := in.DB.Fuzzy.Best(&sig)
	for _, l := range levels {
		if sim >= l.min {
			return engine.Result{Signs: []engine.Sign{{
				Name:   l.name,
				Score:  l.score,
				Desc:   fmt.Sprintf("Text %.0f%% similar to known spam", sim*100),
				Method: "fuzzy",
			}}}, nil
		}
	}
	return engine.Result{}, nil
}
