package replies_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/addrlist"
	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/check/gtube"
	repliescheck "github.com/scilla-mail/scilla/server/check/replies"
	rulescheck "github.com/scilla-mail/scilla/server/check/rules"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/replies"
	"github.com/scilla-mail/scilla/server/verdict"
)

// setup returns a sent-mail store and a scan through an engine that
// protects example.com and remembers its users' submissions (its checks:
// this one and GTUBE, to have spam).
func setup(t *testing.T) (*replies.Local, func(env *engine.Envelope, raw string) *engine.GroupVerdict) {
	t.Helper()
	sent, err := replies.OpenLocal(filepath.Join(t.TempDir(), "replies.db"), 720*time.Hour, 8760*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sent.Close() })
	pol := policy.Default()
	if pol.Protected, err = addrlist.New("@*example.com"); err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{Checks: []engine.Check{repliescheck.New(sent), gtube.New()}, Sent: sent},
		&engine.Snapshot{Policy: pol, DB: contentdb.Empty()})
	return sent, func(env *engine.Envelope, raw string) *engine.GroupVerdict {
		t.Helper()
		v, err := e.Scan(context.Background(), "t", env, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return v.Groups[0]
	}
}

// TestReplies: a user of the protected domain writes to a partner (mail
// that is itself not filtered, the partner's domain is not protected); the
// partner's answer, naming the sent message in In-Reply-To or References,
// gets REPLY_TO_SENT. Mail that was not an authenticated submission is not
// remembered, so a spammer cannot earn the sign by answering his own mail.
func TestReplies(t *testing.T) {
	sent, scan := setup(t)
	out := "From: Alice <alice@example.com>\r\nTo: bob@partner.example\r\nSubject: quote\r\n" +
		"Message-ID: <Quote-1.Alice@mail.example.com>\r\n\r\nCould you send a price?\r\n"
	if gv := scan(&engine.Envelope{AuthUser: "alice", Rcpts: []string{"bob@partner.example"}}, out); gv.Info != verdict.NotProtected {
		t.Fatalf("outgoing mail: info %v, want not protected", gv.Info)
	}
	spam := "From: x@spam.example\r\nTo: alice@example.com\r\nSubject: deal\r\nMessage-ID: <deal-1@spam.example>\r\n\r\nbuy\r\n"
	scan(&engine.Envelope{Rcpts: []string{"alice@example.com"}}, spam)

	in := &engine.Envelope{Rcpts: []string{"alice@example.com"}}
	for _, tc := range []struct {
		name    string
		headers string
		off     bool
		want    bool
	}{
		{"in-reply-to", "In-Reply-To: <quote-1.alice@mail.example.com>\r\n", false, true},
		{"references only", "References: <other@partner.example>\r\n <Quote-1.Alice@mail.example.com>\r\n", false, true},
		{"switched off in the policy", "In-Reply-To: <quote-1.alice@mail.example.com>\r\n", true, false},
		{"answer to unknown mail", "In-Reply-To: <quote-2.alice@mail.example.com>\r\n", false, false},
		{"answer to mail that was not submitted", "In-Reply-To: <deal-1@spam.example>\r\n", false, false},
		{"no thread headers", "", false, false},
	} {
		raw := "From: bob@partner.example\r\nTo: alice@example.com\r\nSubject: Re: quote\r\n" + tc.headers + "\r\nPrice is 40 EUR.\r\n"
		var gv *engine.GroupVerdict
		if tc.off {
			gv = checktest.Scan(t, []engine.Check{repliescheck.New(sent)}, []byte(raw), func(s *policy.Settings) {
				s.Methods.HeaderRules = map[string]bool{repliescheck.RuleName: false}
			})
		} else {
			gv = scan(in, raw)
		}
		if got := checktest.HasSign(gv, repliescheck.SignReply); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, repliescheck.SignReply, got, tc.want, gv.Signs)
		}
	}
}

// TestOff: without a store the check does nothing and does not wait.
func TestOff(t *testing.T) {
	c := repliescheck.New(nil)
	if c.Waits() {
		t.Error("check without a store waits")
	}
	gv := checktest.Scan(t, []engine.Check{c}, []byte("From: a@b.example\r\nIn-Reply-To: <x@y>\r\n\r\nhi\r\n"), nil)
	if len(gv.Signs) != 0 {
		t.Errorf("signs %v, want none", gv.Signs)
	}
}

