package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/replies"
	"github.com/scilla-mail/scilla/server/verdict"
)

// defaultEngine is the engine with every check, the default policy and the
// embedded database (the DNS checks have no resolver and stay quiet).
func defaultEngine(t testing.TB) *engine.Engine {
	t.Helper()
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	return engine.New(engine.Options{Checks: check.All(check.Deps{})}, &engine.Snapshot{Policy: policy.Default(), DB: db})
}

// scanKind scans the messages of dir/kind/*.eml, each for the mailbox its
// Delivered-To names (else To's first, else jane.doe@example.org), and calls check with each file's name, its group verdict and whether it
// was flagged (SPAM or PROBABLE_SPAM).
func scanKind(t *testing.T, e *engine.Engine, dir, kind string, check func(name string, g *engine.GroupVerdict, flagged bool)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, kind, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s in %s: %v", kind, dir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The mailbox it was delivered to is the envelope's recipient:
		// Delivered-To's, else the first of To.
		env := &engine.Envelope{Rcpts: []string{"jane.doe@example.org"}}
		h := message.ParseHeader(raw, message.DefaultLimits)
		if to := h.Get("Delivered-To"); to != "" {
			env.Rcpts = []string{to}
		} else if to := message.ParseAddressList(h.Get("To")); len(to) > 0 && to[0].Domain() != "" {
			env.Rcpts = []string{to[0].Addr}
		}
		v, err := e.Scan(context.Background(), "test", env, raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		g := v.Groups[0]
		check(filepath.Base(f), g, g.Status == verdict.Spam || g.Status == verdict.ProbableSpam)
	}
}

// TestModernMail scans hand-written examples of today's mail with the
// default database at the Standard level. The training corpus is from
// 2002, so nothing in it keeps a rule from firing on an invoice, a password
// reset or a job interview of today: legitimate messages in
// testdata/modern/ham must not be flagged, and the scams in
// testdata/modern/spam (which the 2002 classifier has never seen) must be,
// by the rules written for them.
func TestModernMail(t *testing.T) {
	e := defaultEngine(t)
	for _, kind := range []string{"ham", "spam"} {
		scanKind(t, e, filepath.Join("testdata", "modern"), kind, func(name string, g *engine.GroupVerdict, flagged bool) {
			if flagged != (kind == "spam") {
				t.Errorf("%s/%s: %s %.2f, signs %v", kind, name, g.Status, g.Score, g.Signs)
			}
		})
	}
}

// withSentMail returns an engine with every check and a sent-mail store in
// which the internal mail of set/ham (From and a To at the domain it was delivered to) was
// submitted by its senders, and an answer to each personal message from
// outside by the user it was delivered to.
func withSentMail(t *testing.T, set string, snap *engine.Snapshot) *engine.Engine {
	t.Helper()
	sent, err := replies.OpenLocal(filepath.Join(t.TempDir(), "replies.db"), 720*time.Hour, 8760*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sent.Close() })
	e := engine.New(engine.Options{Checks: check.All(check.Deps{Sent: sent}), Sent: sent}, snap)
	files, err := filepath.Glob(filepath.Join(set, "ham", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	submit := func(env *engine.Envelope, raw []byte) {
		t.Helper()
		if _, err := e.Scan(context.Background(), "sent", env, raw); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h := message.Parse(raw, message.DefaultLimits).Header
		from := message.ParseAddressList(h.Get("From"))
		if len(from) != 1 || from[0].Domain() == "" {
			continue
		}
		// Internal mail is from the organisation's domain (the one it was
		// delivered to) to it: two friends' free mailboxes are not.
		user := h.Get("Delivered-To")
		org := message.Address{Addr: user}.Domain()
		var rcpts []string
		internal := false
		for _, a := range message.ParseAddressList(h.Get("To")) {
			rcpts = append(rcpts, a.Addr)
			internal = internal || a.Domain() == from[0].Domain() && (org == "" || org == a.Domain())
		}
		switch {
		case internal:
			submit(&engine.Envelope{AuthUser: from[0].Addr, Rcpts: rcpts}, raw)
		case user != "" && personal(h, from[0].Addr):
			// The user it was delivered to has answered it before.
			reply := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <answer-%d@%s>\r\n\r\nThank you.\r\n",
				user, from[0].Addr, h.Get("Subject"), i, message.Address{Addr: user}.Domain())
			submit(&engine.Envelope{AuthUser: user, Rcpts: []string{from[0].Addr}}, []byte(reply))
		}
	}
	return e
}

