package rdns

import (
	"context"
	"errors"
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

func TestReverseDNS(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t,
		`10.2.0.192.in-addr.arpa. PTR mail.example.test.`,
		`mail.example.test. A 192.0.2.10`,
		`11.2.0.192.in-addr.arpa. PTR liar.example.test.`,
		`liar.example.test. A 192.0.2.99`,
		`5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail6.example.test.`,
		`mail6.example.test. AAAA 2001:db8::5`,
		`6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR v4only.example.test.`,
		`v4only.example.test. A 192.0.2.6`,
	)
	srv.ServFail("13.2.0.192.in-addr.arpa")
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout, cfg.Retries = conf.Duration(300*time.Millisecond), 0
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := New(r, relays.New(0, nil, false))
	s := &policy.Settings{Detection: true, Methods: policy.Methods{DNS: true}}
	tests := []struct {
		ip, want string
		err      bool
	}{
		{"192.0.2.10", "", false},
		{"192.0.2.11", "RDNS_NOT_CONFIRMED", false},
		{"192.0.2.12", "RDNS_NONE", false},
		{"192.0.2.13", "", true},
		{"2001:db8::5", "", false},
		{"2001:db8::6", "RDNS_NOT_CONFIRMED", false},
		{"2001:db8::7", "RDNS_NONE", false},
		{"127.0.0.1", "", false},
	}
	for _, tt := range tests {
		in := &engine.Input{
			ScanID: tt.ip, Msg: message.Parse([]byte("Subject: x\r\n\r\nx"), message.DefaultLimits),
			Env:   &engine.Envelope{ClientIP: netip.MustParseAddr(tt.ip)},
			Group: &policy.Group{Settings: s}, Log: slog.New(slog.DiscardHandler),
		}
		res, err := c.Run(context.Background(), in)
		var de *dns.Error
		if (err != nil) != tt.err || (err != nil && !errors.As(err, &de)) {
			t.Errorf("%s: err = %v, want error %v", tt.ip, err, tt.err)
		}
		got := ""
		if len(res.Signs) > 0 {
			got = res.Signs[0].Name
		}
		if got != tt.want || len(res.Signs) > 1 {
			t.Errorf("%s: signs %v, want %q", tt.ip, res.Signs, tt.want)
		}
	}
}
