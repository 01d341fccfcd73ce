package share

import (
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/rules"
)

// TestNotices: the embedded phrases parse, and every phrase is found by
// the check's matcher in a text that holds it.
func TestNotices(t *testing.T) {
	rs, err := rules.Parse("notices.rules", notices)
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	for _, r := range rs {
		for _, ph := range r.Phrases {
			var tx rules.Texts
			tx[rules.PartBody] = "hello, " + ph + ". thanks"
			if len(c.phrases.MatchTexts(&tx)) == 0 {
				t.Errorf("%s: %q not found", r.Name, ph)
			}
		}
	}
}

func msg(from, subject, body string) string {
	return "Return-Path: <" + strings.Trim(from[strings.LastIndexByte(from, ' ')+1:], "<>") + ">\r\nFrom: " + from +
		"\r\nTo: user@example.org\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body + "\r\n"
}

func TestShareNotice(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      bool
	}{
		{"a compromised mailbox's share, the button on a page host",
			msg("Stefanie Wolf <s.wolf@elektro-weber.example>", "Stefanie Wolf hat eine Datei für Sie freigegeben",
				`<p>Stefanie Wolf hat eine Datei für Sie freigegeben.</p><p><a href="https://weber-dokumente.web.app/view">Öffnen</a></p><img src="https://res-1.cdn.office.net/files/sp-logo.png">`), true},
		{"a signing request from a throwaway sender, the page elsewhere",
			msg("Docusign via Accounts <billing@brightline-dental.example>", "Please review and sign: Remittance 2026",
				`<p>Accounts sent you a document to review and sign.</p><a href="https://review-docs.cloudfiles.example/env/77">REVIEW DOCUMENT</a>`), true},
		{"a voice message, the link at an IP address",
			msg("Voicemail <pbx@notify-center.example>", "New voicemail from +44 161 555 0192", `<p>You have a new voicemail (0:42).</p><a href="http://203.0.113.7/vm/play">Play</a>`), true},
		{"SharePoint's own notice links to SharePoint",
			msg("Amir Rahimi <no-reply@sharepointonline.com>", "Amir Rahimi shared \"Q4 plan\" with you",
				`<p>Amir Rahimi shared a file with you</p><a href="https://contoso-my.sharepoint.com/:x:/g/personal/amir/EYk">Open</a><a href="https://go.microsoft.com/fwlink/?LinkId=521839">Privacy</a>`), false},
		{"SharePoint's link on the look-alike sender's own domain",
			msg("Sylvie Marchetti <s.marchetti@fidexa-expertise.example>", "Sylvie Marchetti a partagé « Situation.pdf » avec vous",
				`<p>Sylvie Marchetti a partagé un fichier avec vous</p><a href="https://fidexa-expertise.example/:b:/s/Partage-Clients/EbX7q2Lm9w?e=RL0jPs">Ouvrir</a>`), true},
		{"a Nextcloud at the sender's own domain",
			msg("Cloud <cloud@kanzlei-berg.example>", "Anna hat »Vertrag.pdf« mit Ihnen geteilt",
				`<p>Anna hat »Vertrag.pdf« mit Ihnen geteilt.</p><a href="https://cloud.kanzlei-berg.example/s/Xk29aPq">Öffnen</a>`), false},
		{"a colleague's Dropbox link, a LinkedIn signature",
			msg("Jan Kowalski <jan@partner.example>", "drawings", `<p>I have shared the folder with you on Dropbox: <a href="https://www.dropbox.com/scl/fo/abc">drawings</a></p><p><a href="https://www.linkedin.com/in/jkowalski">LinkedIn</a></p>`), false},
		{"a service that links to its own name under another suffix",
			msg("PandaDoc <docs@pandadoc.net>", "Quote 1182 sent you a document", `<p>Acme sent you a document to review and sign.</p><a href="https://app.pandadoc.com/document/v2?token=1">Open document</a>`), false},
		{"a supplier's payment reminder from its invoicing service",
			msg("Bean Route Coffee <accounts@beanroute.example>", "Payment Reminder - INV-004517 is overdue",
				`<p>This is a reminder that invoice INV-004517 is overdue. Remittance advice: please quote the invoice number.</p><a href="https://books.zoho.com/portal/beanroute/secure?CInvoiceID=2">View invoice</a>`), false},
		{"a newsletter's tracked links only",
			msg("Verein <news@verein.example>", "Newsletter", `<p>The minutes have been shared with you via our site.</p><a href="https://verein.us21.list-manage.com/track/click?u=1">Read</a>`), false},
		{"a voice message in an attached page",
			"Return-Path: <office@dental.example>\r\nFrom: Voicemail <office@dental.example>\r\nTo: user@example.org\r\nSubject: New voice message (0:42)\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYou have received a new voice message. Open the attachment to listen.\r\n" +
				"--b\r\nContent-Type: image/svg+xml\r\nContent-Disposition: attachment; filename=\"VM_0042.svg\"\r\n\r\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\r\n--b--\r\n", true},
		{"a remittance advice as a PDF, no links",
			"Return-Path: <ap@customer.example>\r\nFrom: Accounts <ap@customer.example>\r\nTo: user@example.org\r\nSubject: Remittance advice\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease find attached our remittance advice.\r\n" +
				"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"RA-1182.pdf\"\r\n\r\n%PDF-1.4\r\n--b--\r\n", false},
		{"no share notice", msg("Shop <info@shop.example>", "Offer", `<p>Our new catalogue is out.</p><a href="https://catalogue.elsewhere.example/">Browse</a>`), false},
		{"a notice without a link", msg("Anna <anna@firm.example>", "contract", `<p>I sent you a document by post.</p>`), false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(tc.raw), nil)
		if got := checktest.HasSign(gv, Sign); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, Sign, got, tc.want, gv.Signs)
		}
		if checktest.HasSign(gv, MailboxSign) {
			t.Errorf("%s: %s too (signs %v)", tc.name, MailboxSign, gv.Signs)
		}
	}
}