// TestLocalName: the boss sends mail under her name; a stranger writing
// under it from a free mailbox gets LOCAL_NAME_FREEMAIL, as CEO fraud does.
// Her name from another company's domain (a namesake), a name no user sent
// under, her own authenticated mail from a private mailbox and a policy
// that switches the rule off do not.
func TestLocalName(t *testing.T) {
	sent, scan := setup(t)
	// Her mail program writes bare line feeds and encodes her name.
	out := "From: =?UTF-8?Q?Ma=C3=ABlle_Tremblay?= <maelle.tremblay@example.com>\nTo: bank@partner.example\n" +
		"Subject: statement\nMessage-ID: <s-1@mail.example.com>\n\nPlease send the statement.\n"
	scan(&engine.Envelope{AuthUser: "maelle", Rcpts: []string{"bank@partner.example"}}, out)

	for _, tc := range []struct {
		name, from string
		auth, off  bool
		want       bool
	}{
		{"her name on gmail", `"Tremblay, Maelle" <maelle.tremblay.office@gmail.com>`, false, false, true},
		{"a namesake at another company", `Maëlle Tremblay <mtremblay@partner.example>`, false, false, false},
		{"a name nobody here sends under", `Anne Roy <anne.roy@gmail.com>`, false, false, false},
		{"her own private mailbox, submitted", `Maëlle Tremblay <maelle.t@gmail.com>`, true, false, false},
		{"switched off in the policy", `Maëlle Tremblay <maelle.tremblay.office@gmail.com>`, false, true, false},
	} {
		raw := "From: " + tc.from + "\r\nTo: paul@example.com\r\nSubject: urgent\r\n\r\nAre you at your desk?\r\n"
		var gv *engine.GroupVerdict
		switch {
		case tc.off:
			gv = checktest.Scan(t, []engine.Check{repliescheck.New(sent)}, []byte(raw), func(s *policy.Settings) {
				s.Methods.HeaderRules = map[string]bool{repliescheck.RuleLocalName: false}
			})
		case tc.auth:
			gv = scan(&engine.Envelope{AuthUser: "maelle", Rcpts: []string{"paul@example.com"}}, raw)
		default:
			gv = scan(&engine.Envelope{Rcpts: []string{"paul@example.com"}}, raw)
		}
		if got := checktest.HasSign(gv, repliescheck.SignLocalName); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, repliescheck.SignLocalName, got, tc.want, gv.Signs)
		}
		for _, sg := range gv.Signs {
			if sg.Name == repliescheck.SignLocalName && !sg.Forged {
				t.Errorf("%s: the sign does not say the sender is forged", tc.name)
			}
		}
	}
}

// TestRecipientNames: inbound mail teaches the names it calls its
// recipients by, so the sign works where the staff's own mail does not
// pass through the server. Only the entries of To and Cc at an envelope
// recipient's domain count, only from mail rated clean, and not when the
// recipients were read from the header (spamd).
func TestRecipientNames(t *testing.T) {
	_, scan := setup(t)
	in := func(to, cc, body string) string {
		return "From: Orders <orders@partner.example>\r\nTo: " + to + "\r\nCc: " + cc +
			"\r\nSubject: delivery\r\nMessage-ID: <d-1@partner.example>\r\n\r\n" + body + "\r\n"
	}
	scan(&engine.Envelope{Rcpts: []string{"paul@example.com", "LUC@example.com"}},
		in(`"Durand, Paul" <paul@example.com>, Anne Roy <anne@partner.example>`, `Luc Martin <luc@example.com>, "Eve Blanc" <eve@example.com>`, "Delivered today."))
	// Rated SPAM: the names it uses are not learned.
	scan(&engine.Envelope{Rcpts: []string{"tom@example.com"}}, in("Tom Petit <tom@example.com>", "", gtube.Signature))
	// Recipients taken from the header are anyone's.
	scan(&engine.Envelope{Rcpts: []string{"ines@example.com"}, RcptsFromHeader: true}, in("Ines Leroy <ines@example.com>", "", "Hello."))

	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Paul Durand", true},
		{"Luc Martin", true},
		{"Anne Roy", false},   // another company's
		{"Eve Blanc", true},   // a colleague in Cc
		{"Tom Petit", false},  // named by spam
		{"Ines Leroy", false}, // recipients from the header
	} {
		gv := scan(&engine.Envelope{Rcpts: []string{"accounts@example.com"}},
			"From: "+tc.name+" <"+strings.ReplaceAll(strings.ToLower(tc.name), " ", ".")+".office@gmail.com>\r\nTo: accounts@example.com\r\nSubject: urgent\r\n\r\nAre you at your desk?\r\n")
		if got := checktest.HasSign(gv, repliescheck.SignLocalName); got != tc.want {
			t.Errorf("%s on gmail: %s %v, want %v", tc.name, repliescheck.SignLocalName, got, tc.want)
		}
	}
}

