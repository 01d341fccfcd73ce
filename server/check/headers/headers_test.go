package headers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"mime"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/lookalike"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func TestGolden(t *testing.T) {
	allOff := func(s *policy.Settings) {
		s.Methods.HeaderRules = map[string]bool{}
		for _, r := range Rules() {
			s.Methods.HeaderRules[r.Name] = false
		}
	}
	checktest.Golden(t, []engine.Check{New()}, map[string]checktest.Variant{"": nil, "off": allOff})
}

// TestRulesOnOff: testdata/<rule>.eml triggers the rule when it is on and
// not when the policy switches it off; the other rules are unaffected.
func TestRulesOnOff(t *testing.T) {
	for _, r := range Rules() {
		t.Run(r.Name, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + r.Name + ".eml")
			if err != nil {
				t.Fatalf("every rule needs a spam example: %v", err)
			}
			on := checktest.Scan(t, []engine.Check{New()}, raw, nil)
			if !checktest.HasSign(on, r.Sign) {
				t.Fatalf("rule on: signs %+v, want %s", on.Signs, r.Sign)
			}
			off := checktest.Scan(t, []engine.Check{New()}, raw, func(s *policy.Settings) {
				s.Methods.HeaderRules = map[string]bool{r.Name: false}
			})
			if checktest.HasSign(off, r.Sign) {
				t.Fatalf("rule off: signs %+v still hold %s", off.Signs, r.Sign)
			}
			if len(off.Signs) != len(on.Signs)-1 {
				t.Errorf("rule off removed %d signs, want 1", len(on.Signs)-len(off.Signs))
			}
		})
	}
}

// TestHam: legitimate messages match no rule.
func TestHam(t *testing.T) {
	for _, f := range []string{"ham.eml", "ham-outlook.eml", "corpus-ham.eml"} {
		gv := checktest.Scan(t, []engine.Check{New()}, checktest.ReadFile(t, "testdata/"+f), nil)
		if len(gv.Signs) != 0 {
			t.Errorf("%s: signs %+v, want none", f, gv.Signs)
		}
	}
}

func TestDigitsMixed(t *testing.T) {
	tests := []struct {
		local string
		want  bool
	}{
		{"jennifer3530t76", true},
		{"marcie1136786", true},
		{"a1b2c3", true},
		{"LindseyC8P9xy", true},
		{"john", false},
		{"john2002", false},
		{"iso17799", false},
		{"kevin+dated+1031410733.71e31f", false},
		{"dm-temp-310102", false},
		{"2.20290.44-t9bsgc0tYwDu.1", false},
		{"Online#3.19578.34-UgGTgZFN19NAr9RR.1", false},
	}
	for _, tt := range tests {
		if got := digitsMixed(tt.local); got != tt.want {
			t.Errorf("digitsMixed(%q) = %v, want %v", tt.local, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, d := range []string{
		"Mon, 20 Oct 2025 12:00:00 +0200",
		"20 Oct 2025 12:00:00 +0200",
		"Mon, 20 Oct 2025 12:00:00 +0200 (CEST)",
		"Mon,  20 Oct 2025 12:00:00  +0200",
		"Mon, 2 Sep 2002 20:15:21 -0700 (PDT)",
		"Thu, 22 Aug 2002 18:26:25 GMT",
		"Tue, 03 Sep 2002 12:00 -0400",
	} {
		if _, ok := ParseDate(d); !ok {
			t.Errorf("ParseDate(%q) failed", d)
		}
	}
	for _, d := range []string{"Tomorrow at 25:61", "", "2002"} {
		if _, ok := ParseDate(d); ok {
			t.Errorf("ParseDate(%q) succeeded", d)
		}
	}
}

// TestSubjectPay: a range of money per day in the subject is the task
// scam's; one price, a yearly salary, a date range or a number range
// without a currency is not.
func TestSubjectPay(t *testing.T) {
	for _, tc := range []struct {
		subject string
		want    bool
	}{
		{"Remote part-time position - 200-800 EUR per day", true},
		{"Thuiswerk vacature: €250-€650 per dag – direct starten", true},
		{"Rugalmas otthoni munka – napi 25 000–45 000 Ft", true},
		{"Предложение за работа от вкъщи – 80-350 EUR/ден", true},
		{"Offre d'emploi à temps partiel pour étudiants – 300 $ à 900 $ par jour", true},
		{"【在家兼職】手機按讚日領 NT$1,500~5,000,免經驗", true},
		{"Remote part-time role: ₦45,000–₦120,000 daily (20–60 mins)", true},
		{"Honorarni posao od kuće – 4.000 do 12.000 RSD dnevno", true},
		{"Kazi ya nyumbani – TSh 20,000-50,000 kwa siku", true},
		{"Car hire from €25 per day", false},
		{"Senior Java Developer - €60,000-€75,000 per annum", false},
		{"[2C2P] Daily Settlement Report - MID 764764000012873 - 19/11/2026", false},
		{"Distansjobb 60–90 min/dag", false},
		{"Daily backup 2026-11-10: 12-14 GB", false},
		{"Factura FT26-01452 - daily", false},
	} {
		raw := "From: Jobs <jobs@example.net>\r\nTo: user@example.org\r\nSubject: " + mime.QEncoding.Encode("utf-8", tc.subject) + "\r\n\r\nbody\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits)}
		if got := subjectPay(x); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.subject, got, tc.want)
		}
	}
}

// TestWPScriptLink: a script, a directory or an archive inside another
// site's WordPress files is the kit's; a picture there, a document, the
// sender's own site and a dashboard link are not.
func TestWPScriptLink(t *testing.T) {
	for _, tc := range []struct {
		from, link string
		want       bool
	}{
		{"info@painter.example", "https://holiday-flat.example/wp-content/uploads/2026/11/dl.php?doc=Invoice", true},
		{"alerts@bank.example", "https://florist.example/wp-includes/js/dvv/empresas/actualizacion.php?id=9", true},
		{"it@example.org", "https://realty.example/wp-content/uploads/2024/07/.cache/rc/#dXNlcg==", true},
		{"ap@vendor.example", "https://bnb.example/wp-content/uploads/2026/11/NQC-Docs-5843.zip", true},
		{"news@courier.example", "https://www.courier.example/wp-content/uploads/email/logo-white.png", false},
		{"news@shop.example", "https://cdn.other.example/wp-content/themes/shop/images/logo.svg", false},
		{"news@council.example", "https://council.example/wp-content/uploads/2026/11/Annual-Report.pdf", false},
		{"wordpress@blog.example", "https://blog.example/wp-content/plugins/newsletter/statistics/link.php?id=1", false},
		{"jetpack@wordpress.example", "https://blog.example/wp-admin/update-core.php", false},
	} {
		raw := "From: " + tc.from + "\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nSee " + tc.link + " now.\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: &engine.Envelope{}}
		if got := wpScriptLink(x); got != tc.want {
			t.Errorf("From %s, %s: %v, want %v", tc.from, tc.link, got, tc.want)
		}
	}
}

// TestDocumented: docs/analysis.md lists every rule with its sign and score.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/analysis.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		row := fmt.Sprintf("| `%s` | `%s` | %.1f |", r.Name, r.Sign, r.Score)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/analysis.md lacks the row %q", row)
		}
	}
}

