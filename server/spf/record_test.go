package spf

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		rec  string
		want string // mechanisms joined by spaces; "ERR" for a syntax error
	}{
		{"v=spf1 -all", "-all"},
		{"v=spf1", ""},
		{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24//64 ~all", "ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24//64 ~all"},
		{"v=spf1 a:%{d}.example.com include:_spf.example.net exists:%{ir}.bl.example.org ?all", "a:%{d}.example.com include:_spf.example.net exists:%{ir}.bl.example.org ?all"},
		{"v=spf1 ip4:192.0.2.1/33", "ERR"},
		{"v=spf1 ip4:192.0.02.1", "ERR"},
		{"v=spf1 a:example.com/024", "ERR"},
		{"v=spf1 foo", "ERR"},
		{"v=spf1 include", "ERR"},
		{"v=spf1 a:1.2.3.4", "ERR"},
		{"v=spf1 redirect=a.example.com redirect=b.example.com", "ERR"},
		{"v=spf1 exists:%{x}.example.com", "ERR"},
		{"v=spf1 exists:%{d0}.example.com", "ERR"},
		{"v=spf1 foo=%{c}", "ERR"},
		{"v=spf1 9foo=bar -all", "ERR"},
		{"v=spf10 -all", "ERR"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.rec)
		if tt.want == "ERR" {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) = %v, want a syntax error", tt.rec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.rec, err)
			continue
		}
		var got []string
		for _, m := range r.Mechanisms {
			got = append(got, m.String())
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.rec, g, tt.want)
		}
	}
}

func TestMacroExpand(t *testing.T) {
	// Examples of RFC 7208 §7.4 for strong-bad@email.example.com from 192.0.2.3.
	st := &state{local: "strong-bad", senderDomain: "email.example.com", helo: "mx.example.org"}
	st.ip = mustAddr("192.0.2.3")
	tests := []struct{ in, want string }{
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"%%%_%-", "% %20"},
	}
	for _, tt := range tests {
		toks, err := parseMacro(tt.in, false)
		if err != nil {
			t.Errorf("parseMacro(%q): %v", tt.in, err)
			continue
		}
		if got := st.expand(toks, "email.example.com"); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	st.ip = mustAddr("2001:db8::cb01")
	toks, _ := parseMacro("%{ir}.%{v}._spf.%{d2}", false)
	want := "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
	if got := st.expand(toks, "email.example.com"); got != want {
		t.Errorf("IPv6 expand = %q, want %q", got, want)
	}
}

// FuzzParse checks the record parser never panics and that whatever it
// accepts prints back into a record it accepts again.
func FuzzParse(f *testing.F) {
	fh, err := os.Open("testdata/records.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	fh.Close()
	f.Fuzz(func(t *testing.T, rec string) {
		r, err := Parse(rec)
		if err != nil {
			return
		}
		for _, m := range r.Mechanisms {
			if _, err := Parse("v=spf1 " + m.String()); err != nil {
				t.Fatalf("mechanism %q of %q does not parse back: %v", m.String(), rec, err)
			}
		}
		for _, spec := range []string{r.Redirect, r.Exp} {
			if spec == "" {
				continue
			}
			if toks, err := parseMacro(spec, false); err == nil {
				st := &state{local: "a", senderDomain: "b.example", ip: mustAddr("192.0.2.1")}
				st.expand(toks, "b.example")
			}
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestZeroCIDRRoundTrip pins a round trip found by hand: a zero CIDR length must print.
func TestZeroCIDRRoundTrip(t *testing.T) {
	r, err := Parse("v=spf1 mx:example.com/0//0")
	if err != nil || r.Mechanisms[0].String() != "mx:example.com/0//0" {
		t.Fatalf("got %v, %v", r, err)
	}
}
