package fuzzy

import (
	"context"
	"strings"
	"testing"

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
		r, err := New().Run(context.Background(), in)
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