// TestFromIsRecipient: the victim's own address as sender counts, unless the
// recipient sent it through an authenticated submission or others got it
// too; only the envelope tells who got it.
func TestFromIsRecipient(t *testing.T) {
	raw := checktest.ReadFile(t, "testdata/from_is_recipient.eml")
	for _, tc := range []struct {
		name string
		env  *engine.Envelope
		want bool
	}{
		{"no envelope (To is no proof: newsletters write themselves there)", nil, false},
		{"envelope", &engine.Envelope{Rcpts: []string{"User@Example.org"}}, true},
		{"recipients from To", &engine.Envelope{Rcpts: []string{"user@example.org"}, RcptsFromHeader: true}, false},
		{"authenticated", &engine.Envelope{Rcpts: []string{"user@example.org"}, AuthUser: "user"}, false},
		{"two recipients", &engine.Envelope{Rcpts: []string{"user@example.org", "boss@example.org"}}, false},
		{"other recipient", &engine.Envelope{Rcpts: []string{"boss@example.org"}}, false},
	} {
		x := &info{m: message.Parse(raw, message.DefaultLimits), env: tc.env}
		if got := fromIsRecipient(x); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSenderIdentity: a brand in the display name counts only as whole
// words and only when the address is not at one of the brand's domains; a
// free-mail Reply-To only when it is not the From address itself; a display
// name only when it shows another address than the sender's.
func TestSenderIdentity(t *testing.T) {
	for _, tc := range []struct {
		header, sign string
		want         bool
	}{
		{"From: \"PayPal\" <service@paypal.com>", "FROM_BRAND_MISMATCH", false},
		{"From: \"PayPal\" <service@paypal.co.uk>", "FROM_BRAND_MISMATCH", false},
		{"From: \"PayPal Security\" <service@paypal-security.example>", "FROM_BRAND_MISMATCH", true},
		{"From: HMRC <noreply@tax.service.gov.uk>", "FROM_BRAND_MISMATCH", false},
		{"From: HMRC <refunds@service.example>", "FROM_BRAND_MISMATCH", true},
		{"From: \"Amazon.com\" <auto-confirm@amazon.com>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Amazon\" <store-news@email.amazon.de>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Microsoft 365\" <no-reply@sharepoint-docs-auth.example>", "FROM_BRAND_MISMATCH", true},
		{"From: \"Microsoft account team\" <account-security-noreply@accountprotection.microsoft.com>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Bank of America\" <alerts@bofa-secure.example>", "FROM_BRAND_MISMATCH", true},
		{"From: \"mBank S.A.\" <kontakt@gabinet-odnowa.example>", "FROM_BRAND_MISMATCH", true},
		{"From: mBank <komunikaty@info.mbank.pl>", "FROM_BRAND_MISMATCH", false},
		{"From: PKO Bank Polski <powiadomienia@pkobp.pl>", "FROM_BRAND_MISMATCH", false},
		{"From: =?utf-8?Q?e-Dor=C4=99czenia?= <powiadomienia@e-doreczenia.gov.pl>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Krajowy System e-Faktur (KSeF)\" <wordpress@garden.example>", "FROM_BRAND_MISMATCH", true},
		// A brand's name is cut into words as the display name is.
		{"From: \"e-Boks\" <besked@e-boks-post.example>", "FROM_BRAND_MISMATCH", true},
		{"From: La Poste Suisse <noreply@post.ch>", "FROM_BRAND_MISMATCH", false},
		{"From: CTT Correios de Portugal <info@ctt.pt>", "FROM_BRAND_MISMATCH", false},
		{"From: MB WAY <notificacoes@mbway-alertas.example>", "FROM_BRAND_MISMATCH", true},
		{"From: Societe Generale <securite@sg-clients.example>", "FROM_BRAND_MISMATCH", true},
		{"From: =?UTF-8?Q?Soci=C3=A9t=C3=A9_G=C3=A9n=C3=A9rale?= <info@societegenerale.fr>", "FROM_BRAND_MISMATCH", false},
		{"From: OGK Erstattung <service@oegk-erstattung.example>", "FROM_BRAND_MISMATCH", true},
		// The list's names are folded as display names are.
		{"From: =?UTF-8?Q?Ita=C3=BA_Unibanco?= <alerta@itau-seguranca.example>", "FROM_BRAND_MISMATCH", true},
		{"From: =?UTF-8?B?zqTOoc6RzqDOlc6WzpEgzqDOlc6ZzqHOkc6ZzqnOow==?= <noreply@piraeusbank-enimerosi.example>", "FROM_BRAND_MISMATCH", true},
		{"From: =?UTF-8?B?zqTPgc6sz4DOtc62zrEgzqDOtc65z4HOsc65z47Pgg==?= <info@piraeusbank.gr>", "FROM_BRAND_MISMATCH", false},
		{"From: La Poste <suivi@laposte-colis.example>", "FROM_BRAND_MISMATCH", true},
		{"From: =?UTF-8?Q?=C3=96GK_Service?= <service@oegk-erstattung.example>", "FROM_BRAND_MISMATCH", true},
		{"From: =?UTF-8?Q?=C3=96GK_Service?= <vertragspartner@oegk.at>", "FROM_BRAND_MISMATCH", false},
		{"From: \"America's bank\" <news@bank.example>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Chase Miller\" <chase@example.com>", "FROM_BRAND_MISMATCH", false},
		{"From: \"Market Outlook\" <news@markets.example>", "FROM_BRAND_MISMATCH", false},
		{"From: \"DHL Express\" <noreply@dhl-zoll.example>", "FROM_BRAND_MISMATCH", true},
		{"From: \"Paypalooza festival\" <info@festival.example>", "FROM_BRAND_MISMATCH", false},
		{"From: PostNord <kundservice@post-nord-se.example>", "FROM_BRAND_MISMATCH", true},
		{"From: PostNord <noreply@notifications.postnord.com>", "FROM_BRAND_MISMATCH", false},
		{"From: MitID <support@fornyelse-app.example>", "FROM_BRAND_MISMATCH", true},
		{"From: Skatteverket <no-reply@skatteverket.se>", "FROM_BRAND_MISMATCH", false},
		{"From: \"GLS Denmark\" <info@dk-gls-track.example>", "FROM_BRAND_MISMATCH", true},
		{"From: service@paypal-security.example", "FROM_BRAND_MISMATCH", false},
		{"From: DHL Express <noreply@dhl-invoer.example>\r\nX-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)", "FROM_BRAND_SCRIPT_MAILER", true},
		{"From: DHL Express <noreply@dhl-invoer.example>\r\nX-PHP-Originating-Script: 33:mailer.php", "FROM_BRAND_SCRIPT_MAILER", true},
		{"From: DHL Express <noreply@dhl-invoer.example>\r\nX-Mailer: Microsoft Outlook 16.0", "FROM_BRAND_SCRIPT_MAILER", false},
		{"From: DHL Express <noreply@dhl.com>\r\nX-Mailer: PHPMailer 6.9.1", "FROM_BRAND_SCRIPT_MAILER", false},
		{"From: Garden Shop <info@garden.example>\r\nX-Mailer: PHPMailer 6.9.1", "FROM_BRAND_SCRIPT_MAILER", false},
		{"From: Dr. Okoro <director@ministry.example>\r\nReply-To: okoro.office@gmail.com", "REPLYTO_FREEMAIL", true},
		{"From: Shop <news@shop.example>\r\nReply-To: help@yahoo.co.uk", "REPLYTO_FREEMAIL", true},
		{"From: Jane <jane.doe@gmail.com>\r\nReply-To: jane.private@outlook.com", "REPLYTO_FREEMAIL", true},
		{"From: Jane <jane.doe@gmail.com>\r\nReply-To: jane.doe.chambers@gmail.com", "REPLYTO_FREEMAIL", true},
		{"From: Jane <jane.doe@gmail.com>\r\nReply-To: Jane Doe <Jane.Doe@gmail.com>", "REPLYTO_FREEMAIL", false},
		{"From: Shop <news@shop.example>\r\nReply-To: support@shop.example", "REPLYTO_FREEMAIL", false},
		{"From: Shop <news@shop.example>", "REPLYTO_FREEMAIL", false},
		{"From: \"service@paypal.com\" <billing@secure-pay.example>", "FROM_NAME_ADDRESS", true},
		{"From: \"Apple Support support@apple.com\" <no-reply@icloud-verify.example>", "FROM_NAME_ADDRESS", true},
		{"From: \"jane.doe@example.com\" <Jane.Doe@example.com>", "FROM_NAME_ADDRESS", false},
		{"From: \"Jane Doe via Dev List\" <dev@lists.example>", "FROM_NAME_ADDRESS", false},
		{"From: \"example.org Mail Administrator\" <postmaster@mailbox-storage.example>", "FROM_NAME_RCPT_DOMAIN", true},
		{"From: \"Voicemail - EXAMPLE.ORG\" <vm@notify.example>", "FROM_NAME_RCPT_DOMAIN", true},
		{"From: \"example.org IT\" <it@mail.example.org>", "FROM_NAME_RCPT_DOMAIN", false},
		{"From: \"Example Bank\" <notifications@examplebank.example>", "FROM_NAME_RCPT_DOMAIN", false},
		{"From: \"news.example.org.uk\" <news@other.example>", "FROM_NAME_RCPT_DOMAIN", false},
		{"From: \"jane@example.org\" <jane@elsewhere.example>", "FROM_NAME_RCPT_DOMAIN", false},
		{"From: IT Service Desk <it@example-helpdesk.com>", "FROM_DOMAIN_RCPT_NAME", true},
		{"From: Mail <no-reply@example-it-mail365.com>", "FROM_DOMAIN_RCPT_NAME", true},
		{"From: IT <security-noreply@example-365.com>", "FROM_DOMAIN_RCPT_NAME", true},
		{"From: Jane <jane@gmail.com>\r\nReply-To: desk@support-example.net", "FROM_DOMAIN_RCPT_NAME", true},
		{"From: Example Energy <news@example-energy.com>", "FROM_DOMAIN_RCPT_NAME", false},
		{"From: Jane <jane@example.com>", "FROM_DOMAIN_RCPT_NAME", false},
		{"From: Desk <it@myexample-support.com>", "FROM_DOMAIN_RCPT_NAME", false},
	} {
		raw := tc.header + "\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nbody\r\n"
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil)
		if got := checktest.HasSign(gv, tc.sign); got != tc.want {
			t.Errorf("%q: %s %v, want %v", tc.header, tc.sign, got, tc.want)
		}
	}
}

// TestDatabaseBrands: a database's brands replace the built-in ones.
func TestDatabaseBrands(t *testing.T) {
	brands, err := contentdb.ParseBrands("test", []byte("acme bank: acmebank\n"))
	if err != nil {
		t.Fatal(err)
	}
	db := contentdb.Empty()
	db.Brands = brands
	e := engine.New(engine.Options{Checks: []engine.Check{New()}}, &engine.Snapshot{Policy: policy.Default(), DB: db})
	for _, tc := range []struct {
		from string
		want bool
	}{
		{"\"Acme Bank Alerts\" <alerts@acme-secure.example>", true},
		{"\"Acme Bank\" <news@acmebank.com>", false},
		{"\"PayPal\" <service@paypal-security.example>", false}, // not in this database's list
	} {
		raw := "From: " + tc.from + "\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nbody\r\n"
		v, err := e.Scan(context.Background(), "t", &engine.Envelope{Rcpts: []string{"user@example.org"}}, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := checktest.HasSign(v.Groups[0], "FROM_BRAND_MISMATCH"); got != tc.want {
			t.Errorf("%s: FROM_BRAND_MISMATCH %v, want %v", tc.from, got, tc.want)
		}
	}
}

// TestLookalikeDomain: a sender domain that reads like a recipient's or a
// brand's counts; the same domain, a sister domain under another suffix,
// an unrelated one a letter apart, and short names do not.
func TestLookalikeDomain(t *testing.T) {
	for _, tc := range []struct {
		from, to, rcpt string
		want           bool
	}{
		{"ceo@exarnple-logistics.com", "ap@example-logistics.com", "", true},                              // rn for m
		{"ceo@vrachtlijn-logistlcs.nl", "finance@vrachtlijn-logistics.nl", "", true},                      // l for i
		{"partner@brandt-keiler.de", "office@brandt-keller.de", "", true},                                 // i for l
		{"ceo@examplelogistics.com", "ap@example-logistics.com", "", true},                                // hyphen dropped
		{"ceo@exampple-logistics.com", "ap@example-logistics.com", "", true},                              // letter doubled
		{"ceo@exmaple-logistics.com", "ap@example-logistics.com", "", true},                               // letters swapped
		{"postmaster@ollermatevs.com", "pau@ollermateus.com", "", true},                                   // v for u
		{"ceo@example-logistics.de", "ap@example-logistics.com", "", false},                               // sister domain
		{"ceo@example-logistics.co", "ap@example-logistics.com", "", true},                                // under .co, a keystroke from .com
		{"ceo@xn--exmple-logistics-vng.com", "ap@example-logistics.com", "", false},                       // an accented letter less: not a lookalike of this
		{"ceo@exarnple-logistics.com", "news@list.example", "ap@example-logistics.com", true},             // the envelope's recipient
		{"ceo@mail.example-logistics.com", "ap@example-logistics.com", "", false},                         // the same organisation
		{"staff@tu-berlin.de", "staff@hu-berlin.de", "", false},                                           // two universities a letter apart
		{"daniel@southgatecyclesparts.com", "karen@southgatecycleparts.com.au", "", true},                 // a letter more in a long name
		{"sophie@lumen-fondation.be", "finance@lumen-foundation.be", "", true},                            // a letter less
		{"info@mueller-elektrotechnik.de", "a@müller-elektrotechnik.de", "", false},                       // ue for ü
		{"info@northwind-traders.com", "a@northwind-trader.com", "", false},                               // a plural's s
		{"helene@morel-vasseur-avocat.fr", "news@list.example", "patrick@morel-vasseur-avocats.fr", true}, // the envelope's recipient's, a plural's s less
		{"info@acmelogistic.com", "a@acmeslogistic.com", "", true},                                        // an s in the middle
		{"info@brightline.com", "a@brighline.com", "", false},                                             // too short to tell
		{"jane@acme.de", "joe@acne.de", "", false},                                                        // short names
		{"service@paypa1.com", "user@example.org", "", true},                                              // a brand, 1 for l
		{"service@xn--pple-43d.com", "user@example.org", "", true},                                        // a brand in Cyrillic
		{"support@micorsoft-online.com", "user@example.org", "", true},                                    // a brand's other domain, microsoftonline
		{"support@microsoft-support-desk.com", "user@example.org", "", false},                             // a brand's name inside a longer one
		{"service@paypal.com", "user@example.org", "", false},
		{"news@squares.example", "user@example.org", "", false},
		{"billing@lakeshorefoodbank-org.com", "ap@lakeshorefoodbank.org", "", true},               // the name, a hyphen and its suffix
		{"news@lakeshorefoodbank-news.com", "ap@lakeshorefoodbank.org", "", false},                // a sending domain of its own
		{"markus@birsig-treuhand-ag.com", "news@list.example", "sandra@birsig-treuhand.ch", true}, // the envelope's recipient with a company form
		{"markus@birsig-treuhand-ag.com", "sandra@birsig-treuhand.ch", "", false},                 // a Cc'd company with another domain of its own
		{"j.smith@northwind-uk.com", "ap@northwind.com", "", false},                               // a country site, not the imitated suffix
	} {
		raw := "From: " + tc.from + "\r\nTo: " + tc.to + "\r\nSubject: hello\r\n\r\nbody\r\n"
		env := &engine.Envelope{Rcpts: []string{"user@example.org"}}
		if tc.rcpt != "" {
			env.Rcpts = []string{tc.rcpt}
		}
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: env, brands: newBrandSet(contentdb.BuiltinBrands())}
		if got := lookalikeDomain(x); got != tc.want {
			t.Errorf("From %s To %s (envelope %q): %v, want %v", tc.from, tc.to, tc.rcpt, got, tc.want)
		}
	}
	// Domains the text names: a replaced or swapped letter counts, a
	// hyphen or a doubled letter does not (a company's own variants).
	for _, tc := range []struct {
		from, body string
		want       bool
	}{
		{"o.stahmer@ostertag-sthal.example", "Please use our new account.\r\n\r\n> From: Oliver Stahmer <o.stahmer@ostertag-stahl.example>\r\n> Invoice 4471 attached", true},
		{"billing@paypa1-invoices.example", "Pay at https://www.paypal-invoices.example/pay", true},
		{"info@acmegroup.example", "Visit https://www.acme-group.example/ for our catalogue", false},
		{"info@acmegroup.example", "Write to sales@acmmegroup.example", false},
		{"info@shop.example", "Order at https://shop.example/cart", false},
		{"billing@harrisonbell-com.example", "Please pay the attached invoice.\r\n\r\n> From: Harrison Bell Billing <billing@harrisonbell.com>", true},
		{"w.fair@lamfairweather-ca.example", "See https://www.lamfairweather.ca/portal", true},
		{"h.koch@kluge-beschlaege-de.com", "Unsere Website: https://www.kluge-beschlaege.de", true},
		{"sales@techlinkdist-sg.com", "> From: accounts@techlinkdist.com.sg", true},
		{"news@orange-business.example", "Your invoice at https://www.orange.example/", false},
		{"info@acme-uk.com", "ACME UK Ltd, part of the ACME group: https://www.acme-group.com", false},
	} {
		raw := "From: " + tc.from + "\r\nTo: user@example.org\r\nSubject: hello\r\n\r\n" + tc.body + "\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: &engine.Envelope{Rcpts: []string{"user@example.org"}}, brands: newBrandSet(contentdb.BuiltinBrands())}
		if got := lookalikeDomain(x); got != tc.want {
			t.Errorf("From %s, text %q: %v, want %v", tc.from, tc.body, got, tc.want)
		}
	}
	// Reply-To is the sender's side too.
	raw := "From: CEO <ceo@gmail.com>\r\nReply-To: ceo@exarnple-logistics.com\r\nTo: ap@example-logistics.com\r\nSubject: task\r\n\r\nbody\r\n"
	gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil)
	if !checktest.HasSign(gv, "LOOKALIKE_DOMAIN") {
		t.Fatal("a lookalike Reply-To is not a sign")
	}
	// The sign says the sender is forged, so the words get no credit.
	for _, sg := range gv.Signs {
		if sg.Forged != (sg.Name == "LOOKALIKE_DOMAIN") {
			t.Errorf("%s: Forged %v", sg.Name, sg.Forged)
		}
	}
}

