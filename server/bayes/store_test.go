package bayes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/message"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreLearnIdempotentRelabelPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "learn.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	spam, ham := read(t, "spam1.eml"), read(t, "ham1.eml")
	steps := []struct {
		name      string
		label     Label
		new       bool // LearnNew instead of Learn
		msgs      [][]byte
		want      LearnResult
		spamToken Counts // counts of "mortgag" (the stem of "mortgage") afterwards
	}{
		{"learn spam", LabelSpam, false, [][]byte{spam}, LearnResult{Learned: 1, SpamTotal: 1}, Counts{Spam: 1}},
		{"same again is unchanged", LabelSpam, false, [][]byte{spam}, LearnResult{Unchanged: 1, SpamTotal: 1}, Counts{Spam: 1}},
		{"twice in one call counts once", LabelHam, false, [][]byte{ham, ham}, LearnResult{Learned: 1, Unchanged: 1, SpamTotal: 1, HamTotal: 1}, Counts{Spam: 1}},
		{"relabel moves counts", LabelHam, false, [][]byte{spam}, LearnResult{Relabelled: 1, HamTotal: 2}, Counts{Ham: 1}},
		{"LearnNew leaves a learned message", LabelSpam, true, [][]byte{spam}, LearnResult{Unchanged: 1, HamTotal: 2}, Counts{Ham: 1}},
		{"forget removes", LabelForget, false, [][]byte{spam}, LearnResult{Learned: 1, HamTotal: 1}, Counts{}},
		{"forget unknown is unchanged", LabelForget, false, [][]byte{spam}, LearnResult{Unchanged: 1, HamTotal: 1}, Counts{}},
		{"LearnNew learns an unknown message", LabelSpam, true, [][]byte{spam}, LearnResult{Learned: 1, SpamTotal: 1, HamTotal: 1}, Counts{Spam: 1}},
	}
	for _, st := range steps {
		learn := s.Learn
		if st.new {
			learn = s.LearnNew
		}
		got, err := learn(ctx, "", st.label, st.msgs)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
		if c := s.Source("").Lookup("mortgag"); c != st.spamToken {
			t.Errorf("%s: mortgage counts %+v, want %+v", st.name, c, st.spamToken)
		}
	}
	// Learned counts survive a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if sp, h := s.Totals(""); sp != 1 || h != 1 {
		t.Errorf("after reopen totals %d/%d, want 1/1", sp, h)
	}
	if c := s.Source("").Lookup("mortgag"); c != (Counts{Spam: 1}) {
		t.Errorf("after reopen mortgage %+v", c)
	}
	if got, _ := s.Learn(ctx, "", LabelSpam, [][]byte{spam}); got.Unchanged != 1 {
		t.Errorf("after reopen the message must still be known: %+v", got)
	}
	if _, err := s.Learn(ctx, "", Label(9), [][]byte{spam}); err == nil {
		t.Error("unknown label accepted")
	}
}

func TestStorePerDomain(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(filepath.Join(t.TempDir(), "learn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Learn(ctx, "Example.COM", LabelSpam, [][]byte{read(t, "spam1.eml")}); err != nil {
		t.Fatal(err)
	}
	if c := s.Source("").Lookup("mortgag"); c != (Counts{}) {
		t.Errorf("domain learning leaked into global: %+v", c)
	}
	if c := s.Source("example.com").Lookup("mortgag"); c != (Counts{Spam: 1}) {
		t.Errorf("domain source: %+v", c)
	}
	if sp, _ := s.Source("example.com").Totals(); sp != 1 {
		t.Errorf("domain totals %d", sp)
	}
}

func TestMessageKeyIgnoresTraceHeaders(t *testing.T) {
	raw := read(t, "spam1.eml")
	again := append([]byte("Received: from relay.example.net by mx.example.com; Tue, 3 Sep 2002\r\nX-Spamtest-Status: SPAM\r\n"), raw...)
	a := MessageKey(message.Parse(raw, message.DefaultLimits))
	b := MessageKey(message.Parse(again, message.DefaultLimits))
	if a != b {
		t.Error("a re-delivered copy must have the same key")
	}
	c := MessageKey(message.Parse(read(t, "ham1.eml"), message.DefaultLimits))
	if a == c {
		t.Error("different messages share a key")
	}
	// The body starts where the header ends, whatever line ends either
	// uses: two bodies that differ in their first paragraph differ, though
	// both hold a blank CRLF line later.
	d := MessageKey(message.Parse([]byte("From: a@example.com\nSubject: x\n\none\r\n\r\nsame\r\n"), message.DefaultLimits))
	e := MessageKey(message.Parse([]byte("From: a@example.com\nSubject: x\n\ntwo\r\n\r\nsame\r\n"), message.DefaultLimits))
	if d == e {
		t.Error("bodies that differ share a key")
	}
}

func TestRPC(t *testing.T) {
	s, err := OpenStore(filepath.Join(t.TempDir(), "learn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rpc := RPC{Store: s}
	ctx := context.Background()
	resp, err := rpc.Learn(ctx, &scillav1.LearnRequest{Label: scillav1.Label_LABEL_SPAM, Messages: [][]byte{read(t, "spam1.eml")}, Domain: "example.com"})
	if err != nil || resp.GetLearned() != 1 || resp.GetSpamTotal() != 1 {
		t.Fatalf("%v %v", resp, err)
	}
	resp, err = rpc.Learn(ctx, &scillav1.LearnRequest{Label: scillav1.Label_LABEL_HAM, Messages: [][]byte{read(t, "spam1.eml")}, Domain: "example.com"})
	if err != nil || resp.GetRelabelled() != 1 || resp.GetHamTotal() != 1 {
		t.Fatalf("%v %v", resp, err)
	}
	if _, err := rpc.Learn(ctx, &scillav1.LearnRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unspecified label: %v", err)
	}
	if _, err := (RPC{}).Learn(ctx, &scillav1.LearnRequest{Label: scillav1.Label_LABEL_SPAM}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("no store: %v", err)
	}
}
