package rules

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/rules"
)

func run(t *testing.T, db *contentdb.DB, file string) engine.Result {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	in := &engine.Input{ScanID: "t", Msg: message.Parse(raw, message.DefaultLimits), Env: &engine.Envelope{}, Group: p.All(), DB: db}
	r, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCategories(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file    string
		cats    []string
		minimum float64
	}{
		{"pharma.eml", []string{"pharma"}, 3},
		{"419.eml", []string{"scam"}, 5},
		{"bec.eml", []string{"fraud"}, 3},
		{"bec-fr.eml", []string{"fraud"}, 1.5},
		// The opener and the secrecy: nobody is to call and check.
		{"bec-de.eml", []string{"fraud"}, 3},
		{"bank-change.eml", []string{"fraud"}, 1.5},
		{"ham.eml", nil, 0},
		// "Apr" is a month and "fixed rate" a price: neither is a rate pitch.
		{"booking-dates.eml", nil, 0},
		{"loan-apr.eml", []string{"finance"}, 3},
		// Words that are spam's in English and ordinary in Italian, French or
		// a database: replica, lotto, casino, toner, diploma, pyramid.
		{"false-friends.eml", nil, 0},
		// The copyright lure of today's malware, paid as "friends and
		// family"; a stock agency's licence notice says copyright and
		// friends and family too.
		{"copyright-lure.eml", []string{"phishing", "fraud"}, 3.5},
		{"copyright-ham.eml", nil, 0},
		// German phishing typed without umlauts, Italian and European
		// Portuguese phishing in the polite form, German invoice fraud, a
		// money mule's job in French, a review seller, a cold pitch
		// following itself up; a German bank's maintenance notice is none
		// of them.
		{"phish-de.eml", []string{"phishing"}, 4},
		{"phish-it.eml", []string{"phishing"}, 4},
		{"phish-pt.eml", []string{"phishing"}, 4},
		{"bank-change-de.eml", []string{"fraud"}, 1.5},
		{"mule-fr.eml", []string{"jobs"}, 2.5},
		{"reviews.eml", []string{"seo"}, 2},
		{"followup.eml", []string{"seo"}, 1.5},
		// The trading platform's 250 deposit, in a language no phrase is
		// written in; a platform's invoice for 250.00 is no such deposit.
		{"deposit-pl.eml", []string{"crypto"}, 2.5},
		{"platform-invoice.eml", nil, 0},
		// An employee's salary to a new account, from a free mailbox.
		{"payroll-es.eml", []string{"fraud"}, 1.5},
		// A trade fair's visitors for sale.
		{"leads.eml", []string{"seo"}, 2.5},
		{"ham-de.eml", nil, 0},
		// Extortion in a language no phrase is written in still names
		// where to pay: a Bitcoin address.
		{"wallet-cs.eml", []string{"crypto"}, 2.5},
	}
	for _, c := range cases {
		r := run(t, db, c.file)
		var cats []string
		total := 0.0
		for _, s := range r.Signs {
			total += s.Score
			if s.Category != "" && !slices.Contains(cats, s.Category) {
				cats = append(cats, s.Category)
			}
			if s.Method != "content" || s.Desc == "" {
				t.Errorf("%s: sign %+v lacks method or description", c.file, s)
			}
		}
		for _, want := range c.cats {
			if !slices.Contains(cats, want) {
				t.Errorf("%s: categories %v lack %q", c.file, cats, want)
			}
		}
		if c.cats == nil && len(r.Signs) > 0 {
			t.Errorf("%s: ham fired %v", c.file, r.Signs)
		}
		if total < c.minimum {
			t.Errorf("%s: score %.1f, want ≥ %.1f", c.file, total, c.minimum)
		}
	}
}

func TestCategoryCap(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]float64{}
	for _, s := range run(t, db, "419.eml").Signs {
		per[s.Category] += s.Score
	}
	for c, v := range per {
		if v > CategoryCap+1e-9 {
			t.Errorf("category %q adds %.1f, above the cap %.1f", c, v, CategoryCap)
		}
	}
}

func TestEmptyDatabase(t *testing.T) {
	if r := run(t, contentdb.Empty(), "pharma.eml"); len(r.Signs) != 0 {
		t.Errorf("empty database fired %v", r.Signs)
	}
}

// TestNotTo: a rule whose words are everyday where the recipients are
// (SCAM_419_COUNTRIES naming Ghana, to a company under .gh) is shown and
// not counted; to a recipient under another domain it counts.
func TestNotTo(t *testing.T) {
	rs, err := rules.Parse("t.rules", "[scam]\nSCAM_419_COUNTRIES 0.7 text not-to=ng,gh: nigeria | ghana -- Country common in advance-fee fraud")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	db := &contentdb.DB{Rules: set}
	msg := message.Parse([]byte("Subject: Export forum\r\n\r\nThe Ghana Export Promotion Authority invites members to its forum in Accra.\r\n"), message.DefaultLimits)
	for _, tc := range []struct {
		rcpt string
		want float64
	}{
		{"ama@kentefresh.com.gh", 0},
		{"KOFI@EXPORTS.GH", 0},
		{"jane@example.org", 0.7},
		{"jan@example.de", 0.7},
	} {
		in := &engine.Input{ScanID: "t", Msg: msg, Env: &engine.Envelope{Rcpts: []string{tc.rcpt}}, Group: policy.Default().All(), DB: db}
		r, err := New().Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Signs) != 1 || r.Signs[0].Score != tc.want {
			t.Errorf("to %s: signs %+v, want SCAM_419_COUNTRIES at %.1f", tc.rcpt, r.Signs, tc.want)
		}
	}
}