// FuzzHeaderRules: any From, Reply-To and To through every header rule,
// the lookalike comparison included, without a panic.
func FuzzHeaderRules(f *testing.F) {
	f.Add("ceo@exarnple.com", "x@xn--pple-43d.com", "ap@example.com")
	f.Add("\"PayPal\" <service@paypa1.com>", "", "user@example.org")
	f.Add("a@xn--", "b@xn--zz-\xff", "c@tu-berlin.de")
	f.Fuzz(func(t *testing.T, from, replyTo, to string) {
		raw := "From: " + from + "\r\nReply-To: " + replyTo + "\r\nTo: " + to + "\r\nSubject: s\r\n\r\nbody\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: &engine.Envelope{Rcpts: []string{to}}, brands: newBrandSet(contentdb.BuiltinBrands())}
		for _, r := range Rules() {
			r.match(x)
		}
		lookalike.Same(from, lookalike.Skeleton(from), to, lookalike.Skeleton(to))
	})
}

// BenchmarkHeaderRules: every header rule on an ordinary message, the
// addresses parsed anew each time as in a scan. The lookalike comparison
// against every brand must stay a small part of it.
func BenchmarkHeaderRules(b *testing.B) {
	raw := []byte("From: \"Jane\" <jane@some-company.example>\r\nReply-To: jane@some-company.example\r\nTo: user@example.org, b@other.example\r\nSubject: hi\r\nDate: Mon, 16 Nov 2026 06:12:40 +0000\r\nMessage-ID: <a1@some-company.example>\r\n\r\nbody\r\n")
	m := message.Parse(raw, message.DefaultLimits)
	set := newBrandSet(contentdb.BuiltinBrands())
	env := &engine.Envelope{Rcpts: []string{"user@example.org"}}
	rules := Rules()
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			x := &info{m: m, env: env, brands: set}
			for _, r := range rules {
				r.match(x)
			}
		}
	})
	b.Run("lookalike", func(b *testing.B) {
		for b.Loop() {
			lookalikeDomain(&info{m: m, env: env, brands: set})
		}
	})
}