// personal reports mail from a person or a company's desk, which users
// answer: not a list's, a newsletter's or a no-reply address's.
func personal(h message.Header, from string) bool {
	if h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" || strings.EqualFold(h.Get("Precedence"), "bulk") {
		return false
	}
	local, _, _ := strings.Cut(strings.ToLower(from), "@")
	local = strings.NewReplacer("-", "", "_", "", ".", "").Replace(local)
	return !strings.Contains(local, "noreply") && !strings.Contains(local, "donotreply") && !strings.HasPrefix(local, "notif")
}

// TestHeldoutMail scans today's mail written by colleagues who had not seen
// the rules, scores or tokenizer (testdata/heldout*: each set names its
// history in docs/content.md). Each set is scanned by an engine that
// remembers sent mail (server/replies), after the set's internal mail (From
// and To at one domain) went through it as its senders' submissions, and
// an answer to each of its personal messages from outside (withSentMail):
// the staff have sent mail before, as on any server. The set's ham is scanned
// before its spam, so the engine has seen the names the staff receive mail
// under, as it has on a server that has run for a while. The policy is the default
// one with the Eastern languages allowed: flagging a whole language is a site's choice
// (its policy), and a reviewer's mailbox holds family mail in Korean.
// Legitimate mail must never be flagged: that is the product's first
// promise. The exceptions are listed in knownFlagged with the reason, each
// found by a set's first scan and left rather than written a rule for; the
// test fails when one stops being flagged, so the list stays true. Of the
// spam, the share detected is logged per set for the figures, and over all
// sets must not fall below a third, which guards against a change that
// quietly stops recognising today's scams.
func TestHeldoutMail(t *testing.T) {
	knownFlagged := map[string]string{
		"heldout110/ham/registrar_domain_renewal_notice_kilicoffee_en.eml":    "a registrar's genuine domain-renewal notice that the classifier rates as 2002's spam (BAYES_99) beside a bulk-mail phrase (BULK_EMAIL_LISTS): PROBABLE_SPAM 5.96 at the session's start commit, 5.97 at its end; measured only",
		"heldout110/ham/supplier_haulage_payment_reminder_invoice_pdf_en.eml": "a haulier's genuine payment reminder, \"Dear Sir/Madam\" (BULK_DEAR), that the classifier rates as 2002's spam (BAYES_99): SPAM 6.86 at the session's start commit, 6.87 at its end; measured only",
		"heldout98/ham/planning_portal_ldc_application_submitted_en.eml":      "the Planning Portal's genuine confirmation of an application and its fee, which the classifier rates as 2002's spam (BAYES_95, counted 4.0 alone) with \"application fee\" beside a Nigerian letter's context words (SCAM_419_CONTEXT): PROBABLE_SPAM 4.50 at the session's start commit and at its end; measured only",
		"heldout100/ham/cra_new_mail_my_business_account_en.eml":              "the Canada Revenue Agency's genuine \"you have new mail\" notice, bilingual, that the classifier rates as 2002's spam (BAYES_99) beside a toll-free number (COMM_TOLL_FREE_NUMBER): PROBABLE_SPAM 5.06 at the session's start commit, 5.07 at its end; measured only",
		"heldout100/ham/registrar_domain_renewal_reminder_en.eml":             "a registrar's genuine renewal reminder (a price, a card on file, a toll-free number) that the classifier rates as 2002's spam (BAYES_95): PROBABLE_SPAM 4.86 at the session's start commit and at its end; measured only",
		"heldout100/ham/statcan_manufacturing_survey_reminder_en.eml":         "Statistics Canada's genuine survey reminder, bilingual, that the classifier rates as 2002's spam (BAYES_999) beside a toll-free number: SPAM 8.15 at the session's start commit, 8.16 at its end; measured only",
		"heldout91/ham/customer_complaint_insulin_order_caps_bg.eml":          "a pharmacy's genuine complaint in capitals with exclamation marks (STYLE_BODY_SHOUT), an order number in the subject (SUBJ_NUMERIC_ID) and the classifier (BAYES_80): PROBABLE_SPAM 5.17 at the session's start commit, 5.16 at its end; measured only",
		"heldout92/ham/btcl_bd_domain_renewal_reminder_en.eml":                "a registry's genuine domain-renewal reminder, \"Dear Sir/Madam\" (BULK_DEAR), that the classifier rates as 2002's spam (BAYES_999): SPAM 7.96 at the session's start commit, 8.01 at its end; measured only",
		"heldout92/ham/job_application_assistant_merchandiser_cv_pdf_en.eml":  "a genuine job application, \"Dear Sir\" (BULK_DEAR), a reference number in the subject (SUBJ_NUMERIC_ID) and the classifier (BAYES_80): PROBABLE_SPAM 4.98 at the session's start commit, 4.99 at its end; measured only",
		"heldout92/ham/sundarban_courier_parcel_booking_confirmation_bn.eml":  "a courier's genuine booking confirmation in Bengali, HTML only (HTML_ONLY), a consignment number in the subject (SUBJ_NUMERIC_ID) and the classifier (BAYES_60): PROBABLE_SPAM 4.56 at the session's start commit, 4.55 at its end; measured only",
		"heldout92/ham/textile_today_survey_prize_draw_winner_en.eml":         "a trade magazine's genuine survey prize draw (SCAM_PRIZE_WON, STYLE_SUBJ_HOOKS) and the classifier (BAYES_99): SPAM 10.84 at the session's start commit, 8.97 at its end; measured only",
		"heldout94/ham/customer_china_distributor_enquiry_en.eml":             "a Chinese distributor's genuine first enquiry, \"Dear Sir/Madam\" (BULK_DEAR), that the classifier rates as 2002's spam (BAYES_99): SPAM 7.14 at the session's start commit, 7.16 at its end; measured only",
		"heldout85/ham/farmer_payment_complaint_caps_ru.eml":                  "a farmer's genuine complaint about a late payment, in capitals with exclamation marks (STYLE_BODY_SHOUT), that the classifier rates as 2002's spam (BAYES_99): PROBABLE_SPAM 5.77 at the session's start commit and after",
		"heldout86/ham/bank_bbva_alerta_nuevo_ingreso_netcash_es.eml":         "a bank's genuine new-login alert, HTML only, \"Alerta de seguridad\" (PHISH_COMPROMISED) with the product \"Net Cash\" in the subject (STYLE_SUBJ_HOOKS): PROBABLE_SPAM 4.95 at the session's start commit and after",
		"heldout87/ham/medica_survey_prize_draw_business_lounge_pass_en.eml":  "a trade fair's genuine survey prize draw (SCAM_PRIZE_WON, STYLE_SUBJ_HOOKS) and the classifier (BAYES_95): SPAM 7.99 at the session's start commit, 6.10 once \"you've won\" left SCAM_LOTTERY",
		"heldout87/ham/tdap_circular_whx_dubai_2027_pavilion_en.eml":          "a trade authority's genuine circular to exporters in Bcc (UNDISCLOSED_RECIPIENTS) that the classifier rates as 2002's spam (BAYES_99): PROBABLE_SPAM 5.29 at the session's start commit and after",
		"heldout89/ham/first_enquiry_dubai_importer_gmail_en.eml":             "an importer's genuine first enquiry from a Gmail address, \"Dear Sir\" (BULK_DEAR), trust words (SCAM_419_TRUST) and the classifier: SPAM 6.68 at the session's start commit and after; measured only",
		"heldout89/ham/gepa_export_forum_newsletter_en.eml":                   "an export authority's genuine newsletter, HTML only, and the classifier (BAYES_95): SPAM 6.83 at the session's start commit, 6.14 once Ghana no longer counted for recipients under .gh; measured only",
		"heldout89/ham/supplier_invoice_cartons_pdf_en.eml":                   "a supplier's genuine invoice, \"Dear Sir/Madam\" (BULK_DEAR), and the classifier (BAYES_95): PROBABLE_SPAM 5.51 at the session's start commit and after, like set 80's; measured only",
		"heldout80/ham/fi_asia_survey_lucky_draw_winner_en.eml":               "a trade fair's genuine visitor-survey lucky draw in Kuala Lumpur, \"you are one of the 10 winners\" (SCAM_PRIZE_WON), a sales hook in the subject (STYLE_SUBJ_HOOKS) and the classifier (BAYES_80): SPAM 7.68 at the session's start commit, PROBABLE_SPAM 5.79 once \"you've won\" left SCAM_LOTTERY",
		"heldout80/ham/haulier_payment_reminder_overdue_soa_en.eml":           "a haulier's genuine overdue-invoice reminder in Malaysian business English, \"Dear Sir / Madam … Kindly be informed\" (BULK_DEAR) that the classifier rates as 2002's spam (BAYES_99, 5.9): SPAM 7.38 at the session's start commit and after",
		"heldout80/ham/supplier_invoice_cartons_gmail_pdf_en.eml":             "a small supplier's genuine invoice from a Gmail address, \"Dear Sir/Madam\" (BULK_DEAR) and the classifier (BAYES_9999, 7.7): SPAM 9.20 at the session's start commit and after",
		"heldout80/ham/tnb_electricity_ebill_dear_customer_en.eml":            "a power company's genuine e-bill, HTML only (HTML_ONLY), the account number in the subject (SUBJ_NUMERIC_ID) and the classifier (BAYES_80): PROBABLE_SPAM 5.66 at the session's start commit and after, like set 66's bill",
		"heldout83/ham/big5_visitor_survey_prize_draw_winner_en.eml":          "a trade fair's genuine visitor-survey prize draw in Riyadh (SCAM_PRIZE_WON, STYLE_SUBJ_HOOKS) and the classifier (BAYES_60): SPAM 6.63 at the session's start commit, PROBABLE_SPAM 4.73 once \"you've won\" left SCAM_LOTTERY; measured only",
		"heldout78/ham/bdo_new_device_login_alert_en.eml":                     "a Philippine bank's genuine new-device alert, HTML only with a toll-free number (COMM_TOLL_FREE_NUMBER), that the classifier rates as 2002's spam (BAYES_99, 5.04, over its 4.0 cap because the number backs it): SPAM 6.82 at the session's start commit, 6.84 after",
		"heldout67/ham/jetbrains_survey_prize_draw_winner_en.eml":             "a software vendor's genuine survey prize draw, \"Congratulations … you've won\" with a claim code (SCAM_PRIZE_WON, SCAM_CLAIM_NUMBERS) and the classifier (BAYES_95): SPAM 10.27 at the session's start commit and after (8.41 once it was taken out of SCAM_LOTTERY on 24 Nov), like the prize draws of sets 7, 42 and 66",
		"heldout69/ham/gartex_visitor_survey_lucky_draw_winner_en.eml":        "a trade fair's genuine visitor-survey lucky draw, \"Congratulations\" in the subject (STYLE_SUBJ_HOOKS) and the classifier (BAYES_95): PROBABLE_SPAM 5.34 at the session's start commit and after",
		"heldout71/ham/event_survey_prize_draw_winner_voucher_en.eml":         "an event's genuine survey prize draw in Lagos, \"you've won\" (SCAM_PRIZE_WON, STYLE_SUBJ_HOOKS), Nigeria named (SCAM_419_COUNTRIES) and the classifier (BAYES_99): SPAM 9.57 at the session's start commit and after, 7.72 on 24 Nov",
		"heldout71/ham/gtbank_gens_credit_alert_dear_customer_en.eml":         "a Nigerian bank's genuine credit alert, HTML only, that the classifier rates as 2002's spam (BAYES_80, 4.34) and that names Nigeria and its central bank (SCAM_419_COUNTRIES, SCAM_419_CONTEXT): SPAM 6.84 at the session's start commit and after; to a Nigerian company the country is no sign, but a sign per recipient's country is not built",
		"heldout72/ham/customer_first_enquiry_en.eml":                         "a customer's genuine first enquiry, \"Dear Sir/Madam\" (BULK_DEAR) and the classifier (BAYES_95): PROBABLE_SPAM 4.95 at the session's start commit and after, like set 38's distributor",
		"heldout29/ham/acra_annual_return_reminder_en.eml":                    "a genuine reminder from Singapore's company registry to file the annual return, with late-filing penalties, which the classifier alone rates as 2002's spam (BAYES_99, 4.48) and \"Dear Sir/Madam\" (BULK_DEAR): SPAM 7.27 at the session's start commit, PROBABLE_SPAM 5.98 after BULK_DEAR's cap; with the MTA's dmarc=pass for acra.gov.sg trusted (DMARC_PASS_BRAND), 4.46 and passing until the refit of 23 Nov, 4.51 after",
		"heldout33/ham/il_sos_nfp_annual_report_reminder_en.eml":              "a genuine reminder of the Illinois Secretary of State that the annual report is due, with fee and penalty: SPAM 7.60 at the session's start commit (BAYES_99, SUBJ_NUMERIC_ID, SCAM_CLAIM_NUMBERS on \"File Number:\"), PROBABLE_SPAM 4.97 after the two signs were mended; with the MTA's dmarc=pass trusted, ilsos.gov is a public authority's (DMARC_PASS_BRAND)",
		"heldout38/ham/partner_anfrage_distributor_polen_en.eml":              "a Polish distributor's genuine first enquiry, \"Dear Sir/Madam\" (BULK_DEAR) and the classifier (BAYES_80): SPAM 6.07 at the session's start commit, PROBABLE_SPAM 4.85 after BULK_DEAR's cap",
		"heldout42/ham/transfinder_survey_drawing_winner_en.eml":              "a vendor's genuine survey prize draw, \"Congratulations … you won\" a gift card (STYLE_SUBJ_HOOKS, COMM_GIFT_CARD) and the classifier (BAYES_99): SPAM 8.26 at the session's start commit and after, like set 7's prize draw",
		"heldout45/ham/bank_swift_credit_advice_en.eml":                       "a bank's genuine advice of an incoming payment, \"Dear Customer\" (BULK_DEAR_CUSTOMER), a reference in the subject (SUBJ_NUMERIC_ID) and the classifier (BAYES_99): SPAM 7.25 at the session's start commit and after; DMARC_PASS_BRAND takes 1.5 off in production, not enough",
		"heldout31/ham/internal_meeting_invitation_q4_nl.eml":                 "a colleague's meeting invitation whose writer gave it X-Mailer Outlook 16.0 with a Message-ID of Outlook 2007's form and no Thread-Index (FORGED_MAILER): 4.48 until the refit of 23 Nov raised the classifier's calibration by 0.06, PROBABLE_SPAM 4.54 after",
		"heldout47/ham/customer_damage_photos_only_pt.eml":                    "a customer's photos of the damage, HTML with images and almost no text (HTML_IMAGE_ONLY, HTML_ONLY) and the classifier: SPAM 6.71 at the session's start commit and after",
		"heldout48/ham/tradeshow_lucky_draw_winner_en.eml":                    "a trade show's genuine lucky-draw notice, \"Congratulations\" and a prize (SCAM_PRIZE_WON, STYLE_SUBJ_HOOKS) and the classifier: SPAM 7.24 at the session's start commit and after (PROBABLE_SPAM 5.36 on 24 Nov), like sets 7's and 42's prize draws",
		"heldout51/ham/bank_emirates_nbd_estatement_october_en.eml":           "a bank's genuine e-statement notice that the classifier rates as 2002's spam (BAYES_99, 5.04) with the weak SCAM_419_CONTEXT (0.5), which keeps the classifier's cap from applying: PROBABLE_SPAM 5.54 at the session's start commit and after",
		"heldout57/ham/shinhan_corpcard_secure_statement_ko.eml":              "a card company's genuine statement as Korean secure mail: an attached web page whose script decrypts it (HTML_ATTACHMENT_SCRIPT, HTML_ATTACHMENT), as phishing pages come: PROBABLE_SPAM 5.80 at the session's start commit and after",
		"heldout59/ham/bank_ncba_estatement_october_pdf_en.eml":               "a Kenyan bank's genuine e-statement notice, HTML only, \"Dear Customer\" (BULK_DEAR_CUSTOMER) and the classifier (BAYES_99, 4.96): SPAM 8.26 at the session's start commit and after, like set 51's; measured only",
		"heldout59/ham/regulator_pbora_annual_returns_reminder_en.eml":        "a pension regulator's genuine reminder to file annual returns, \"Dear Sir/Madam\" (BULK_DEAR) and the classifier (BAYES_95): PROBABLE_SPAM 5.58 at the session's start commit and after, like set 29's registry reminder; measured only",
		"heldout63/ham/rightmove_overseas_enquiry_golden_mile_en.eml":         "a property portal's genuine buyer lead, a villa at EUR 2,950,000 (FIN_DOLLAR_AMOUNTS) and the classifier (BAYES_95): SPAM 6.75 at the session's start commit, PROBABLE_SPAM 5.48 after the rule's cap at 2.0",
		"heldout66/ham/aila_member_survey_drawing_winner_en.eml":              "a lawyers' association's genuine survey drawing, a sales hook in the subject (STYLE_SUBJ_HOOKS) and the classifier (BAYES_95): PROBABLE_SPAM 4.60 when set 66 was measured",
		"heldout66/ham/fpl_bill_ready_dear_customer_autopay_en.eml":           "a power company's genuine bill notice that the classifier rates as 2002's spam (BAYES_99, 4.81), with a toll-free number (COMM_TOLL_FREE_NUMBER, 0.5) that keeps the classifier's cap from applying: SPAM 6.80 when set 66 was measured, PROBABLE_SPAM 5.31 once \"Dear Customer\" weighed nothing",
		"heldout15/ham/printer_quote_brochures_pdf_fr.eml":                    "X-Mailer Microsoft Outlook 16.0 with neither a Thread-Index nor a Message-ID of Outlook's forms, as bulk tools forge it (FORGED_MAILER): PROBABLE_SPAM at 4.57; the sign was kept, for want of evidence that Outlook for Windows writes such a message",
	}
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.Default()
	pol.Groups[0].Settings.Methods.Eastern = map[string]bool{}
	for _, lang := range policy.EasternLanguages() {
		pol.Groups[0].Settings.Methods.Eastern[lang] = false
	}
	sets, err := filepath.Glob(filepath.Join("testdata", "heldout*"))
	if err != nil || len(sets) == 0 {
		t.Fatalf("no held-out sets: %v", err)
	}
	detected, n := 0, 0
	for _, set := range sets {
		t.Run(filepath.Base(set), func(t *testing.T) {
			e := withSentMail(t, set, &engine.Snapshot{Policy: pol, DB: db})
			scanKind(t, e, set, "ham", func(name string, g *engine.GroupVerdict, flagged bool) {
				key := filepath.Base(set) + "/ham/" + name
				why, known := knownFlagged[key]
				switch {
				case flagged && known:
					t.Logf("%s: flagged %s %.2f, known: %s", name, g.Status, g.Score, why)
				case flagged:
					t.Errorf("%s: legitimate mail flagged %s %.2f, signs %v", name, g.Status, g.Score, g.Signs)
				case known:
					t.Errorf("%s is no longer flagged (%.2f): take it out of knownFlagged", name, g.Score)
				}
			})
			d, m := 0, 0
			scanKind(t, e, set, "spam", func(_ string, _ *engine.GroupVerdict, flagged bool) {
				m++
				if flagged {
					d++
				}
			})
			t.Logf("spam detected: %d of %d", d, m)
			detected, n = detected+d, n+m
		})
	}
	t.Logf("spam detected over all sets: %d of %d", detected, n)
	if 3*detected < n {
		t.Errorf("only %d of %d spams detected, fewer than a third", detected, n)
	}
}

