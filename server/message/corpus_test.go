package message_test

import (
	"testing"

	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/message/corpustest"
)

// BenchmarkParseCorpus parses every message of the test split; the figure
// per op is one message.
func BenchmarkParseCorpus(b *testing.B) {
	msgs := corpustest.Load(b, "test")
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		message.Parse(msgs[i%len(msgs)].Raw, message.DefaultLimits)
	}
	reportRates(b, cpu0)
}
