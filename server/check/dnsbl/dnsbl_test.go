package dnsbl

import (
	"context"
	"errors"
	"github.com/scilla-mail/scilla/internal/conf"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/dns/dnstest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

func resolver(t *testing.T, srv *dnstest.Server) *dns.Resolver {
	t.Helper()
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout = conf.Duration(300 * time.Millisecond)
	cfg.Retries = 0
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func input(client string, raw string, s *policy.Settings) *engine.Input {
	env := &engine.Envelope{MailFrom: "a@example.com", Helo: "mail.example.com"}
	if client != "" {
		env.ClientIP = netip.MustParseAddr(client)
	}
	return &engine.Input{
		ScanID: "t-" + client,
		Msg:    message.Parse([]byte(raw), message.DefaultLimits),
		Env:    env,
		Group:  &policy.Group{ID: 1, Name: "All", Settings: s},
		Log:    slog.New(slog.DiscardHandler),
	}
}

const plain = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

func TestRatingSum(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t,
		// 192.0.2.99 is in lists a (60) and b (39): 99, not blacklisted.
		`99.2.0.192.bl-a.test. A 127.0.0.2`,
		`99.2.0.192.bl-b.test. A 127.0.0.3`,
		// 192.0.2.100 is in a (60) and c (40): 100, blacklisted.
		`100.2.0.192.bl-a.test. A 127.0.0.2`,
		`100.2.0.192.bl-c.test. A 127.0.0.2`,
		// IPv6 2001:db8::1 in a and c.
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl-a.test. A 127.0.0.2`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl-c.test. A 127.0.0.4`,
		// 192.0.2.20: list a answers outside its return filter; list d is off.
		`20.2.0.192.bl-a.test. A 127.0.0.20`,
		`20.2.0.192.bl-d.test. A 127.0.0.2`,
		// 192.0.2.66: list b refuses our resolver.
		`66.2.0.192.bl-b.test. A 127.255.255.254`,
		`66.2.0.192.bl-a.test. A 127.0.0.2`,
	)
	c := New(resolver(t, srv), relays.New(0, nil, false))
	s := &policy.Settings{Detection: true, Methods: policy.Methods{DNS: true}, DNSBL: []policy.DNSBLService{
		{Name: "a", Zone: "bl-a.test", Rating: 60, Returns: []string{"127.0.0.2-127.0.0.11"}, Enabled: true},
		{Name: "b", Zone: "bl-b.test", Rating: 39, Enabled: true},
		{Name: "c", Zone: "bl-c.test.", Rating: 40, Returns: []string{"127.0.0.0/30", "127.0.0.4"}, Enabled: true},
		{Name: "d", Zone: "bl-d.test", Rating: 100, Enabled: false},
	}}
	tests := []struct {
		name, ip    string
		blacklisted bool
		signs       []string
		wantErr     error
	}{
		{"sum 99 stays a sign", "192.0.2.99", false, []string{"DNSBL_A", "DNSBL_B"}, nil},
		{"sum 100 is BLACKLISTED", "192.0.2.100", true, []string{"DNSBL_BLACKLISTED"}, nil},
		{"IPv6 nibbles", "2001:db8::1", true, []string{"DNSBL_BLACKLISTED"}, nil},
		{"return filter and disabled list", "192.0.2.20", false, nil, nil},
		{"blocked resolver is an error", "192.0.2.66", false, []string{"DNSBL_A"}, ErrBlockedResolver},
		{"not listed", "192.0.2.1", false, nil, nil},
		{"private client not queried", "10.0.0.1", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Run(context.Background(), input(tt.ip, plain, s))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var names []string
			bl := false
			for _, sg := range res.Signs {
				names = append(names, sg.Name)
				bl = bl || sg.Status == verdict.Blacklisted
				if sg.Method != "DNSBL" {
					t.Errorf("sign %s method %q", sg.Name, sg.Method)
				}
			}
			if bl != tt.blacklisted || strings.Join(names, ",") != strings.Join(tt.signs, ",") {
				t.Errorf("signs %v (blacklisted %v), want %v (%v)", names, bl, tt.signs, tt.blacklisted)
			}
		})
	}

	t.Run("authenticated submitter not queried", func(t *testing.T) {
		in := input("192.0.2.100", plain, s)
		in.Env.AuthUser = "alice"
		res, err := c.Run(context.Background(), in)
		if err != nil || len(res.Signs) != 0 {
			t.Errorf("got %v, %v; want nothing", res.Signs, err)
		}
		checked := New(c.r, relays.New(0, nil, true))
		res, err = checked.Run(context.Background(), in)
		if err != nil || len(res.Signs) != 1 || res.Signs[0].Name != "DNSBL_BLACKLISTED" {
			t.Errorf("with check_authenticated: got %v, %v; want DNSBL_BLACKLISTED", res.Signs, err)
		}
	})

	t.Run("switched off for the group", func(t *testing.T) {
		off := *s
		off.Methods.DNS = false
		res, err := c.Run(context.Background(), input("192.0.2.100", plain, &off))
		if err != nil || len(res.Signs) != 0 {
			t.Errorf("got %v, %v; want nothing", res.Signs, err)
		}
	})
	t.Run("Received headers", func(t *testing.T) {
		raw := "Received: from relay (relay [198.51.100.1]) by mx with ESMTP\r\n" +
			"Received: from bad (bad [192.0.2.100]) by relay with ESMTP\r\n" + plain
		c1 := New(c.r, relays.New(1, nil, false))
		if res, _ := c1.Run(context.Background(), input("198.51.100.1", raw, s)); len(res.Signs) != 0 {
			t.Errorf("N=1 reached the second Received header: %v", res.Signs)
		}
		c2 := New(c.r, relays.New(2, nil, false))
		if res, _ := c2.Run(context.Background(), input("198.51.100.1", raw, s)); len(res.Signs) != 1 || res.Signs[0].Status != verdict.Blacklisted {
			t.Errorf("N=2: %v, want BLACKLISTED from the second Received header", res.Signs)
		}
	})
}

func TestParseReturns(t *testing.T) {
	tests := []struct {
		specs []string
		ip    string
		want  bool
	}{
		{nil, "127.0.0.2", true},
		{nil, "127.255.255.252", false},
		{nil, "10.0.0.2", false},
		{[]string{"127.0.0.2-127.0.0.11"}, "127.0.0.11", true},
		{[]string{"127.0.0.2-127.0.0.11"}, "127.0.0.12", false},
		{[]string{"127.0.1.0/24"}, "127.0.1.200", true},
		{[]string{"127.0.0.4"}, "127.0.0.4", true},
		{[]string{"127.0.0.4"}, "127.0.0.5", false},
	}
	for _, tt := range tests {
		m, err := ParseReturns(tt.specs)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("%v.Match(%s) = %v", tt.specs, tt.ip, got)
		}
	}
	for _, bad := range []string{"x", "127.0.0.9-127.0.0.2", "::1"} {
		if _, err := ParseReturns([]string{bad}); err == nil {
			t.Errorf("ParseReturns(%q) accepted", bad)
		}
	}
}