// TestHeldoutNoticesWithTrustedAuthResults: genuine notices that the 2002
// classifier rates as spam, with a rule or two (knownFlagged) or alone,
// pass when the server trusts its MTA's Authentication-Results
// (dns.trusted_authserv_ids), whose dmarc=pass for the brand's own domain
// gives DMARC_PASS_BRAND.
func TestHeldoutNoticesWithTrustedAuthResults(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"heldout23/ham/dhl_express_import_duties_payment_en.eml",
		"heldout24/ham/aib_estatement_available_en.eml",
		"heldout27/ham/ato_new_message_en.eml",
		"heldout27/ham/dhl_duty_tax_invoice_en.eml",
		"heldout33/ham/il_sos_nfp_annual_report_reminder_en.eml",
		"heldout43/ham/shipping_line_dear_customer_surcharge_en.eml",
		"heldout45/ham/bank_dear_customer_maintenance_en.eml",
		"heldout48/ham/vietcombank_new_device_login_alert_vi.eml",
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		h := message.ParseHeader(raw, message.DefaultLimits)
		mta, _, _ := strings.Cut(h.Get("Authentication-Results"), ";")
		deps := check.Deps{DNS: dns.Config{TrustedAuthServIDs: []string{strings.TrimSpace(mta)}}}
		e := engine.New(engine.Options{Checks: check.All(deps)}, &engine.Snapshot{Policy: policy.Default(), DB: db})
		v, err := e.Scan(context.Background(), "test", &engine.Envelope{Rcpts: []string{h.Get("Delivered-To")}}, raw)
		if err != nil {
			t.Fatal(err)
		}
		if g := v.Groups[0]; g.Status != verdict.NotDetected {
			t.Errorf("%s with %s trusted: %s %.2f, signs %v", f, mta, g.Status, g.Score, g.Signs)
		}
	}
}