// TestLookalikeCorrespondent: a user writes to a supplier; mail from the
// supplier's name with a hyphen added, a letter changed or its suffix
// hyphened on, in From or Reply-To, gets LOOKALIKE_CORRESPONDENT and is flagged, though its words
// are a supplier's. The supplier itself, its sister domain, a domain no
// user wrote to, the user's own domain and a policy that switches the rule
// off do not get it.
func TestLookalikeCorrespondent(t *testing.T) {
	sent, scan := setup(t)
	out := "From: Alice <alice@example.com>\r\nTo: accounts@frenosnorte.es\r\nCc: Bob <bob@example.com>\r\nSubject: invoice 4471\r\n" +
		"Message-ID: <inv-4471@mail.example.com>\r\n\r\nPaid today.\r\n"
	scan(&engine.Envelope{AuthUser: "alice@example.com", Rcpts: []string{"accounts@frenosnorte.es", "bob@example.com"}}, out)

	in := &engine.Envelope{Rcpts: []string{"alice@example.com"}}
	for _, tc := range []struct {
		name, from, replyTo string
		off                 bool
		want                bool
	}{
		{"hyphen added", "accounts@frenos-norte.es", "", false, true},
		{"0 for o, in Reply-To", "accounts@frenosnorte.es", "billing@frenosn0rte.es", false, true},
		{"a letter that does not pass for it", "accounts@frenosnorte.es", "billing@frenosnorle.com", false, false},
		{"own suffix hyphened on", "Accounts <accounts@frenosnorte-es.com>", "", false, true},
		{"swap", "accounts@frenosnotre.es", "", false, true},
		{"the supplier", "accounts@frenosnorte.es", "", false, false},
		{"its sister domain", "accounts@frenosnorte.pt", "", false, false},
		{"a domain nobody wrote to", "info@frenos-sur.es", "", false, false},
		{"the user's own domain, not remembered", "it@exarnple.com", "", false, false},
		{"switched off", "accounts@frenos-norte.es", "", true, false},
	} {
		raw := "From: " + tc.from + "\r\nTo: alice@example.com\r\nSubject: new bank details\r\n"
		if tc.replyTo != "" {
			raw += "Reply-To: " + tc.replyTo + "\r\n"
		}
		raw += "\r\nPlease pay invoice 4471 to our new account.\r\n"
		var gv *engine.GroupVerdict
		if tc.off {
			gv = checktest.Scan(t, []engine.Check{repliescheck.New(sent)}, []byte(raw), func(s *policy.Settings) {
				s.Methods.HeaderRules = map[string]bool{repliescheck.RuleLookalike: false}
			})
		} else {
			gv = scan(in, raw)
		}
		if got := checktest.HasSign(gv, repliescheck.SignLookalike); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, repliescheck.SignLookalike, got, tc.want, gv.Signs)
		}
		if tc.want && gv.Status != verdict.ProbableSpam && gv.Status != verdict.Spam {
			t.Errorf("%s: %v %.2f, want flagged", tc.name, gv.Status, gv.Score)
		}
	}
}

// firstContactEngine returns a scan function of an engine with this check,
// the content rules of the default database and an empty sent-mail store.
func firstContactEngine(t *testing.T) func(env *engine.Envelope, raw string) *engine.GroupVerdict {
	t.Helper()
	sent, err := replies.OpenLocal(filepath.Join(t.TempDir(), "replies.db"), 720*time.Hour, 8760*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sent.Close() })
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.Default()
	if pol.Protected, err = addrlist.New("@*example.com"); err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{Checks: []engine.Check{repliescheck.New(sent), rulescheck.New()}, Sent: sent},
		&engine.Snapshot{Policy: pol, DB: db})
	scan := func(env *engine.Envelope, raw string) *engine.GroupVerdict {
		t.Helper()
		v, err := e.Scan(context.Background(), "t", env, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return v.Groups[0]
	}
	return scan
}

