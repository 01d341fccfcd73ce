package lists

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/addrlist"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

func group(white, black string, on bool) *policy.Group {
	s := &policy.Settings{Detection: true, Level: policy.Standard, Methods: policy.Methods{Lists: on}}
	if white != "" {
		s.White = addrlist.MustNew(white)
	}
	if black != "" {
		s.Black = addrlist.MustNew(black)
	}
	return &policy.Group{ID: 1, Name: "All", Settings: s}
}

func TestSendersBrokenFrom(t *testing.T) {
	raw, err := os.ReadFile("testdata/from-broken.eml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range Senders(&engine.Envelope{MailFrom: "<Bounce@Lottery.test>"}, message.Parse(raw, message.DefaultLimits)) {
		got = append(got, s.Where+" "+s.Addr)
	}
	want := []string{"envelope sender Bounce@Lottery.test", "From prize@lottery.test", "From last@example.org"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Senders = %q, want %q", got, want)
	}
}

func TestRun(t *testing.T) {
	msg := message.Parse([]byte("Received: from a.example (a.example [IPv6:2001:db8::7]) by mx.example.com; Sun, 22 Nov 2026 07:00:00 +0000\n"+
		"Received: from b.example (b.example [198.51.100.9]) by a.example; Sun, 22 Nov 2026 06:59:00 +0000\n"+
		"From: \"Boss\" <Boss@Corp.Example>, other@x.test\nSubject: hi\n\nbody\n"), message.DefaultLimits)
	tests := []struct {
		name     string
		g        *policy.Group
		received int
		from, ip string
		sign     string
		status   verdict.Status
		method   string
	}{
		{"nothing listed", group("a@b.c", "@d.e", true), 2, "x@y.z", "192.0.2.1", "", 0, ""},
		{"white envelope sender", group("x@y.z", "", true), 0, "<X@Y.Z>", "192.0.2.1", SignWhiteEmail, verdict.Trusted, MethodWhiteEmail},
		{"white header From", group("boss@corp.example", "", true), 0, "", "192.0.2.1", SignWhiteEmail, verdict.Trusted, MethodWhiteEmail},
		{"second From address", group("", "@x.test", true), 0, "", "192.0.2.1", SignBlackEmail, verdict.Blacklisted, MethodBlackEmail},
		{"white client IP", group("192.0.2.0/24", "", true), 0, "x@y.z", "192.0.2.1", SignWhiteIP, verdict.Trusted, MethodWhiteIP},
		{"white beats black", group("x@y.z", "x@y.z 192.0.2.1", true), 0, "x@y.z", "192.0.2.1", SignWhiteEmail, verdict.Trusted, MethodWhiteEmail},
		{"black client IP", group("", "192.0.2.1", true), 0, "x@y.z", "192.0.2.1", SignBlackIP, verdict.Blacklisted, MethodBlackIP},
		{"black IPv6 relay within depth", group("", "2001:db8::/64", true), 1, "x@y.z", "192.0.2.1", SignBlackIP, verdict.Blacklisted, MethodBlackIP},
		{"black relay beyond depth", group("", "198.51.100.0/24", true), 1, "x@y.z", "192.0.2.1", "", 0, ""},
		{"black relay at depth 2", group("", "198.51.100.0/24", true), 2, "x@y.z", "192.0.2.1", SignBlackIP, verdict.Blacklisted, MethodBlackIP},
		{"white relay is not trusted", group("198.51.100.9", "", true), 2, "x@y.z", "192.0.2.1", "", 0, ""},
		{"lists off", group("x@y.z", "", false), 0, "x@y.z", "192.0.2.1", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &engine.Input{ScanID: "t", Msg: msg, Group: tt.g, Env: &engine.Envelope{MailFrom: tt.from, ClientIP: netip.MustParseAddr(tt.ip)}}
			r, err := New(relays.New(tt.received, nil, false)).Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sign == "" {
				if len(r.Signs) != 0 {
					t.Errorf("signs %+v, want none", r.Signs)
				}
				return
			}
			if len(r.Signs) != 1 {
				t.Fatalf("signs %+v, want one %s", r.Signs, tt.sign)
			}
			s := r.Signs[0]
			if s.Name != tt.sign || s.Status != tt.status || s.Method != tt.method || s.Desc == "" {
				t.Errorf("sign %+v, want %s %s %q", s, tt.sign, tt.status, tt.method)
			}
		})
	}
}

func FuzzSenders(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("Received: from x (x [10.0.0.1]) by y\nFrom: a@b.c\n\nb")
	f.Add("Received: from x ([IPv6:2001:db8::1])\nFrom: \"x\" <a@b.c>, <d@e.f>\n\n")
	f.Add("From: =?utf-8?q?=E2=82=AC?= <a@b.c>\n\n")
	f.Fuzz(func(t *testing.T, raw string) {
		msg := message.Parse([]byte(raw), message.DefaultLimits)
		for _, s := range Senders(&engine.Envelope{MailFrom: "x@y.z"}, msg) {
			if s.Addr == "" || strings.ContainsAny(s.Addr, "<>") {
				t.Fatalf("sender %q", s.Addr)
			}
		}
	})
}
