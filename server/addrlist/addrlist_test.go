package addrlist

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestMatchAddress(t *testing.T) {
	l := MustNew(`
		# senders
		boss@Example.COM, @partner.org; @*corp.example
		j*@example.net info?@*.shop.test
		*@mail?.test.org
		x*@*corp.test
		@bücher.example @xn--mller-kva.example
	`)
	tests := []struct {
		addr, entry string
	}{
		{"boss@example.com", "boss@Example.COM"},
		{"BOSS@EXAMPLE.COM", "boss@Example.COM"},
		{"<boss@example.com>", "boss@Example.COM"},
		{"other@example.com", ""},
		{"anyone@partner.org", "@partner.org"},
		{"anyone@sub.partner.org", ""},
		{"x@corp.example", "@*corp.example"},
		{"x@a.b.corp.example", "@*corp.example"},
		{"x@badcorp.example", ""},
		{"jim@example.net", "j*@example.net"},
		{"j@example.net", "j*@example.net"},
		{"tim@example.net", ""},
		{"info1@eu.shop.test", "info?@*.shop.test"},
		{"info12@eu.shop.test", ""},
		{"info1@shop.test", ""},
		{"u@mail1.test.org", "*@mail?.test.org"},
		{"u@mail.test.org", ""},
		{"", ""},
		{"<>", ""},
		{"postmaster", ""},
		{"boss@example.com.", "boss@Example.COM"},
		{"xy@corp.test", "x*@*corp.test"},
		{"x@eu.corp.test", "x*@*corp.test"},
		{"x@badcorp.test", ""},
		{"y@corp.test", ""},
		{"kunde@xn--bcher-kva.example", "@bücher.example"},
		{"kunde@BÜCHER.example", "@bücher.example"},
		{"a@müller.example", "@xn--mller-kva.example"},
	}
	for _, tt := range tests {
		e, ok := l.MatchAddress(tt.addr)
		if e != tt.entry || ok != (tt.entry != "") {
			t.Errorf("MatchAddress(%q) = %q, %v; want %q", tt.addr, e, ok, tt.entry)
		}
	}
}

func TestMatchIP(t *testing.T) {
	l := MustNew("192.0.2.7 198.51.100.0/24, 10.0.0.0/8 2001:db8::1; 2001:db8:100::/40 203.0.113.* fe80::/10 ::ffff:172.16.0.0/108")
	tests := []struct {
		ip, entry string
	}{
		{"192.0.2.7", "192.0.2.7"},
		{"192.0.2.8", ""},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"198.51.100.200", "198.51.100.0/24"},
		{"10.20.30.40", "10.0.0.0/8"},
		{"11.0.0.1", ""},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:DB8::2", ""},
		{"2001:db8:1ff:ffff::1", "2001:db8:100::/40"},
		{"2001:db8:200::1", ""},
		{"203.0.113.99", "203.0.113.*"},
		{"203.0.114.1", ""},
		{"fe80::1%eth0", "fe80::/10"},
		{"172.16.5.5", "::ffff:172.16.0.0/108"},
		{"172.32.0.1", ""},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		e, ok := l.MatchIP(ip)
		if e != tt.entry || ok != (tt.entry != "") {
			t.Errorf("MatchIP(%s) = %q, %v; want %q", tt.ip, e, ok, tt.entry)
		}
	}
	if _, ok := l.MatchIP(netip.Addr{}); ok {
		t.Error("zero Addr matched")
	}
}

func TestStar(t *testing.T) {
	l := MustNew("*")
	if _, ok := l.MatchAddress("a@b.c"); !ok {
		t.Error("* does not match an address")
	}
	if _, ok := l.MatchIP(netip.MustParseAddr("::1")); !ok {
		t.Error("* does not match an IP")
	}
	if _, ok := l.MatchAddress(""); ok {
		t.Error("* matches the null sender")
	}
	var nilList *List
	if _, ok := nilList.MatchAddress("a@b.c"); ok {
		t.Error("nil list matches")
	}
}

