package bayes

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/shared/sharedtest"
)

const campaign = `Congratulations! Your email address has been selected to receive our
exclusive travel package: seven nights in a luxury resort with airfare, meals
and a rental car included. To claim your vacation simply call our reservation
centre within seventy two hours and mention your personal claim code.`

func campaignMsg(id string) []byte {
	return []byte("From: a@example.net\r\nSubject: trip\r\nMessage-ID: <" + id + "@example.net>\r\n\r\n" + campaign)
}

// probeSig is the signature of the campaign with a few words changed.
func probeSig(t *testing.T) *fuzzy.Signature {
	t.Helper()
	text := strings.NewReplacer("seven", "nine", "luxury", "deluxe").Replace(campaign)
	sig, ok := fuzzy.Sign(message.Parse([]byte("Subject: x\r\n\r\n"+text), message.DefaultLimits).Text)
	if !ok {
		t.Fatal("probe too short")
	}
	return &sig
}

// TestStoreFuzzySignatures: learning spam keeps the message's fuzzy
// signature (per domain, surviving a restart); ham and forget drop it.
func TestStoreFuzzySignatures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "learn.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	probe := probeSig(t)
	steps := []struct {
		name    string
		domain  string
		label   Label
		global  bool // the probe matches for any domain
		example bool // the probe matches for example.com
	}{
		{"spam for example.com", "example.com", LabelSpam, false, true},
		{"spam again is unchanged", "example.com", LabelSpam, false, true},
		{"relabelled ham", "example.com", LabelHam, false, false},
		{"spam globally", "", LabelSpam, true, true},
	}
	for _, st := range steps {
		if _, err := s.Learn(ctx, st.domain, st.label, [][]byte{campaignMsg("1")}); err != nil {
			t.Fatal(err)
		}
		if got := s.FuzzyBest("other.org", probe) >= 0.5; got != st.global {
			t.Errorf("%s: matches for other.org = %v, want %v", st.name, got, st.global)
		}
		if got := s.FuzzyBest("example.com", probe) >= 0.5; got != st.example {
			t.Errorf("%s: matches for example.com = %v, want %v", st.name, got, st.example)
		}
	}
	s.Close()
	if s, err = OpenStore(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.FuzzyBest("", probe) < 0.5 {
		t.Error("the learned signature did not survive a restart")
	}
	if _, err := s.Learn(ctx, "", LabelForget, [][]byte{campaignMsg("1")}); err != nil {
		t.Fatal(err)
	}
	if s.FuzzyBest("", probe) != 0 {
		t.Error("forget kept the signature")
	}
}

// TestSharedFuzzySignatures: a signature learned on one node matches on
// the other after a sync; relabelling there removes it everywhere.
func TestSharedFuzzySignatures(t *testing.T) {
	srv := sharedtest.Start(t)
	ctx := context.Background()
	a, b := OpenShared(srv.Client(t), nil), OpenShared(srv.Client(t), nil)
	defer a.Close()
	defer b.Close()
	probe := probeSig(t)
	if _, err := a.Learn(ctx, "", LabelSpam, [][]byte{campaignMsg("1")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B matches what A learned", func() bool { return b.FuzzyBest("", probe) >= 0.5 })
	if _, err := b.Learn(ctx, "", LabelHam, [][]byte{campaignMsg("1")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A drops what B relabelled", func() bool { return a.FuzzyBest("", probe) == 0 })
}
