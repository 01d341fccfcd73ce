package bayes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func read(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign runs the check on raw for rcpt and returns its sign, the zero Sign
// when there is none.
func sign(t *testing.T, c *Check, db *contentdb.DB, raw []byte, rcpt string) engine.Sign {
	t.Helper()
	in := &engine.Input{ScanID: "t", Msg: message.Parse(raw, message.DefaultLimits),
		Env: &engine.Envelope{Rcpts: []string{rcpt}}, Group: policy.Default().All(), DB: db}
	r, err := c.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Signs) == 0 {
		return engine.Sign{}
	}
	return r.Signs[0]
}

func score(t *testing.T, c *Check, db *contentdb.DB, raw []byte, rcpt string) (float64, string) {
	t.Helper()
	s := sign(t, c, db, raw, rcpt)
	return s.Score, s.Name
}

func TestDefaultDatabaseRates(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := New(nil)
	if s, name := score(t, c, db, read(t, "spam1.eml"), "u@example.com"); s < 3 || !strings.HasPrefix(name, "BAYES_9") {
		t.Errorf("spam: %s %.2f", name, s)
	}
	if s, name := score(t, c, db, read(t, "ham1.eml"), "u@example.com"); s > 0 {
		t.Errorf("ham: %s %.2f", name, s)
	}
	// The classifier may not flag a message by itself: the engine caps
	// its sign when no other sign backs it.
	if s := sign(t, c, db, read(t, "spam1.eml"), "u@example.com"); s.Alone != bayes.AloneCap {
		t.Errorf("spam: sign %+v, want Alone %v", s, bayes.AloneCap)
	}
}

// defaultWithStore returns the default database and an empty store of
// local learning, closed when the test ends.
func defaultWithStore(t *testing.T) (*contentdb.DB, *bayes.Store) {
	t.Helper()
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := bayes.OpenStore(filepath.Join(t.TempDir(), "learn.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return db, st
}

// Local learning through the store moves the score for the domain it was
// learned for, on top of the database's counts.
func TestLearningMovesScore(t *testing.T) {
	db, st := defaultWithStore(t)
	c := New(st)
	ham := read(t, "ham1.eml")
	before, _ := score(t, c, db, ham, "u@example.com")
	msgs := [][]byte{ham}
	for i := range 200 { // many similar messages: a campaign the site calls spam
		msgs = append(msgs, []byte(strings.Replace(string(ham), "Subject: Re:", "Subject: Re"+strings.Repeat("!", i%7)+" #"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1)))
	}
	if _, err := st.Learn(context.Background(), "example.com", bayes.LabelSpam, msgs); err != nil {
		t.Fatal(err)
	}
	after, _ := score(t, c, db, ham, "u@example.com")
	other, _ := score(t, c, db, ham, "u@other.example")
	if after <= before {
		t.Errorf("learning as spam did not raise the score: %.2f → %.2f", before, after)
	}
	if other != before {
		t.Errorf("learning for example.com changed another domain's score: %.2f → %.2f", before, other)
	}
}

// A letter in a language the classifier has learnt from too few legitimate
// messages (French: the default database's training mail holds two French
// spams and one French ham) counts at most bayes.LanguageCap points
// towards spam; once the site has learnt enough of its own legitimate mail
// in that language, the classifier is trusted with it again.
func TestUnfamiliarLanguageCapped(t *testing.T) {
	db, st := defaultWithStore(t)
	c := New(st)
	letter := read(t, "ham-fr-notice.eml")
	in := &engine.Input{ScanID: "t", Msg: message.Parse(letter, message.DefaultLimits),
		Env: &engine.Envelope{Rcpts: []string{"u@example.com"}}, Group: policy.Default().All(), DB: db}
	r, err := c.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Signs) != 1 || r.Signs[0].Score != bayes.LanguageCap || !strings.Contains(r.Signs[0].Desc, `language "fr"`) {
		t.Fatalf("French letter: %+v, want the classifier capped at %.1f", r.Signs, bayes.LanguageCap)
	}
	// The site learns its own French letters as legitimate.
	var mine [][]byte
	for i := range bayes.MinLanguageHam {
		mine = append(mine, []byte(strings.Replace(string(letter), "9,95 $", fmt.Sprintf("%d,95 $", i), 1)))
	}
	if _, err := st.Learn(context.Background(), "example.com", bayes.LabelHam, mine); err != nil {
		t.Fatal(err)
	}
	toks := bayes.Tokens(in.Msg, nil)
	if l, n := bayes.UnfamiliarLanguage(toks, db.Tokens, st.Source("example.com")); l != "" {
		t.Errorf("after learning %d French letters: still unfamiliar (%q, %d)", bayes.MinLanguageHam, l, n)
	}
	if l, _ := bayes.UnfamiliarLanguage(toks, db.Tokens, st.Source("other.example")); l != "fr" {
		t.Errorf("another domain's classifier: language %q, want fr still unfamiliar", l)
	}
}

// The sign's score follows the database's calibration, so a database
// trained on other mail can carry coefficients of its own.
func TestDatabaseCalibration(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	if db.Calibration == (bayes.Calibration{}) {
		t.Fatal("default database without a calibration")
	}
	c := New(nil)
	spam := read(t, "spam1.eml")
	s, _ := score(t, c, db, spam, "u@example.com")
	doubled := *db
	doubled.Calibration.Logit *= 2
	doubled.Calibration.LogOdds *= 2
	doubled.Calibration.Linear *= 2
	doubled.Calibration.Const *= 2
	s2, _ := score(t, c, &doubled, spam, "u@example.com")
	if d := s2 - 2*s; d < -0.02 || d > 0.02 {
		t.Errorf("doubled calibration: %.2f, want about 2 × %.2f", s2, s)
	}
}
