// Package rules is the engine check that matches the content database's
// phrase and pattern rules. Each rule that fires is a sign with the rule's
// score and category (reported in X-SpamTest-Categories); the rules of one
// category together add at most a cap, so a long message that trips many
// phrases of one topic cannot outweigh everything else.
package rules

import (
	"context"
	"slices"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
)

// CategoryCap is the most one category's rules add to the score.
const CategoryCap = 5.0

// silent categories help the score but are not reported as topics.
var silent = map[string]bool{"style": true}

// Check is the rules check.
type Check struct{}

// New returns the rules check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "rules" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	if in.DB == nil || in.DB.Rules == nil {
		return engine.Result{}, nil
	}
	hits := in.DB.Rules.Match(in.Msg)
	if len(hits) == 0 {
		return engine.Result{}, nil
	}
	sum := map[string]float64{}
	signs := make([]engine.Sign, 0, len(hits))
	country := message.CountryCode(in.Env.RcptDomain())
	for _, r := range hits {
		score, desc := r.Score, r.Desc
		if slices.Contains(r.NotTo, country) {
			// Everyday words where the recipients are: shown, not counted.
			score, desc = 0, desc+" (not counted for recipients under ."+country+")"
		}
		if score > 0 {
			left := CategoryCap - sum[r.Category]
			score = min(score, max(left, 0))
		}
		sum[r.Category] += score
		cat := r.Category
		if silent[cat] {
			cat = ""
		}
		signs = append(signs, engine.Sign{Name: r.Name, Score: score, Desc: desc, Category: cat, Method: "content"})
	}
	return engine.Result{Signs: signs}, nil
}