// TestShareNoticeMailbox: a sharing service's notice that names the
// sharer in the third person, from the sharer's own mailbox.
func TestShareNoticeMailbox(t *testing.T) {
	const onedrive = `<a href="https://aktimarinegr-my.sharepoint.com/:o:/g/personal/k_pappas/EUIEU9jx?e=qIzNlq">Open</a>`
	for _, tc := range []struct {
		name, raw string
		want      bool
	}{
		{"a compromised mailbox's own OneDrive",
			msg("Kostas Pappas <k.pappas@aktimarine.example>", `Kostas Pappas shared "Statement of Account Q4 2026" with you`,
				`<p>Kostas Pappas shared a file with you</p><p>Please find attached the statement of account.</p>`+onedrive), true},
		{"the service's name added by hand, in German",
			msg("=?utf-8?q?Beat_Gisler_=28=C3=BCber_SharePoint_Online=29?= <b.gisler@treuhand.example>", "Zahlungsavis",
				`<p>Beat Gisler hat eine Datei für Sie freigegeben.</p>`+onedrive), true},
		{"a signing request in the sharer's name",
			msg("Megan Thornton via Docusign <billing@ridgeline-dental.example>", "Please review and sign",
				`<p>Megan Thornton sent you a document to review and sign.</p><a href="https://na3.docusign.net/Signing/EmailStart.aspx?a=1">Review</a>`), true},
		{"SharePoint's own notice",
			msg("Amir Rahimi <no-reply@sharepointonline.com>", "Amir Rahimi shared \"Q4 plan\" with you", `<p>Amir Rahimi shared a file with you</p>`+onedrive), false},
		{"Docusign's own notice",
			msg("\"Laura Mitchell via Docusign\" <dse_NA4@docusign.net>", "Please DocuSign: NDA",
				`<p>Laura Mitchell sent you a document to review and sign.</p><a href="https://na4.docusign.net/Signing/EmailStart.aspx?a=1">Review</a>`), false},
		{"a colleague writing in the first person",
			msg("Jan Kowalski <jan@partner.example>", "drawings", `<p>Hi Anna, I have shared the folder with you.</p><p>Jan Kowalski</p>`+onedrive), false},
		{"the name only in the signature, far below",
			msg("Jan Kowalski <jan@partner.example>", "drawings", `<p>`+strings.Repeat("The drawings for the second floor are in the folder. ", 25)+
				`</p><p>Jan Kowalski</p><p>View document</p>`+onedrive), false},
		{"a self-hosted Nextcloud at the sender's domain",
			msg("Anna Berg (via Nextcloud) <cloud@kanzlei-berg.example>", "Anna Berg shared »Vertrag.pdf« with you",
				`<p>Anna Berg shared a file with you.</p><a href="https://cloud.kanzlei-berg.example/s/Xk29aPq">Open</a>`), false},
		{"a supplier's invoice from its invoicing service",
			msg("Bean Route Coffee <accounts@beanroute.example>", "Remittance advice",
				`<p>Bean Route Coffee remittance advice for INV-004517.</p><a href="https://books.zoho.com/portal/beanroute/secure?CInvoiceID=2">View invoice</a>`), false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(tc.raw), nil)
		if got := checktest.HasSign(gv, MailboxSign); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, MailboxSign, got, tc.want, gv.Signs)
		}
		if checktest.HasSign(gv, Sign) {
			t.Errorf("%s: %s too (signs %v)", tc.name, Sign, gv.Signs)
		}
	}
	// Switched off in the policy.
	raw := msg("Stefanie Wolf <s.wolf@elektro-weber.example>", "Datei", `<p>Stefanie Wolf shared a file with you.</p><a href="https://weber-dokumente.web.app/view">Open</a>`)
	gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), func(s *policy.Settings) {
		s.Methods.HeaderRules = map[string]bool{RuleName: false}
	})
	if checktest.HasSign(gv, Sign) {
		t.Error("the sign fires when switched off")
	}
	raw = msg("Kostas Pappas <k.pappas@aktimarine.example>", "Statement", `<p>Kostas Pappas shared a file with you</p><a href="https://aktimarine-my.sharepoint.com/:b:/g/x">Open</a>`)
	gv = checktest.Scan(t, []engine.Check{New()}, []byte(raw), func(s *policy.Settings) {
		s.Methods.HeaderRules = map[string]bool{MailboxRuleName: false}
	})
	if checktest.HasSign(gv, MailboxSign) {
		t.Error("the mailbox sign fires when switched off")
	}
}
