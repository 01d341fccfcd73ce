package spamd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// BenchmarkReadRequest measures parsing an Exim rspamd-variant request.
func BenchmarkReadRequest(b *testing.B) {
	raw := readFile(b, "exim-rspamd.req")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ReadRequest(bufio.NewReader(bytes.NewReader(raw)), 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip measures one Exim-style connection (connect, request,
// answer, close) over loopback TCP with an instant scanner: the listener's
// own overhead per message.
func BenchmarkRoundTrip(b *testing.B) {
	f := &fakeScanner{resp: spamResponse()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go New(DefaultConfig(), func(context.Context, *scillav1.ScanRequest) (*scillav1.ScanResponse, error) { return f.resp, nil }, nil).Serve(ctx, ln)
	raw := readFile(b, "exim-rspamd.req")
	b.ResetTimer()
	for b.Loop() {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conn.Write(raw)
		if _, err := io.ReadAll(conn); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}
