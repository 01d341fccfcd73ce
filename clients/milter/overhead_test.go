package milter

import (
	"bytes"
	"os"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
)

// BenchmarkMilterMessage measures one message through scilla-milter as an
// MTA drives it (MAIL, RCPT, headers, body, end of message, applying the
// modifications) on a kept-open milter connection, scanning on the
// in-process fake. Subtract BenchmarkCheckDirect (package clients) for the
// milter's own overhead.
func BenchmarkMilterMessage(b *testing.B) {
	raw, err := os.ReadFile("../testdata/gtube.eml")
	if err != nil {
		b.Fatal(err)
	}
	head, body := clients.SplitHeader(raw)
	fake := clienttest.Start(b, clienttest.Policy())
	s := clients.DefaultSettings()
	s.Servers = []string{fake.Addr}
	c, err := clients.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv := New(c, "bench", nil)
	ln, err := Listen("inet:127.0.0.1:0", 0)
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	client := gomilter.NewClient("tcp", ln.Addr().String())
	macros := gomilter.NewMacroBag()
	sess, err := client.Session(macros)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Conn("mx.example.net", gomilter.FamilyInet, 25, "192.0.2.1"); err != nil {
		b.Fatal(err)
	}
	if _, err := sess.Helo("mx.example.net"); err != nil {
		b.Fatal(err)
	}
	type field struct{ k, v string }
	var fields []field
	for _, l := range bytes.Split(bytes.TrimSpace(head), []byte("\n")) {
		k, v, _ := bytes.Cut(l, []byte(":"))
		fields = append(fields, field{string(k), string(bytes.TrimSpace(v))})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		macros.Set(gomilter.MacroQueueId, "Q1")
		sess.Mail("a@example.net", "")
		sess.Rcpt("bob@example.com", "")
		sess.DataStart()
		for _, f := range fields {
			sess.HeaderField(f.k, f.v, nil)
		}
		sess.HeaderEnd()
		mods, act, err := sess.BodyReadFrom(bytes.NewReader(body))
		if err != nil || act.Type != gomilter.ActionAccept || len(mods) == 0 {
			b.Fatalf("act %v mods %d err %v", act, len(mods), err)
		}
	}
}