func TestSubjectID(t *testing.T) {
	tests := []struct {
		subject string
		want    bool
	}{
		// Bulk mail's ids and hash busters.
		{"Lowest mortgage rates in 40 years 48213", true},
		{"Re: your account #48213", true},
		{"Special offer for you - 12:34:56", true},
		{"Great news [a8f3k2x9]", true},
		// Numbered by trade, in the languages of today's mail.
		{"[Bug 12345] crash on start", false},
		{"Booking confirmation 48291024", false},
		{"Ihre Rechnung zur Bestellung 7004519823", false},
		{"Zahlungsavis / Payment advice 2000041873", false},
		{"Decisión de clasificación - Póliza 4600187392", false},
		{"Tilausvahvistus 4512883901", false},
		{"Auftragsbestätigung 2025118734", false},
		{"Ihre Mautaufstellung Oktober 2026 – Kunden-Nr. 1007448219", false},
		{"Bedankt voor je bestelling 4718826603", false},
		{"Nova poruka od gosta – rezervacija 5104839261", false},
		{"Biglietto Trenitalia - Codice Biglietto (PNR) X7KQ2M", false},
		{"Votre commande n° 40028812 a été expédiée", false},
		{"Potwierdzenie zamówienia 88812345", false},
		{"Forma Weekly #412: timber towers", false},
		{"Failed pipeline for main | billing-service | 4f2a91c3", false},
		{"Ваш заказ 1234567 отправлен", false},
		{"订单 20261122001 已发货", false},
		{"Hello", false},
	}
	for _, tt := range tests {
		raw := "From: a@example.com\r\nTo: b@example.org\r\nSubject: " + mime.QEncoding.Encode("utf-8", tt.subject) + "\r\n\r\nbody\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits)}
		if got := subjectID(x); got != tt.want {
			t.Errorf("subjectID(%q) = %v, want %v", tt.subject, got, tt.want)
		}
	}
}

