package message_test

import (
	"context"
	"testing"

	"github.com/scilla-mail/scilla/server/check/eastern"
	"github.com/scilla-mail/scilla/server/check/formal"
	headerrules "github.com/scilla-mail/scilla/server/check/headers"
	"github.com/scilla-mail/scilla/server/check/obscene"
	"github.com/scilla-mail/scilla/server/check/structure"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/message/corpustest"
	"github.com/scilla-mail/scilla/server/policy"
)

// BenchmarkAnalysis is the message-analysis stage over the test split of
// the corpus: parsing plus the formal, header-rule, structure, Eastern and
// obscene checks, one message per op. Run with -cpu 1 for the per-core
// figure (make bench-analysis).
func BenchmarkAnalysis(b *testing.B) {
	msgs := corpustest.Load(b, "test")
	checks := []engine.Check{formal.New(), headerrules.New(), structure.New(), eastern.New(), obscene.New()}
	group := policy.Default().All()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := msgs[i%len(msgs)]
		in := &engine.Input{ScanID: "bench", Msg: message.ParseContext(ctx, m.Raw, message.DefaultLimits), Env: &engine.Envelope{}, Group: group}
		for _, c := range checks {
			if _, err := c.Run(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
