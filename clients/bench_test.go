package clients_test

import (
	"context"
	"os"
	"testing"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// BenchmarkCheckDirect is the baseline for the milter and pipe overhead
// benchmarks: one Check (a Scan over loopback gRPC to an in-process fake
// scanner, plus NewPlan) for a small message.
func BenchmarkCheckDirect(b *testing.B) {
	msg, err := os.ReadFile("testdata/gtube.eml")
	if err != nil {
		b.Fatal(err)
	}
	srv := clienttest.Start(b, clienttest.Policy())
	s := clients.DefaultSettings()
	s.Servers = []string{srv.Addr}
	c, err := clients.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := c.Check(context.Background(), &scillav1.Envelope{MailFrom: "a@example.net", RcptTo: []string{"bob@example.com"}}, msg, "bench")
		if p.Err != nil {
			b.Fatal(p.Err)
		}
	}
}