func TestForgedMailer(t *testing.T) {
	tests := []struct {
		name, header string
		want         bool
	}{
		{"Outlook 16 with a Thread-Index", "X-Mailer: Microsoft Outlook 16.0\r\nThread-Index: AQHbk3F0c2Jd8qAXR0CfE6h2LzYxLw==\r\nMessage-ID: <a1@mail.example.com>", false},
		{"Outlook 16, Exchange Online id", "X-Mailer: Microsoft Outlook 16.0\r\nMessage-ID: <AM9PR08MB67216F4E2C1A0B3D9E8F7A6C4B@AM9PR08MB6721.eurprd08.prod.outlook.com>", false},
		{"Outlook 16, its own id through another server", "X-Mailer: Microsoft Outlook 16.0\r\nMessage-ID: <00e101dc7baa$5155a575$132ddd6a$@example.com>", false},
		{"Outlook 16, a bulk tool's id", "X-Mailer: Microsoft Outlook 16.0\r\nMessage-ID: <20260310091401.4F2A1@mailer.example.com>", true},
		{"Outlook Express with X-MimeOLE", "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\nX-MimeOLE: Produced By Microsoft MimeOLE V6.00.2800.1106\r\nMessage-ID: <x@example.com>", false},
		{"Outlook Express, its own id", "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\nMessage-ID: <000801c2574d$0b4a3960$0200a8c0@example.com>", false},
		{"Outlook Express alone", "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\nMessage-ID: <x7f3k2@bulk.example.com>", true},
		{"impossible version", "X-Mailer: Microsoft Outlook Express 6.00.2600.0000.12345\r\nX-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000", true},
		{"other mailer", "X-Mailer: Apple Mail (2.3826)\r\nMessage-ID: <x@example.com>", false},
	}
	for _, tt := range tests {
		raw := "From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n" + tt.header + "\r\n\r\nbody\r\n"
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits)}
		if got := forgedMailer(x); got != tt.want {
			t.Errorf("%s: forgedMailer = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestBrandLink: a link host naming a brand counts when the brand does not
// own its domain; common-word brands, platform subdomains and names inside
// longer words do not.
func TestBrandLink(t *testing.T) {
	for _, tc := range []struct {
		link string
		want bool
	}{
		{"https://paypal.com.case-7730.example/resolve", true},
		{"https://mitid-dk.fornyelse-app.example/login", true},
		{"https://wetransfer-download.pages.dev/f/8812", true},
		{"https://dhl-express-delivery.online/track", true},
		{"https://e-boks-login.example/", true},
		{"https://www.paypal.com/signin", false},
		{"https://www.dhl.de/de/privatkunden.html", false},
		{"https://wetransfer.zendesk.com/hc/en-us", false},
		{"https://img-prod-cms-rt-microsoft-com.akamaized.net/logo.png", false},
		{"https://booking.hotel-hafenkante.example/rooms", false},
		{"https://outlook.4team.example/addins", false},
		{"https://www.paypalooza.example/tickets", false},
		{"https://disney.go.com/parks", false},
		{"https://www.sparkasse-koelnbonn.example/online-banking", false},
	} {
		raw := "From: Shop <news@shop.example>\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nSee " + tc.link + " today.\r\n"
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil)
		if got := checktest.HasSign(gv, "LINK_BRAND_HOST"); got != tc.want {
			t.Errorf("%s: LINK_BRAND_HOST %v, want %v", tc.link, got, tc.want)
		}
	}
}

// TestRcptNameLink: a link host that names the recipient's organisation
// with service words or its suffix, or holds its whole domain before other
// labels, counts at another domain; the organisation's own links, a
// service's page named after it alone, another company whose name holds
// it, brands' and platforms' hosts and submissions do not.
func TestRcptNameLink(t *testing.T) {
	for _, tc := range []struct {
		rcpt, link string
		auth       bool
		want       bool
	}{
		{"anna@atelier-kronberger.at", "https://atelier-kronberger-at.mailbox-quota.example/login", false, true},
		{"anna@atelier-kronberger.at", "https://atelier-kronberger.at.kennwort-verwaltung.example/owa", false, true},
		{"sun@hanbit-tax.co.kr", "https://hanbit-tax-mail.web.app/", false, true},
		{"lars@southbankvets.com.au", "https://southbankvets-com-au.web.app/", false, true},
		{"anna@atelier-kronberger.at", "https://webmail.atelier-kronberger.at/owa", false, false},
		{"ola@nordkod.se", "https://nordkod.slack.com/archives/C01", false, false},
		{"ola@nordkod.se", "https://nordkod-my.sharepoint.com/personal/ola", false, false},
		{"ola@nordkod.se", "https://nordkod-ventures.example/", false, false},
		{"ola@acme.com", "https://shop-acme.com/", false, false},
		{"anna@atelier-kronberger.at", "https://atelier-kronberger-at.mailbox-quota.example/login", true, false},
	} {
		raw := "From: Desk <desk@notice.example>\r\nTo: " + tc.rcpt + "\r\nSubject: hello\r\n\r\nSee " + tc.link + " today.\r\n"
		env := &engine.Envelope{Rcpts: []string{tc.rcpt}}
		if tc.auth {
			env.AuthUser = "desk"
		}
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: env, brands: newBrandSet(contentdb.BuiltinBrands())}
		if got := rcptNameLink(x); got != tc.want {
			t.Errorf("%s to %s: rcptNameLink = %v, want %v", tc.link, tc.rcpt, got, tc.want)
		}
	}
}

