package dkim

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
)

// TestTrustedAuthResults: without DNS checks, the DMARC result of the
// MTA's own Authentication-Results header counts, whatever the policy's
// DNS method says; other servers' headers and results about other domains
// do not.
func TestTrustedAuthResults(t *testing.T) {
	db := &contentdb.DB{Brands: contentdb.BuiltinBrands()}
	c := New(nil, relays.New(0, nil, false), "", []string{"mx.receiver.example"})
	tests := []struct {
		name, from string
		ar         []string
		dnsOff     bool
		want       string // sign name, "" for none
	}{
		{"pass", "shop@news.shop.example", []string{"mx.receiver.example; dkim=pass header.d=news.shop.example; dmarc=pass header.from=news.shop.example"}, false, "DMARC_PASS"},
		{"a brand's pass", "noreply@dhl.com", []string{"mx.receiver.example; dmarc=pass (p=reject dis=none) header.from=dhl.com"}, false, "DMARC_PASS_BRAND"},
		{"comments with semicolons", "noreply@dhl.com", []string{"mx.receiver.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=dhl.com; dmarc=pass header.from=dhl.com"}, false, "DMARC_PASS_BRAND"},
		{"authserv-id in another case", "noreply@dhl.com", []string{"MX.Receiver.Example; dmarc=pass header.from=dhl.com"}, false, "DMARC_PASS_BRAND"},
		{"a public authority", "donotreply@ilsos.gov", []string{"mx.receiver.example; dmarc=pass header.from=ilsos.gov"}, false, "DMARC_PASS_BRAND"},
		{"a public authority abroad", "noreply@acra.gov.sg", []string{"mx.receiver.example; dmarc=pass header.from=acra.gov.sg"}, false, "DMARC_PASS_BRAND"},
		{"a private name under gov-like words", "info@gov-portal.example", []string{"mx.receiver.example; dmarc=pass header.from=gov-portal.example"}, false, "DMARC_PASS"},
		{"a brand's free mailbox is no brand", "ceo.office@outlook.com", []string{"mx.receiver.example; dmarc=pass header.from=outlook.com"}, false, "DMARC_PASS"},
		{"fail, p=reject", "billing@paypal.com", []string{"mx.receiver.example; dmarc=fail (p=reject dis=none) header.from=paypal.com"}, false, "DMARC_FAIL_REJECT"},
		{"fail, p=quarantine", "billing@shop.example", []string{"mx.receiver.example; spf=fail (sender not allowed; see policy) smtp.mailfrom=x@shop.example; dmarc=fail (p=quarantine) header.from=shop.example"}, false, "DMARC_FAIL_QUARANTINE"},
		{"fail without a policy", "billing@shop.example", []string{"mx.receiver.example; dmarc=fail header.from=shop.example"}, false, "DMARC_FAIL_NONE"},
		{"another server's header", "noreply@dhl.com", []string{"mx.sender.example; dmarc=pass header.from=dhl.com"}, false, ""},
		{"about another domain", "noreply@dhl-zoll.example", []string{"mx.receiver.example; dmarc=pass header.from=dhl.com"}, false, ""},
		{"the first trusted header decides", "noreply@dhl.com", []string{"mx.receiver.example; dmarc=fail (p=reject) header.from=dhl.com", "mx.receiver.example; dmarc=pass header.from=dhl.com"}, false, "DMARC_FAIL_REJECT"},
		{"no dmarc result", "noreply@dhl.com", []string{"mx.receiver.example; spf=pass smtp.mailfrom=dhl.com"}, false, ""},
		{"temperror", "noreply@dhl.com", []string{"mx.receiver.example; dmarc=temperror header.from=dhl.com"}, false, ""},
		{"DNS checks off in the policy too", "noreply@dhl.com", []string{"mx.receiver.example; dmarc=pass header.from=dhl.com"}, true, "DMARC_PASS_BRAND"},
	}
	for _, tt := range tests {
		var raw strings.Builder
		for _, v := range tt.ar {
			raw.WriteString("Authentication-Results: " + v + "\r\n")
		}
		raw.WriteString("From: Sender <" + tt.from + ">\r\nTo: a@receiver.example\r\nSubject: notice\r\n\r\nHello.\r\n")
		in := &engine.Input{
			ScanID: t.Name(), Msg: message.Parse([]byte(raw.String()), message.DefaultLimits), Env: &engine.Envelope{}, DB: db,
			Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: !tt.dnsOff}}}, Log: slog.New(slog.DiscardHandler),
		}
		res, err := c.Run(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		for _, s := range res.Signs {
			got = s.Name
		}
		if got != tt.want || len(res.Signs) > 1 || len(res.Headers) > 0 {
			t.Errorf("%s: signs %+v headers %v, want %q and no header", tt.name, res.Signs, res.Headers, tt.want)
		}
	}
}

