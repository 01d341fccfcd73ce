package uribl

import (
	"context"
	"github.com/scilla-mail/scilla/internal/conf"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/dns/dnstest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func TestURIBL(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t,
		// multi.surbl-style list: bit 64 = abuse, bit 8 = phishing.
		`spammy.example.multi.test. A 127.0.0.64`,
		`phish.example.multi.test. A 127.0.0.8`,
		`4.113.0.203.multi.test. A 127.0.0.64`,
		// uribl-style list: 127.0.0.2 black, 127.0.0.1 = refused.
		`spammy.example.black.test. A 127.0.0.2`,
		`refused.example.black.test. A 127.0.0.1`,
	)
	cfg := dns.DefaultConfig()
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout, cfg.Retries = conf.Duration(300*time.Millisecond), 0
	r, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := New(r)
	lists := []policy.URIBLService{
		{Name: "multi-abuse", Zone: "multi.test", Score: 3, Mask: 64, Enabled: true},
		{Name: "multi-phish", Zone: "multi.test", Score: 4, Mask: 8, Enabled: true},
		{Name: "black", Zone: "black.test", Score: 2.5, Enabled: true},
		{Name: "off", Zone: "black.test", Score: 9, Enabled: false},
	}
	s := &policy.Settings{Methods: policy.Methods{SURBL: true}, URIBL: lists}
	tests := []struct {
		body    string
		want    string
		wantErr bool
	}{
		{"see http://www.spammy.example/buy and http://x.spammy.example/", "URIBL_MULTI_ABUSE=3,URIBL_BLACK=2.5", false},
		{"login at https://secure.phish.example/x", "URIBL_MULTI_PHISH=4", false},
		{"go to http://203.0.113.4/p", "URIBL_MULTI_ABUSE=3", false},
		{"clean http://good.example/", "", false},
		{"http://refused.example/", "", true},
	}
	for _, tt := range tests {
		in := &engine.Input{
			ScanID: tt.body, Msg: message.Parse([]byte("Subject: x\r\n\r\n"+tt.body+"\r\n"), message.DefaultLimits),
			Env:   &engine.Envelope{ClientIP: netip.MustParseAddr("192.0.2.1")},
			Group: &policy.Group{Settings: s}, Log: slog.New(slog.DiscardHandler),
		}
		res, err := c.Run(context.Background(), in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.body, err)
		}
		var got []string
		for _, sg := range res.Signs {
			got = append(got, sg.Name+"="+strings.TrimRight(strings.TrimRight(ftoa(sg.Score), "0"), "."))
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%q: signs %v, want %s", tt.body, got, tt.want)
		}
	}
	off := &policy.Settings{Methods: policy.Methods{SURBL: false}, URIBL: lists}
	in := &engine.Input{ScanID: "off", Msg: message.Parse([]byte("Subject: x\r\n\r\nhttp://spammy.example/\r\n"), message.DefaultLimits),
		Env: &engine.Envelope{}, Group: &policy.Group{Settings: off}, Log: slog.New(slog.DiscardHandler)}
	if res, _ := c.Run(context.Background(), in); len(res.Signs) != 0 {
		t.Errorf("SURBL off: %v", res.Signs)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func TestListed(t *testing.T) {
	tests := []struct {
		ip   string
		mask uint32
		want bool
	}{
		{"127.0.0.2", 0, true},
		{"127.0.0.64", 64, true},
		{"127.0.0.72", 8, true},
		{"127.0.0.64", 8, false},
		{"10.0.0.64", 64, false},
	}
	for _, tt := range tests {
		if got := Listed(netip.MustParseAddr(tt.ip), tt.mask); got != tt.want {
			t.Errorf("Listed(%s, %d) = %v", tt.ip, tt.mask, got)
		}
	}
}

func TestTargets(t *testing.T) {
	m := message.Parse([]byte("Subject: x\r\n\r\nhttp://a.b.example.co.uk/x http://www.example.co.uk http://198.51.100.7/ http://[2001:db8::1]/\r\n"), message.DefaultLimits)
	got := strings.Join(Targets(m.URLs), " ")
	if got != "example.co.uk 7.100.51.198" {
		t.Errorf("Targets = %q", got)
	}
}
