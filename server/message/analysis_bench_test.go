package message_test

import (
	"context"
	"syscall"
	"testing"
	"time"

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
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		m := msgs[i%len(msgs)]
		in := &engine.Input{ScanID: "bench", Msg: message.ParseContext(ctx, m.Raw, message.DefaultLimits), Env: &engine.Envelope{}, Group: group}
		for _, c := range checks {
			if _, err := c.Run(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRates(b, cpu0)
}

// reportRates reports messages per wall second and per CPU second of the
// process (user + system, GC included): on a shared machine the second is
// the honest per-core figure.
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