func TestMatchDomain(t *testing.T) {
	l := MustNew("@example.com @*corp.test @shop?.test boss@private.test *@*.sub.test x*@*.other.test")
	for d, want := range map[string]bool{
		"example.com": true, "EXAMPLE.com": true, "sub.example.com": false,
		"corp.test": true, "eu.corp.test": true, "badcorp.test": false,
		"shop1.test": true, "private.test": false,
		"a.sub.test": true, "sub.test": false, "a.other.test": false,
	} {
		if _, ok := l.MatchDomain(d); ok != want {
			t.Errorf("MatchDomain(%q) = %v, want %v", d, ok, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ entry, want string }{
		{"example.com", `write "@example.com"`},
		{"user@", "missing domain"},
		{"a@b@c.d", "more than one @"},
		{"a@exa mple.com", ""}, // split into two entries; the second is a bare word
		{"a@ex!ample.com", "not allowed"},
		{"a@.example.com", "empty label"},
		{"10.0.0.0/33", "not a CIDR range"},
		{"<a@b.c>", "not allowed"},
		{"fe80::1%eth0", "zones"},
		{"a@example.com\u0085", "not allowed"}, // Unicode white space (NEL), which address matching trims
	}
	for _, tt := range tests {
		_, err := New(tt.entry)
		if err == nil {
			t.Errorf("New(%q): no error", tt.entry)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) error %q, want it to contain %q", tt.entry, err, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	got := Split("a@b.c, d@e.f;g@h.i\n  @j.k # comment, x@y.z\n\t1.2.3.4")
	want := []string{"a@b.c", "d@e.f", "g@h.i", "@j.k", "1.2.3.4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Split = %q, want %q", got, want)
	}
}

func TestMerge(t *testing.T) {
	m := Merge(MustNew("a@b.c 10.0.0.0/8"), nil, MustNew("@d.e 2001:db8::/32 x*@f.g"))
	for _, a := range []string{"a@b.c", "z@d.e", "xy@f.g"} {
		if _, ok := m.MatchAddress(a); !ok {
			t.Errorf("merged list misses %s", a)
		}
	}
	for _, ip := range []string{"10.1.1.1", "2001:db8::5"} {
		if _, ok := m.MatchIP(netip.MustParseAddr(ip)); !ok {
			t.Errorf("merged list misses %s", ip)
		}
	}
	if m.Len() != 5 {
		t.Errorf("Len = %d, want 5", m.Len())
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"?", "", false}, {"a*b", "ab", true}, {"a*b", "axxb", true},
		{"a*b", "axxbc", false}, {"*b*", "abc", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"?", "é", true}, {"*a*a*a*a*a*b", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		if got := Glob(tt.p, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	seeds, err := os.ReadFile("testdata/entries.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range Split(string(seeds)) {
		f.Add(s, "x@example.com", "192.0.2.1")
	}
	f.Add(string(seeds), "user@EXAMPLE.com", "2001:db8::1")
	f.Fuzz(func(t *testing.T, text, addr, ip string) {
		l, _ := New(text)
		l.MatchAddress(addr)
		if a, err := netip.ParseAddr(ip); err == nil {
			l.MatchIP(a)
		}
		for _, s := range Split(text) {
			e, err := ParseEntry(s)
			if err != nil {
				continue
			}
			// Every address entry without wildcards matches itself.
			if e.Kind == Address && e.Local != "" && !strings.ContainsAny(s, "*?") {
				one := MustNew(s)
				if _, ok := one.MatchAddress(s); !ok {
					t.Fatalf("entry %q does not match itself", s)
				}
			}
		}
	})
}

// bigList builds a list of n entries: exact addresses, domains, IPs and CIDR
// ranges in equal parts, plus 100 wildcard patterns.
func bigList(n int) *List {
	b := NewBuilder()
	for i := 0; i < n/4; i++ {
		mustAdd(b, fmt.Sprintf("user%d@domain%d.example", i, i%977))
		mustAdd(b, fmt.Sprintf("@d%d.example", i))
		mustAdd(b, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
		mustAdd(b, fmt.Sprintf("2001:db8:%x::/48", i))
	}
	for i := 0; i < 100; i++ {
		mustAdd(b, fmt.Sprintf("spam%d*@*.bulk%d.test", i, i))
	}
	return b.List()
}

func mustAdd(b *Builder, s string) {
	if err := b.Add(s); err != nil {
		panic(err)
	}
}

func TestBigList(t *testing.T) {
	l := bigList(100_000)
	if _, ok := l.MatchAddress("user24999@domain" + fmt.Sprint(24999%977) + ".example"); !ok {
		t.Error("last exact address not found")
	}
	if _, ok := l.MatchAddress("nobody@nowhere.example"); ok {
		t.Error("unlisted address found")
	}
	if _, ok := l.MatchIP(netip.MustParseAddr("2001:db8:61a7::1")); !ok {
		t.Error("IPv6 range not found")
	}
}

func BenchmarkMatch100k(b *testing.B) {
	l := bigList(100_000)
	addrs := []string{"user777@domain777.example", "x@d5000.example", "nobody@nowhere.example", "spam5x@a.bulk5.test"}
	ips := []netip.Addr{netip.MustParseAddr("10.0.50.1"), netip.MustParseAddr("2001:db8:100::7"), netip.MustParseAddr("192.0.2.1")}
	b.Run("address", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			l.MatchAddress(addrs[i%len(addrs)])
		}
	})
	b.Run("ip", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			l.MatchIP(ips[i%len(ips)])
		}
	})
}

func BenchmarkBuild100k(b *testing.B) {
	for b.Loop() {
		bigList(100_000)
	}
}