// TestRcptCountryHost: a link or sender host that spells the recipient
// domain's country code into its name counts; the recipient's own hosts,
// a generic recipient domain, a code inside a word, brands' own domains
// and submissions do not.
func TestRcptCountryHost(t *testing.T) {
	for _, tc := range []struct {
		rcpt, from, link string
		auth             bool
		want             bool
	}{
		{"eva@dunaprecizios.hu", "info@notice.example", "https://otpbank-hu.ugyfel-azonositas.top/belepes", false, true},
		{"eva@dunaprecizios.hu", "info@notice.example", "https://lidl-hu-nyeremeny.survey-reward.top/", false, true},
		{"aigerim@dala-agro.kz", "info@cdek-kz.delivery", "https://track.example/", false, true},
		{"eva@dunaprecizios.hu", "info@notice.example", "https://portal-hu.dunaprecizios.hu/", false, false},
		{"eva@dunaprecizios.hu", "info@notice.example", "https://www.hungary-hub.example/", false, false},
		{"jane@example.com", "info@notice.example", "https://otpbank-hu.example/", false, false},
		{"eva@dunaprecizios.hu", "info@notice.example", "https://shop-huge.example/", false, false},
		{"eva@dunaprecizios.hu", "info@notice.example", "https://otpbank-hu.ugyfel-azonositas.top/belepes", true, false},
	} {
		raw := "From: Notice <" + tc.from + ">\r\nTo: " + tc.rcpt + "\r\nSubject: hello\r\n\r\nSee " + tc.link + " today.\r\n"
		env := &engine.Envelope{Rcpts: []string{tc.rcpt}}
		if tc.auth {
			env.AuthUser = "desk"
		}
		x := &info{m: message.Parse([]byte(raw), message.DefaultLimits), env: env, brands: newBrandSet(contentdb.BuiltinBrands())}
		if got := rcptCountryHost(x); got != tc.want {
			t.Errorf("%s from %s to %s: rcptCountryHost = %v, want %v", tc.link, tc.from, tc.rcpt, got, tc.want)
		}
	}
}

