package spf

import (
	"context"
	"github.com/scilla-mail/scilla/internal/conf"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/dns/dnstest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
)

func TestSPFSigns(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t,
		`example.test. TXT "v=spf1 ip4:192.0.2.0/24 ~all"`,
		`strict.test. TXT "v=spf1 a -all"`,
		`strict.test. A 192.0.2.1`,
		`broken.test. TXT "v=spf1 ip4:192.0.2.300 -all"`,
		`helo.example.test. TXT "v=spf1 ip6:2001:db8::/32 -all"`,
	)
	srv.Timeout("slow.test")
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout, cfg.Retries = conf.Duration(200*time.Millisecond), 0
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	trusted := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	c := New(r, relays.New(1, trusted, false), "mx.receiver.test")
	tests := []struct {
		ip, from, helo, received, want string
		err                            bool
		auth                           string
	}{
		{"192.0.2.7", "a@example.test", "x", "", "SPF_PASS", false, ""},
		{"203.0.113.7", "a@example.test", "x", "", "SPF_SOFTFAIL", false, ""},
		{"203.0.113.7", "a@strict.test", "x", "", "SPF_FAIL", false, ""},
		{"203.0.113.7", "a@broken.test", "x", "", "SPF_PERMERROR", false, ""},
		{"203.0.113.7", "a@none.test", "x", "", "SPF_NONE", false, ""},
		{"203.0.113.7", "a@slow.test", "x", "", "", true, ""},
		{"2001:db8::25", "", "helo.example.test", "", "SPF_PASS", false, ""},
		{"10.1.1.1", "a@strict.test", "x", "", "", false, ""},
		// The client is a trusted relay: SPF is checked for the IP it got the mail from.
		{"198.51.100.5", "a@strict.test", "relay", "Received: from o (o [192.0.2.1]) by relay\r\n", "SPF_PASS", false, ""},
		// An authenticated user submitting from anywhere: not an SPF question.
		{"203.0.113.7", "a@strict.test", "laptop", "", "", false, "alice"},
		// Nor is the hop where a trusted relay took an authenticated submission.
		{"198.51.100.5", "a@strict.test", "relay", "Received: from laptop (l [203.0.113.7]) by relay with ESMTPSA id 1\r\n", "", false, ""},
	}
	for _, tt := range tests {
		in := &engine.Input{
			ScanID: tt.ip + tt.from, Msg: message.Parse([]byte(tt.received+"Subject: x\r\n\r\nx"), message.DefaultLimits),
			Env:   &engine.Envelope{ClientIP: netip.MustParseAddr(tt.ip), MailFrom: tt.from, Helo: tt.helo, AuthUser: tt.auth},
			Group: &policy.Group{Settings: &policy.Settings{Methods: policy.Methods{DNS: true}}}, Log: slog.New(slog.DiscardHandler),
		}
		res, err := c.Run(context.Background(), in)
		if (err != nil) != tt.err {
			t.Errorf("%s %s: err = %v", tt.ip, tt.from, err)
		}
		got := ""
		if len(res.Signs) == 1 {
			got = res.Signs[0].Name
		}
		if got != tt.want || len(res.Signs) > 1 {
			t.Errorf("%s %s: signs %v, want %q", tt.ip, tt.from, res.Signs, tt.want)
		}
	}
}
