package dns_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"github.com/scilla-mail/scilla/internal/conf"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	dkimcheck "github.com/scilla-mail/scilla/server/check/dkim"
	"github.com/scilla-mail/scilla/server/check/dnsbl"
	"github.com/scilla-mail/scilla/server/check/gtube"
	"github.com/scilla-mail/scilla/server/check/rdns"
	spfcheck "github.com/scilla-mail/scilla/server/check/spf"
	"github.com/scilla-mail/scilla/server/check/uribl"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/dns/dnstest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

// dnsPolicy is the default policy with every DNS check on and test lists.
func dnsPolicy() *policy.Policy {
	p := policy.Default()
	g := p.Groups[len(p.Groups)-1]
	s := *g.Settings
	s.Methods.DNS, s.Methods.SURBL = true, true
	s.DNSBL = []policy.DNSBLService{
		{Name: "one", Zone: "bl-one.test", Rating: 60, Enabled: true},
		{Name: "two", Zone: "bl-two.test", Rating: 50, Enabled: true},
	}
	s.URIBL = []policy.URIBLService{{Name: "multi", Zone: "uri.test", Score: 3, Enabled: true}}
	g.Settings = &s
	return p
}

func newEngine(t testing.TB, r *dns.Resolver) *engine.Engine {
	f := relays.New(0, nil, false)
	checks := []engine.Check{
		gtube.New(),
		dnsbl.New(r, f), rdns.New(r, f), spfcheck.New(r, f, "mx.test"), uribl.New(r), dkimcheck.New(r, f, "mx.test", nil),
	}
	return engine.New(engine.Options{Checks: checks, Log: slog.New(slog.DiscardHandler)},
		&engine.Snapshot{Policy: dnsPolicy(), DB: contentdb.Empty()})
}

const message = "From: Shop <news@shop.test>\r\nTo: u@receiver.test\r\nSubject: offers\r\n" +
	"Date: Sun, 22 Nov 2026 07:00:00 +0000\r\nMessage-ID: <1@shop.test>\r\n\r\n" +
	"See http://www.shop.test/offers and http://links.example.test/x\r\n"

// TestSilentDNSKeepsTheDeadline: with a nameserver that never answers, a
// scan still ends within the DNS deadline plus a small margin, rated on
// its other signs.
func TestSilentDNSKeepsTheDeadline(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Silence()
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout, cfg.Retries = conf.Duration(2*time.Second), 2 // would take 6 s per query without the deadline
	cfg.Deadline = conf.Duration(time.Second)
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e := newEngine(t, r)
	env := &engine.Envelope{ClientIP: netip.MustParseAddr("203.0.113.5"), MailFrom: "b@shop.test", Helo: "mta.shop.test", Rcpts: []string{"u@receiver.test"}}
	gtubeMsg := message + "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
	for _, tt := range []struct {
		name string
		raw  string
		want verdict.Status
	}{
		{"GTUBE still SPAM", gtubeMsg, verdict.Spam},
		{"plain message not detected", message, verdict.NotDetected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			v, err := e.Scan(context.Background(), tt.name, env, []byte(tt.raw))
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			// The margin covers CPU starvation when the whole suite runs
			// with -race on two cores; without the deadline it would be 6 s.
			if el > cfg.Deadline.D()+time.Second {
				t.Errorf("scan took %s, deadline %s", el, cfg.Deadline.D())
			}
			if got := v.Groups[0].Status; got != tt.want {
				t.Errorf("status %s, want %s (signs %v)", got, tt.want, v.Groups[0].Signs)
			}
			t.Logf("scan with a silent nameserver took %s", el.Round(time.Millisecond))
		})
	}
}

// warmZone publishes everything the DNS checks of message ask for.
func warmZone(tb testing.TB, srv *dnstest.Server) []byte {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	srv.Add(tb,
		`5.113.0.203.bl-one.test. A 127.0.0.2`,
		`5.113.0.203.in-addr.arpa. PTR mta.shop.test.`,
		`mta.shop.test. A 203.0.113.5`,
		`shop.test. TXT "v=spf1 ip4:203.0.113.0/24 -all"`,
		`_dmarc.shop.test. TXT "v=DMARC1; p=reject"`,
		`example.test.uri.test. A 127.0.0.2`,
		`s._domainkey.shop.test. TXT "v=DKIM1; k=ed25519; p=`+base64.StdEncoding.EncodeToString(pub)+`"`,
	)
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, bytes.NewReader([]byte(message)), &dkim.SignOptions{Domain: "shop.test", Selector: "s", Signer: key}); err != nil {
		tb.Fatal(err)
	}
	return signed.Bytes()
}

func TestWarmScan(t *testing.T) {
	srv := dnstest.Start(t)
	raw := warmZone(t, srv)
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e := newEngine(t, r)
	env := &engine.Envelope{ClientIP: netip.MustParseAddr("203.0.113.5"), MailFrom: "b@shop.test", Helo: "mta.shop.test", Rcpts: []string{"u@receiver.test"}}
	v, err := e.Scan(context.Background(), "warm-1", env, raw)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range v.Groups[0].Signs {
		names[s.Name] = true
	}
	for _, want := range []string{"DNSBL_ONE", "SPF_PASS", "DKIM_VALID", "DMARC_PASS", "URIBL_MULTI"} {
		if !names[want] {
			t.Errorf("sign %s missing from %v", want, v.Groups[0].Signs)
		}
	}
	if len(v.Groups[0].Headers) != 1 {
		t.Errorf("headers %v", v.Groups[0].Headers)
	}
	before := srv.Queries.Load()
	if _, err := e.Scan(context.Background(), "warm-2", env, raw); err != nil {
		t.Fatal(err)
	}
	if n := srv.Queries.Load() - before; n != 0 {
		t.Errorf("second scan sent %d queries, want 0 (all cached)", n)
	}
}

// BenchmarkScan compares a scan with every DNS check answered from a warm
// cache against the same pipeline with DNS checks off (nil resolver).
func BenchmarkScan(b *testing.B) {
	srv := dnstest.Start(b)
	raw := warmZone(b, srv)
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	r, err := dns.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	env := &engine.Envelope{ClientIP: netip.MustParseAddr("203.0.113.5"), MailFrom: "b@shop.test", Helo: "mta.shop.test", Rcpts: []string{"u@receiver.test"}}
	for _, bc := range []struct {
		name string
		r    *dns.Resolver
	}{{"no-dns", nil}, {"warm-cache", r}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEngine(b, bc.r)
			if _, err := e.Scan(context.Background(), "warmup", env, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.Scan(context.Background(), fmt.Sprint(bc.name, i), env, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
