package fuzzy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

const known = `Congratulations! Your email address has been selected to receive our
exclusive travel package: seven nights in a luxury resort with airfare, meals
and a rental car included. To claim your vacation simply call our reservation
centre within seventy two hours and mention your personal claim code. Seats
are limited and this offer will not be repeated. Reply now to secure your
place before the deadline expires at the end of this week.`

func dbWith(t *testing.T, texts ...string) *contentdb.DB {
	t.Helper()
	var sigs []fuzzy.Signature
	for _, s := range texts {
		sig, ok := fuzzy.Sign(s)
		if !ok {
			t.Fatal("text too short")
		}
		sigs = append(sigs, sig)
	}
	return contentdbtest.DB(t, "t", map[string][]byte{contentdb.FuzzyFile: fuzzy.Marshal(sigs)})
}

func TestModifiedSpamMatches(t *testing.T) {
	db := dbWith(t, known)
	changed := strings.NewReplacer("seven", "nine", "luxury", "deluxe", "seventy two", "forty eight", "week", "month").Replace(known)
	cases := []struct {
		name, text, want string
	}{
		{"same text", known, "FUZZY_SPAM_HIGH"},
		{"a few words changed", changed, "FUZZY_SPAM"},
		{"unrelated", strings.Repeat("the meeting moved to thursday because the projector in room four is broken again ", 4), ""},
		{"too short", "call now", ""},
	}
	for _, c := range cases {
		raw := "From: a@example.net\r\nSubject: hi\r\n\r\n" + c.text
		in := &engine.Input{ScanID: "t", Msg: message.Parse([]byte(raw), message.DefaultLimits), Env: &engine.Envelope{}, Group: policy.Default().All(), DB: db}
		r, err := New(nil).Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(r.Signs) > 0 {
			got = r.Signs[0].Name
			if r.Signs[0].Method != "fuzzy" || r.Signs[0].Score <= 0 {
				t.Errorf("%s: sign %+v", c.name, r.Signs[0])
			}
		}
		// A changed spam may score as a closer match than asked; it must match.
		if got != c.want && !(c.want == "FUZZY_SPAM" && got == "FUZZY_SPAM_HIGH") {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestLearnedSpamMatches: a message learned as spam (scilla learn --spam)
// is matched by its fuzzy signature, for its domain or globally; learning
// it as ham or forgetting it removes the signature.
func TestLearnedSpamMatches(t *testing.T) {
	store, err := bayes.OpenStore(filepath.Join(t.TempDir(), "learn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	msg := []byte("From: a@example.net\r\nSubject: trip\r\nMessage-ID: <1@example.net>\r\n\r\n" + known)
	changed := strings.NewReplacer("seven", "nine", "luxury", "deluxe").Replace(known)
	check := New(store)
	ctx := context.Background()
	steps := []struct {
		name   string
		domain string // learned for
		label  bayes.Label
		rcpt   string
		want   string
	}{
		{"nothing learned", "", 0, "u@example.com", ""},
		{"learned as spam for example.com", "example.com", bayes.LabelSpam, "u@example.com", "FUZZY_SPAM"},
		{"not for another domain", "", 0, "u@other.org", ""},
		{"relabelled ham", "example.com", bayes.LabelHam, "u@example.com", ""},
		{"learned as spam globally", "", bayes.LabelSpam, "u@other.org", "FUZZY_SPAM"},
		{"forgotten", "", bayes.LabelForget, "u@other.org", ""},
	}
	for _, st := range steps {
		if st.label != 0 {
			if _, err := store.Learn(ctx, st.domain, st.label, [][]byte{msg}); err != nil {
				t.Fatal(err)
			}
		}
		raw := "From: b@example.net\r\nSubject: again\r\n\r\n" + changed
		in := &engine.Input{ScanID: "t", Msg: message.Parse([]byte(raw), message.DefaultLimits),
			Env: &engine.Envelope{Rcpts: []string{st.rcpt}}, Group: policy.Default().All()}
		r, err := check.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(r.Signs) > 0 {
			got = r.Signs[0].Name
			if !strings.Contains(r.Signs[0].Desc, "learned here") {
				t.Errorf("%s: desc %q does not say the spam was learned", st.name, r.Signs[0].Desc)
			}
		}
		if got != st.want && !(st.want == "FUZZY_SPAM" && got == "FUZZY_SPAM_HIGH") {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
}