// TestBrandLinkElsewhere: a From named after a brand it does not belong
// to, with a brand-named link at a third domain, is a forged sender; the
// brand's own links, links to the sender's own domain (a brand mailing
// from a second domain of its own) and senders that name no brand are not.
func TestBrandLinkElsewhere(t *testing.T) {
	for _, tc := range []struct {
		from, link string
		want       bool
	}{
		{"Royal Mail <info@rm-redelivery-uk.example>", "https://royalmail.parcel-update.example/confirm", true},
		{"Santander <reservas@hotel-encinas.example>", "https://santander-clave-psd2.example/", true},
		{"Colissimo <noreply@notif-colissimo-laposte.example>", "https://colissimo.notif-colissimo-laposte.example/suivi", false},
		{"Royal Mail <info@rm-redelivery-uk.example>", "https://www.royalmail.com/track", false},
		{"Royal Mail <no-reply@royalmail.com>", "https://royalmail.parcel-update.example/confirm", false},
		{"Parcel Desk <info@rm-redelivery-uk.example>", "https://royalmail.parcel-update.example/confirm", false},
	} {
		raw := "From: " + tc.from + "\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nSee " + tc.link + " today.\r\n"
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil)
		if got := checktest.HasSign(gv, "FROM_BRAND_LINK_ELSEWHERE"); got != tc.want {
			t.Errorf("%s, %s: FROM_BRAND_LINK_ELSEWHERE %v, want %v", tc.from, tc.link, got, tc.want)
		}
	}
}

