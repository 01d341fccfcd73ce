package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"github.com/scilla-mail/scilla/internal/conf"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	mdns "github.com/miekg/dns"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/dns/dnstest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
)

// publishKey publishes a DKIM key record, split into 255-octet strings.
func publishKey(srv *dnstest.Server, name, rec string) {
	var parts []string
	for len(rec) > 255 {
		parts, rec = append(parts, rec[:255]), rec[255:]
	}
	parts = append(parts, rec)
	srv.AddRR(&mdns.TXT{Hdr: mdns.RR_Header{Name: mdns.Fqdn(name), Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 300}, Txt: parts})
}

func sign(t *testing.T, raw []byte, domain, selector string, key crypto.Signer) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type fixture struct {
	c   *Check
	srv *dnstest.Server
}

func setup(t *testing.T) (*fixture, ed25519.PrivateKey, *rsa.PrivateKey) {
	srv := dnstest.Start(t)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	publishKey(srv, "ed._domainkey.shop.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edPub))
	publishKey(srv, "rsa._domainkey.mail.shop.example", "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
	publishKey(srv, "ed._domainkey.other.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edPub))
	srv.Add(t,
		`shop.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`bounces.other.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`_dmarc.shop.example. TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r"`,
		`_dmarc.strict.example. TXT "v=DMARC1; p=quarantine; adkim=s; aspf=s"`,
		`strict.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`_dmarc.lax.example. TXT "v=DMARC1; p=none"`,
		`9.2.0.192.in-addr.arpa. PTR mta.shop.example.`,
		`mta.shop.example. A 192.0.2.9`,
	)
	srv.Timeout("ed._domainkey.slow.example")
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout, cfg.Retries = conf.Duration(300*time.Millisecond), 0
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return &fixture{c: New(r, relays.New(0, nil, false), "mx.receiver.example", nil), srv: srv}, edKey, rsaKey
}

func (f *fixture) run(t *testing.T, raw []byte, client, mailFrom string) (engine.Result, error) {
	t.Helper()
	in := &engine.Input{
		ScanID: t.Name(), Msg: message.Parse(raw, message.DefaultLimits),
		Env:   &engine.Envelope{ClientIP: netip.MustParseAddr(client), MailFrom: mailFrom, Helo: "mta.example"},
		Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: true}}}, Log: slog.New(slog.DiscardHandler),
	}
	return f.c.Run(context.Background(), in)
}

func TestDKIMAndDMARC(t *testing.T) {
	f, edKey, rsaKey := setup(t)
	base, err := os.ReadFile("testdata/newsletter.eml")
	if err != nil {
		t.Fatal(err)
	}
	withFrom := func(from string) []byte {
		return bytes.Replace(base, []byte("From: News <news@shop.example>"), []byte("From: News <"+from+">"), 1)
	}
	tampered := func(b []byte) []byte { return bytes.Replace(b, []byte("offers are"), []byte("offers were"), 1) }

	tests := []struct {
		name     string
		raw      []byte
		client   string
		mailFrom string
		signs    string // sign names, sorted as returned
		ar       []string
	}{
		{"ed25519 pass, DMARC pass by DKIM", sign(t, base, "shop.example", "ed", edKey), "203.0.113.5", "b@bounces.other.example",
			"DKIM_VALID,DMARC_PASS", []string{"spf=fail", "iprev=fail policy.iprev=203.0.113.5", "dkim=pass header.d=shop.example", "dmarc=pass header.from=shop.example"}},
		{"rsa pass on a subdomain aligns relaxed", sign(t, base, "mail.shop.example", "rsa", rsaKey), "203.0.113.5", "",
			"DKIM_VALID,DMARC_PASS", []string{"dkim=pass header.d=mail.shop.example", "dmarc=pass"}},
		{"body changed: DKIM fail, DMARC reject", tampered(sign(t, base, "shop.example", "ed", edKey)), "203.0.113.5", "b@bounces.other.example",
			"DKIM_INVALID,DMARC_FAIL_REJECT", []string{"spf=fail", "dkim=fail", "dmarc=fail reason=\"p=reject\""}},
		{"unsigned but SPF aligned: DMARC pass", base, "192.0.2.9", "b@shop.example",
			"DMARC_PASS", []string{"spf=pass smtp.mailfrom=b@shop.example", "iprev=pass policy.iprev=192.0.2.9", "dkim=none", "dmarc=pass"}},
		{"aligned signature of another domain does not count", sign(t, withFrom("x@shop.example"), "other.example", "ed", edKey), "203.0.113.5", "b@bounces.other.example",
			"DKIM_VALID,DMARC_FAIL_REJECT", []string{"dkim=pass header.d=other.example", "dmarc=fail"}},
		{"subdomain policy", withFrom("x@news.shop.example"), "203.0.113.5", "",
			"DMARC_FAIL_QUARANTINE", []string{"dkim=none", "dmarc=fail reason=\"p=quarantine\" header.from=news.shop.example"}},
		{"strict alignment", withFrom("x@strict.example"), "192.0.2.9", "b@sub.strict.example",
			"DMARC_FAIL_QUARANTINE", []string{"dmarc=fail"}},
		{"p=none", withFrom("x@lax.example"), "203.0.113.5", "",
			"DMARC_FAIL_NONE", []string{"dmarc=fail reason=\"p=none\""}},
		{"no DMARC record", withFrom("x@nopolicy.example"), "203.0.113.5", "",
			"", []string{"dkim=none", "dmarc=none header.from=nopolicy.example"}},
		{"key missing: permerror", sign(t, base, "nokey.example", "ed", edKey), "203.0.113.5", "",
			"DKIM_INVALID,DMARC_FAIL_REJECT", []string{"dkim=permerror", "header.d=nokey.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.run(t, tt.raw, tt.client, tt.mailFrom)
			if err != nil {
				t.Errorf("err = %v", err)
			}
			var names []string
			for _, s := range res.Signs {
				names = append(names, s.Name)
			}
			if got := strings.Join(names, ","); got != tt.signs {
				t.Errorf("signs %s, want %s", got, tt.signs)
			}
			if len(res.Headers) != 1 || res.Headers[0].Name != "Authentication-Results" {
				t.Fatalf("headers %v", res.Headers)
			}
			ar := res.Headers[0].Value
			if !strings.HasPrefix(ar, "mx.receiver.example;") {
				t.Errorf("authserv-id missing: %s", ar)
			}
			for _, w := range tt.ar {
				if !strings.Contains(ar, w) {
					t.Errorf("Authentication-Results %q lacks %q", ar, w)
				}
			}
			// The header must parse back (RFC 8601 grammar).
			if id, _, err := authres.Parse(ar); err != nil || id != "mx.receiver.example" {
				t.Errorf("header does not parse: %v", err)
			}
		})
	}

	// The domain's own mail, unsigned, from no outside sending IP: an
	// authenticated user or an internal host. DMARC judges mail from
	// outside only.
	for _, c := range []struct{ name, client, auth string }{
		{"authenticated submission", "203.0.113.5", "alice"},
		{"internal client", "10.0.0.5", ""},
	} {
		t.Run(c.name+": no DMARC judgement", func(t *testing.T) {
			in := &engine.Input{
				ScanID: t.Name(), Msg: message.Parse(base, message.DefaultLimits),
				Env:   &engine.Envelope{ClientIP: netip.MustParseAddr(c.client), MailFrom: "b@shop.example", Helo: "laptop", AuthUser: c.auth},
				Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: true}}}, Log: slog.New(slog.DiscardHandler),
			}
			res, err := f.c.Run(context.Background(), in)
			if err != nil || len(res.Signs) != 0 {
				t.Errorf("signs %v, err %v; want none", res.Signs, err)
			}
			if ar := res.Headers[0].Value; strings.Contains(ar, "dmarc=") || strings.Contains(ar, "spf=") {
				t.Errorf("Authentication-Results judges the sending IP: %s", ar)
			}
		})
	}

	// A brand's own domain (the content database's brands) that passes
	// DMARC: the brand sent it. Another brand's list earns nothing.
	t.Run("DMARC pass for a brand's domain", func(t *testing.T) {
		raw := sign(t, base, "shop.example", "ed", edKey)
		for _, c := range []struct {
			owner, want string
		}{
			{"shop", "DKIM_VALID,DMARC_PASS_BRAND"},
			{"other", "DKIM_VALID,DMARC_PASS"},
		} {
			in := &engine.Input{
				ScanID: t.Name(), Msg: message.Parse(raw, message.DefaultLimits),
				DB:    &contentdb.DB{Brands: []contentdb.Brand{{Words: []string{"shop"}, Domains: []string{c.owner}}}},
				Env:   &engine.Envelope{ClientIP: netip.MustParseAddr("203.0.113.5"), MailFrom: "b@bounces.other.example", Helo: "mta.example"},
				Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: true}}}, Log: slog.New(slog.DiscardHandler),
			}
			res, err := f.c.Run(context.Background(), in)
			var names []string
			for _, s := range res.Signs {
				names = append(names, s.Name)
				if s.Name == "DMARC_PASS_BRAND" && (s.Score != ScoreDMARCBrand || !strings.Contains(s.Desc, "a domain of shop")) {
					t.Errorf("sign %+v", s)
				}
			}
			if got := strings.Join(names, ","); got != c.want || err != nil {
				t.Errorf("brand at %s: signs %s, err %v; want %s", c.owner, got, err, c.want)
			}
		}
	})

	t.Run("key lookup timeout makes DMARC temperror, not fail", func(t *testing.T) {
		res, err := f.run(t, sign(t, base, "slow.example", "ed", edKey), "203.0.113.5", "")
		ar := res.Headers[0].Value
		if err == nil || len(res.Signs) != 0 || !strings.Contains(ar, "dkim=temperror") || !strings.Contains(ar, "dmarc=temperror") {
			t.Errorf("got %v %s, %v", res.Signs, ar, err)
		}
	})
	t.Run("key lookup timeout is temperror, no sign", func(t *testing.T) {
		res, err := f.run(t, sign(t, withFrom("x@nopolicy.example"), "slow.example", "ed", edKey), "203.0.113.5", "")
		if err == nil || len(res.Signs) != 0 || !strings.Contains(res.Headers[0].Value, "dkim=temperror") {
			t.Errorf("got %v %v, %v", res.Signs, res.Headers, err)
		}
	})
}
