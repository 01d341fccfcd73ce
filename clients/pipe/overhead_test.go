package pipe

import (
	"net"
	"net/textproto"
	"os"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
)

// BenchmarkPipeMessage measures one message through scilla-pipe: an SMTP
// transaction in (on a kept-open connection), the scan on the in-process
// fake, and the delivery to an SMTP sink on a new connection, acknowledged
// only after the sink accepted. Subtract BenchmarkCheckDirect (package
// clients) for the pipe's own overhead.
func BenchmarkPipeMessage(b *testing.B) {
	msg, err := os.ReadFile("../testdata/gtube.eml")
	if err != nil {
		b.Fatal(err)
	}
	sink := pt.StartSink(b, false)
	fake := clienttest.Start(b, clienttest.Policy())
	s := clients.DefaultSettings()
	s.Servers = []string{fake.Addr}
	c, err := clients.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tg, _ := ParseTarget("smtp:" + sink.Addr)
	p := New(c, &Deliverer{Target: tg, Hostname: "bench", Timeout: time.Minute}, Config{Hostname: "bench"}, nil)
	srv := &smtpserver.Server{Hostname: "bench", MaxSize: 1 << 20, MaxRecipients: 10, ReadTimeout: time.Minute, Handler: p}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	conn, err := textproto.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	expect := func(code int) {
		if _, _, err := conn.ReadResponse(code); err != nil {
			b.Fatal(err)
		}
	}
	expect(220)
	conn.PrintfLine("EHLO bench")
	expect(250)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conn.PrintfLine("MAIL FROM:<a@example.net>")
		conn.PrintfLine("RCPT TO:<bob@example.com>")
		conn.PrintfLine("DATA")
		expect(250)
		expect(250)
		expect(354)
		w := conn.DotWriter()
		w.Write(msg)
		w.Close()
		expect(250)
	}
	b.StopTimer()
	if n := sink.Count(); n != b.N {
		b.Fatalf("sink got %d of %d", n, b.N)
	}
}
