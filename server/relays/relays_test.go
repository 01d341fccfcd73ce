package relays

import (
	"bufio"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/message"
)

// received.txt holds one Received value per line, a tab, and the expected
// address ("-" for none).
func readReceived(t testing.TB) [][2]string {
	f, err := os.Open("testdata/received.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		out = append(out, [2]string{v, want})
	}
	return out
}

func TestParseReceived(t *testing.T) {
	for _, c := range readReceived(t) {
		ip, ok := ParseReceived(c[0])
		got := "-"
		if ok {
			got = ip.String()
		}
		if got != c[1] {
			t.Errorf("ParseReceived(%q) = %s, want %s", c[0], got, c[1])
		}
	}
}

func TestSendingIPs(t *testing.T) {
	msg := message.Parse([]byte("Received: from a.example (a.example [198.51.100.7]) by mx.example.com with ESMTP\r\n"+
		"Received: from internal (internal [10.1.2.3]) by a.example with ESMTP\r\n"+
		"Received: from relay.example (relay.example [192.0.2.200]) by internal with ESMTP\r\n"+
		"Received: from origin.example (origin.example [2001:db8::5]) by relay.example with ESMTP\r\n"+
		"Received: from older.example (older.example [203.0.113.99]) by origin.example with ESMTP\r\n"+
		"Subject: x\r\n\r\nbody\r\n"), message.DefaultLimits)
	client := netip.MustParseAddr("198.51.100.7")
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	tests := []struct {
		name     string
		received int
		client   netip.Addr
		want     []string
	}{
		{"client only by default", 0, client, []string{"198.51.100.7"}},
		{"duplicates, private and trusted skipped", 4, client, []string{"198.51.100.7", "2001:db8::5"}},
		{"newest N only", 5, client, []string{"198.51.100.7", "2001:db8::5", "203.0.113.99"}},
		{"private client skipped", 0, netip.MustParseAddr("127.0.0.1"), nil},
		{"mapped client unmapped", 0, netip.MustParseAddr("::ffff:198.51.100.9"), []string{"198.51.100.9"}},
		{"CGNAT skipped", 0, netip.MustParseAddr("100.64.1.1"), nil},
	}
	for _, tt := range tests {
		f := New(tt.received, trusted, false)
		var got []string
		for _, ip := range f.SendingIPs(tt.client, "", msg.Header) {
			got = append(got, ip.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: SendingIPs = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSendingIPsAuthenticated(t *testing.T) {
	msg := message.Parse([]byte("Received: from laptop.home (dyn-50.example [203.0.113.50]) by mx.example.com (Postfix) with ESMTPSA id 4F1C;\r\n\tSun, 22 Nov 2026 10:00:00 +0000\r\n"+
		"Received: from ws1 (ws1.corp [198.51.100.20]) by gw.corp with ESMTPA id 7\r\n"+
		"Received: from relay (relay.example [192.0.2.9]) by ws1 with ESMTP id 9\r\n"+
		"Subject: x\r\n\r\nbody\r\n"), message.DefaultLimits)
	client := netip.MustParseAddr("203.0.113.50")
	tests := []struct {
		name      string
		auth      string
		received  int
		checkAuth bool
		want      []string
	}{
		{"authenticated client skipped", "alice", 0, false, nil},
		{"authenticated client and authenticated hops skipped", "alice", 3, false, []string{"192.0.2.9"}},
		{"unauthenticated client, authenticated hop skipped", "", 3, false, []string{"203.0.113.50", "192.0.2.9"}},
		{"check_authenticated checks them all", "alice", 3, true, []string{"203.0.113.50", "198.51.100.20", "192.0.2.9"}},
	}
	for _, tt := range tests {
		f := New(tt.received, nil, tt.checkAuth)
		var got []string
		for _, ip := range f.SendingIPs(client, tt.auth, msg.Header) {
			got = append(got, ip.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: SendingIPs = %v, want %v", tt.name, got, tt.want)
		}
		_, ok := f.Origin(client, tt.auth, msg.Header)
		if ok != (len(tt.want) > 0) {
			t.Errorf("%s: Origin found one = %v", tt.name, ok)
		}
	}
}

func TestAuthenticatedHop(t *testing.T) {
	for v, want := range map[string]bool{
		"from a ([192.0.2.1]) by mx with ESMTPSA id 1":       true,
		"from a ([192.0.2.1]) by mx WITH esmtpa; Sun, 1 Jan": true,
		"from a ([192.0.2.1]) by mx with LMTPSA (TLS1.3)":    true,
		"from a ([192.0.2.1]) by mx with\r\n\tESMTPSA id 1":  true,
		"from a ([192.0.2.1]) by mx with ESMTPS id 1":        false,
		"from a ([192.0.2.1]) by mx with ESMTP id 1":         false,
		"from a ([192.0.2.1]) by mx with esmtpsax":           false,
		"from a ([192.0.2.1]) by mx id 1":                    false,
	} {
		if got := authenticatedHop(v); got != want {
			t.Errorf("authenticatedHop(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzParseReceived(f *testing.F) {
	for _, c := range readReceived(f) {
		f.Add(c[0])
	}
	f.Fuzz(func(t *testing.T, v string) {
		ip, ok := ParseReceived(v)
		if ok && (!ip.IsValid() || ip.Is4In6() || !strings.Contains(strings.ToLower(v), "from")) {
			t.Fatalf("ParseReceived(%q) = %v", v, ip)
		}
	})
}