// TestFirstContactPayment: a request to pay a new account (the content
// rules' BANK_DETAILS_CHANGE, with the default database) from a domain the
// users never wrote to gets FIRST_CONTACT_PAYMENT, 4.0 with the request's
// 1.5 (the classifier, not run here, decides the rest); from the
// supplier they write to, or its sister domain, it does not. The sign alone,
// on a stranger's ordinary message, is dropped; a store that has learnt no
// domain says nothing, nor does a mailing list's message.
func TestFirstContactPayment(t *testing.T) {
	scan := firstContactEngine(t)
	in := &engine.Envelope{Rcpts: []string{"alice@example.com"}}
	change := "Subject: invoice 4471\r\n\r\nDear Alice,\r\n\r\nplease note our new bank details for invoice 4471 and all future payments:\r\n" +
		"IBAN ES91 2100 0418 4502 0005 1332, BIC CAIXESBBXXX.\r\n\r\nKind regards,\r\nMarta Gil\r\n"
	if gv := scan(in, "From: Marta Gil <accounts@frenosnorte-pagos.com>\r\nTo: alice@example.com\r\n"+change); checktest.HasSign(gv, repliescheck.SignFirst) {
		t.Errorf("a store that learnt no domain: %s (signs %v)", repliescheck.SignFirst, gv.Signs)
	}
	out := "From: Alice <alice@example.com>\r\nTo: accounts@frenosnorte.es\r\nSubject: invoice 4471\r\nMessage-ID: <inv-4471@mail.example.com>\r\n\r\nPaid today.\r\n"
	scan(&engine.Envelope{AuthUser: "alice@example.com", Rcpts: []string{"accounts@frenosnorte.es"}}, out)

	for _, tc := range []struct {
		name, from, replyTo, body string
		score                     float64
	}{
		{"a sister-sounding domain nobody wrote to", "Marta Gil <accounts@frenosnorte-pagos.com>", "", change, 4},
		{"the supplier, answers to a stranger", "Marta Gil <accounts@frenosnorte.es>", "marta.gil@pagos-frenos.com", change, 4},
		{"the supplier itself", "Marta Gil <accounts@frenosnorte.es>", "", change, 1.5},
		{"its sister domain", "Marta Gil <accounts@frenosnorte.pt>", "", change, 1.5},
		{"the protected domain, not remembered", "Accounts <accounts@example.com>", "", change, 1.5},
		{"a stranger without a request to pay", "Ana Ruiz <ana@talleres-ruiz.es>", "", "Subject: visit\r\n\r\nCould we visit your plant next week?\r\n", 0},
		{"a mailing list's talk of bank changes", "'Reda K' via Club DSI <club-dsi@lists.example>", "", "List-Id: <club-dsi.lists.example>\r\n" + change, 1.5},
	} {
		raw := "From: " + tc.from + "\r\nTo: alice@example.com\r\n"
		if tc.replyTo != "" {
			raw += "Reply-To: " + tc.replyTo + "\r\n"
		}
		gv := scan(in, raw+tc.body)
		want := tc.score == 4
		if got := checktest.HasSign(gv, repliescheck.SignFirst); got != want || gv.Score != tc.score {
			t.Errorf("%s: %s %v, score %.2f; want %v, %.2f (signs %v)", tc.name, repliescheck.SignFirst, got, gv.Score, want, tc.score, gv.Signs)
		}
	}
}

// TestFirstContactPitch: a cold pitch in the agencies' own words from a
// domain the users never wrote to gets FIRST_CONTACT_PITCH; the same words
// from a domain they write to, a customer's enquiry that "came across"
// the company, or a stranger's message without a pitch do not.
func TestFirstContactPitch(t *testing.T) {
	scan := firstContactEngine(t)
	in := &engine.Envelope{Rcpts: []string{"alice@example.com"}}
	out := "From: Alice <alice@example.com>\r\nTo: info@webstudio-nord.de\r\nSubject: new site\r\nMessage-ID: <site-1@mail.example.com>\r\n\r\nLet us talk.\r\n"
	scan(&engine.Envelope{AuthUser: "alice@example.com", Rcpts: []string{"info@webstudio-nord.de"}}, out)
	pitch := "Subject: quick question\r\n\r\nHi,\r\n\r\nI looked at your website and noticed it is slow on mobile. " +
		"We can fix it in two weeks. If this is not a priority, just let me know and I won't follow up.\r\n\r\nBest,\r\nRaj\r\n"
	for _, tc := range []struct {
		name, from, body string
		want             bool
	}{
		{"an agency nobody wrote to", "Raj Mehta <raj@growthpixel-digital.com>", pitch, true},
		{"the web studio the company works with", "Jens Ohm <info@webstudio-nord.de>", pitch, false},
		{"a customer's first enquiry", "Tom Reed <tom@reed-kidswear.co.uk>",
			"Subject: wholesale\r\n\r\nI came across your knitwear at a fair. Could you send your wholesale prices and MOQ?\r\n", false},
		{"a stranger without a pitch", "Ana Ruiz <ana@talleres-ruiz.es>", "Subject: visit\r\n\r\nCould we visit your plant next week?\r\n", false},
		{"a mailing list", "'Raj' via SEO Forum <seo@lists.example>", "List-Id: <seo.lists.example>\r\n" + pitch, false},
	} {
		gv := scan(in, "From: "+tc.from+"\r\nTo: alice@example.com\r\n"+tc.body)
		if got := checktest.HasSign(gv, repliescheck.SignPitch); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, repliescheck.SignPitch, got, tc.want, gv.Signs)
		}
	}
}