// TestTrustedNeedsConfiguration: no authserv-id is trusted by default.
func TestTrustedNeedsConfiguration(t *testing.T) {
	c := New(nil, relays.New(0, nil, false), "mx.receiver.example", nil)
	raw := "Authentication-Results: mx.receiver.example; dmarc=pass header.from=dhl.com\r\nFrom: <noreply@dhl.com>\r\n\r\nHi\r\n"
	in := &engine.Input{
		ScanID: t.Name(), Msg: message.Parse([]byte(raw), message.DefaultLimits), Env: &engine.Envelope{},
		Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: true}}}, Log: slog.New(slog.DiscardHandler),
	}
	if res, _ := c.Run(context.Background(), in); len(res.Signs) != 0 {
		t.Errorf("signs %+v without trusted authserv-ids", res.Signs)
	}
}

func TestStripComments(t *testing.T) {
	for _, tt := range []struct{ in, out, comments string }{
		{"a (b) c", "a   c", "b"},
		{"a (b (nested) c) d", "a   d", "b nested c"},
		{`a "q (not) a comment" (yes)`, `a "q (not) a comment"  `, "yes"},
		{`a (esc \) paren) b`, "a   b", "esc ) paren"},
		{"a (unterminated", "a ", ""},
	} {
		out, cs := stripComments(tt.in)
		var texts []string
		for _, c := range cs {
			texts = append(texts, c.text)
		}
		if out != tt.out || strings.Join(texts, "|") != tt.comments {
			t.Errorf("stripComments(%q) = %q, %q; want %q, %q", tt.in, out, texts, tt.out, tt.comments)
		}
	}
}

// FuzzParseDMARC: any header value parses without a panic, and a result
// found names an authserv-id and a known policy.
func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"mx.receiver.example; dmarc=pass (p=reject dis=none) header.from=dhl.com",
		"mx.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=a.example header.i=@a.example; dmarc=fail (p=quarantine) header.from=a.example",
		`mx; spf=pass smtp.mailfrom="a;b(c)"@x.example; dmarc=none`,
		"((((", "mx 2; dmarc=pass", ";;;dmarc=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, dr, policy, ok := parseDMARC(v)
		if ok && (id == "" || dr == nil || (policy != "none" && policy != "reject" && policy != "quarantine")) {
			t.Errorf("parseDMARC(%q) = %q, %+v, %q", v, id, dr, policy)
		}
	})
}

func TestPublicAuthority(t *testing.T) {
	for d, want := range map[string]bool{
		"ilsos.gov": true, "acra.gov.sg": true, "impots.gouv.fr": true, "sat.gob.mx": true, "nta.go.jp": true,
		"bmf.gv.at": true, "cra-arc.gc.ca": true, "army.mil": true, "tax.service.gov.uk": true,
		"gov-portal.example": false, "google.com": false, "go.com": false, "example.co.uk": false, "gov.example.com": false,
	} {
		if got := publicAuthority(d); got != want {
			t.Errorf("publicAuthority(%q) = %v, want %v", d, got, want)
		}
	}
}
