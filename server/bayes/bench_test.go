package bayes

import (
	"testing"

	"github.com/scilla-mail/scilla/server/message"
)

func BenchmarkTokensClassify(b *testing.B) {
	raw := read(b, "spam1.eml")
	bl := NewBuilder()
	m := message.Parse(raw, message.DefaultLimits)
	bl.Add(true, Tokens(m, nil))
	bl.Add(false, []string{"x"})
	model := bl.Model(1)
	cl := NewClassifier(DefaultParams())
	for _, bc := range []struct {
		name  string
		stems *Stems
	}{{"stems shared", NewStems()}, {"stems afresh", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				cl.Classify(Tokens(m, bc.stems), model)
			}
		})
	}
}
