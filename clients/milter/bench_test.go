package milter_test

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
)

// BenchmarkPostfixThroughput measures how fast a real Postfix accepts
// small messages from smtp-source (1,000 messages, 4 connections in
// parallel) without a milter, and through scilla-milter over a unix and an
// inet socket with the real scillad behind it. Run it with
// `make bench-clients` (or -benchtime 1x): one iteration is 1,000 messages.
func BenchmarkPostfixThroughput(b *testing.B) {
	pt.Require(b)
	source, err := exec.LookPath("smtp-source")
	if err != nil {
		b.Skip("needs smtp-source (Debian package postfix)")
	}
	sd := pt.StartScillad(b)
	const msgs = 1000
	for _, kind := range []string{"none", "unix", "inet"} {
		b.Run(kind, func(b *testing.B) {
			var r *rig
			if kind == "none" {
				r = &rig{pf: pt.Start(b, pt.Config{Relay: "discard:"})}
			} else {
				// Postfix discards after queueing, so delivery does not
				// compete with the measured path for the two cores.
				r = startRig(b, kind, map[string]string{"relay": "discard:"}, "-server", sd.Addr)
			}
			// Warm up: connections, processes, scillad workers.
			if out, err := exec.Command(source, "-s", "4", "-m", "40", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput(); err != nil {
				b.Fatalf("smtp-source: %v %s", err, out)
			}
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				out, err := exec.Command(source, "-s", "4", "-m", fmt.Sprint(msgs), "-l", "1024", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput()
				if err != nil {
					b.Fatalf("smtp-source: %v %s", err, out)
				}
				total += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(msgs*b.N)/total.Seconds(), "msg/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