// TestAddressesIn checks the '@'-anchored search against the expression
// itself on texts built from the characters that matter.
func TestAddressesIn(t *testing.T) {
	alphabet := []string{"a", "b", "Z", "0", "9", ".", "-", "_", "%", "+", "@", " ", "\n", "é", "<", ">", "x.org", "@d.com", "..", "@@"}
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "@", "a@b", "a@b.c", "mail a@b.com.", "a@b.com@c.org", "x@y.z, p+q@r-s.t.u and @@@ foo@bar"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		for _, n := range []int{-1, 1, 3} {
			want := reAddrInName.FindAllString(text, n)
			if n < 0 {
				n = len(text) + 1
			}
			if got := addressesIn(text, n); !slices.Equal(got, want) {
				t.Fatalf("addressesIn(%q, %d) = %q, want %q", text, n, got, want)
			}
		}
	}
}

// BenchmarkAddressesIn compares the '@'-anchored search with the
// expression run over a long text with a few addresses, as a newsletter's.
func BenchmarkAddressesIn(b *testing.B) {
	text := strings.Repeat("Our offices are open from nine to five; write to info@shop.example.com or call us. ", 800)
	b.Run("anchored", func(b *testing.B) {
		for b.Loop() {
			addressesIn(text, maxMentioned)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			reAddrInName.FindAllString(text, maxMentioned)
		}
	})
}
