package dns

import (
	"context"
	"errors"
	"fmt"
	"github.com/scilla-mail/scilla/internal/conf"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/scilla-mail/scilla/server/dns/dnstest"
)

func newTestResolver(t *testing.T, srv *dnstest.Server, mod func(*Config)) (*Resolver, *prometheus.Registry) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Enabled = true
	cfg.Nameservers = []string{srv.Addr}
	cfg.Timeout = conf.Duration(200 * time.Millisecond)
	cfg.Retries = 1
	if mod != nil {
		mod(&cfg)
	}
	reg := prometheus.NewRegistry()
	r, err := New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, reg
}

func TestLookups(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t,
		`example.test. A 192.0.2.1`,
		`example.test. AAAA 2001:db8::1`,
		`example.test. TXT "v=spf1 " "-all"`,
		`example.test. MX 20 mx2.example.test.`,
		`example.test. MX 10 mx1.example.test.`,
		`1.2.0.192.in-addr.arpa. PTR example.test.`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR v6.example.test.`,
		`alias.test. CNAME example.test.`,
	)
	r, _ := newTestResolver(t, srv, nil)
	ctx := context.Background()

	ips, err := r.LookupIP(ctx, "example.test")
	if err != nil || !slices.Equal(ips, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}) {
		t.Errorf("LookupIP = %v, %v", ips, err)
	}
	if ips, err := r.LookupA(ctx, "alias.test"); err != nil || len(ips) != 1 || ips[0].String() != "192.0.2.1" {
		t.Errorf("LookupA via CNAME = %v, %v", ips, err)
	}
	if txt, err := r.LookupTXT(ctx, "EXAMPLE.test."); err != nil || !slices.Equal(txt, []string{"v=spf1 -all"}) {
		t.Errorf("LookupTXT = %q, %v", txt, err)
	}
	if mx, err := r.LookupMX(ctx, "example.test"); err != nil || !slices.Equal(mx, []string{"mx1.example.test.", "mx2.example.test."}) {
		t.Errorf("LookupMX = %q, %v", mx, err)
	}
	if ptr, err := r.LookupPTR(ctx, netip.MustParseAddr("192.0.2.1")); err != nil || !slices.Equal(ptr, []string{"example.test."}) {
		t.Errorf("LookupPTR v4 = %q, %v", ptr, err)
	}
	if ptr, err := r.LookupPTR(ctx, netip.MustParseAddr("2001:db8::1")); err != nil || !slices.Equal(ptr, []string{"v6.example.test."}) {
		t.Errorf("LookupPTR v6 = %q, %v", ptr, err)
	}
	if txt, err := r.LookupTXT(ctx, "missing.test"); err != nil || txt != nil {
		t.Errorf("NXDOMAIN = %q, %v; want nil, nil", txt, err)
	}
	if a, err := r.LookupA(ctx, "mx1.example.test"); err != nil || a != nil {
		t.Errorf("no data = %v, %v", a, err)
	}
	long := "a123456789012345678901234567890123456789012345678901234567890123.test"
	if _, err := r.LookupA(ctx, long); !errors.Is(err, ErrInvalidName) {
		t.Errorf("64-octet label: err = %v, want ErrInvalidName", err)
	}
}

func TestCache(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t, `cached.test. 60 A 192.0.2.7`)
	r, reg := newTestResolver(t, srv, nil)
	now := time.Now()
	r.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := r.LookupA(ctx, "cached.test"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.LookupA(ctx, "nothing.test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Queries.Load(); n != 2 {
		t.Errorf("queries after 3 rounds = %d, want 2 (positive and negative answers cached)", n)
	}
	if hits := counter(t, r.m.cache.WithLabelValues("hit")); hits != 4 {
		t.Errorf("cache hits = %v, want 4", hits)
	}
	// The TTL passes: the next lookup goes to the server again.
	now = now.Add(61 * time.Second)
	if _, err := r.LookupA(ctx, "cached.test"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Queries.Load(); n != 3 {
		t.Errorf("queries after TTL expiry = %d, want 3", n)
	}
	mfs, err := reg.Gather()
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if err != nil || !names["scilla_dns_queries_total"] || !names["scilla_dns_query_duration_seconds"] || !names["scilla_dns_cache_requests_total"] {
		t.Errorf("metrics registered: %v, %v", names, err)
	}
}

func TestFailures(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t, `big.test. TXT "x"`)
	for i := 0; i < 40; i++ {
		srv.Add(t, `big.test. TXT "`+string(rune('a'+i%26))+`-padding-padding-padding-padding-padding-padding-padding-`+string(rune('0'+i%10))+`"`)
	}
	srv.Add(t, `trunc.test. A 192.0.2.9`)
	srv.Truncate("trunc.test")
	srv.ServFail("fail.test")
	srv.Timeout("slow.test")
	r, _ := newTestResolver(t, srv, nil)
	ctx := context.Background()

	t.Run("truncation falls back to TCP", func(t *testing.T) {
		before := srv.TCPQueries.Load()
		a, err := r.LookupA(ctx, "trunc.test")
		if err != nil || len(a) != 1 {
			t.Fatalf("LookupA = %v, %v", a, err)
		}
		txt, err := r.LookupTXT(ctx, "big.test")
		if err != nil || len(txt) != 41 {
			t.Fatalf("LookupTXT of a >1232-byte answer = %d records, %v", len(txt), err)
		}
		if n := srv.TCPQueries.Load() - before; n != 2 {
			t.Errorf("TCP queries = %d, want 2", n)
		}
	})
	t.Run("SERVFAIL is a temporary error", func(t *testing.T) {
		_, err := r.LookupA(ctx, "fail.test")
		var de *Error
		if !errors.As(err, &de) || !errors.Is(err, ErrServerFailure) || !de.Temporary() || de.Timeout() {
			t.Errorf("err = %v, want temporary ErrServerFailure", err)
		}
	})
	t.Run("timeout after retries", func(t *testing.T) {
		start := time.Now()
		_, err := r.LookupA(ctx, "slow.test")
		el := time.Since(start)
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
		// Timeout 200ms × (1 + 1 retry).
		if el < 350*time.Millisecond || el > 2*time.Second {
			t.Errorf("took %s, want about 400ms", el)
		}
		if n := counter(t, r.m.timeouts); n != 1 {
			t.Errorf("timeouts metric = %v, want 1", n)
		}
	})
	t.Run("context deadline wins and is not cached", func(t *testing.T) {
		srv.Timeout("slow2.test")
		srv.Add(t, `slow2.test. A 192.0.2.2`)
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.LookupA(cctx, "slow2.test")
		if !errors.Is(err, ErrTimeout) || time.Since(start) > time.Second {
			t.Errorf("err = %v after %s", err, time.Since(start))
		}
		srv.Answer("slow2.test")
		if ips, err := r.LookupA(ctx, "slow2.test"); err != nil || len(ips) != 1 {
			t.Errorf("after our own deadline the name must be asked again: %v, %v", ips, err)
		}
	})
	t.Run("server failures are remembered for failure_ttl", func(t *testing.T) {
		before := srv.Queries.Load()
		for i := 0; i < 3; i++ {
			if _, err := r.LookupA(ctx, "fail.test"); !errors.Is(err, ErrServerFailure) {
				t.Fatalf("err = %v", err)
			}
		}
		start := time.Now()
		if _, err := r.LookupA(ctx, "slow.test"); !errors.Is(err, ErrTimeout) || time.Since(start) > 100*time.Millisecond {
			t.Errorf("cached timeout: %v after %s", err, time.Since(start))
		}
		if n := srv.Queries.Load() - before; n != 0 {
			t.Errorf("%d queries for names already failing", n)
		}
	})
}

func TestMessageContextSharesDeadline(t *testing.T) {
	srv := dnstest.Start(t)
	r, _ := newTestResolver(t, srv, func(c *Config) { c.Deadline = conf.Duration(time.Second) })
	now := time.Now()
	r.now = func() time.Time { return now }
	c1, cancel1 := r.MessageContext(context.Background(), "scan-1")
	defer cancel1()
	now = now.Add(400 * time.Millisecond)
	c2, cancel2 := r.MessageContext(context.Background(), "scan-1")
	defer cancel2()
	d1, _ := c1.Deadline()
	d2, _ := c2.Deadline()
	if !d1.Equal(d2) {
		t.Errorf("deadlines differ for one message: %v vs %v", d1, d2)
	}
	c3, cancel3 := r.MessageContext(context.Background(), "scan-2")
	defer cancel3()
	if d3, _ := c3.Deadline(); !d3.After(d1) {
		t.Errorf("another message should get its own deadline")
	}
}

func TestReverseName(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"1.2.3.4", "4.3.2.1"},
		{"::ffff:1.2.3.4", "4.3.2.1"},
		{"4321:0:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4"},
	}
	for _, tt := range tests {
		if got := ReverseName(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("ReverseName(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	c.Nameservers = []string{"127.0.0.1", "[::1]:5353", "resolver.example"}
	c.TrustedRelays = []string{"10.0.0.0/8", "x"}
	c.Retries = -1
	if errs := c.Validate(); len(errs) != 3 {
		t.Errorf("Validate = %v, want 3 problems", errs)
	}
}

// FuzzAnswer feeds arbitrary DNS responses through the code that reads them.
func FuzzAnswer(f *testing.F) {
	m := new(mdns.Msg)
	m.SetQuestion("example.test.", mdns.TypeTXT)
	m.Answer = append(m.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: "example.test.", Rrtype: mdns.TypeTXT, Class: 1, Ttl: 5}, Txt: []string{"v=spf1", " -all"}})
	m.Ns = append(m.Ns, &mdns.SOA{Hdr: mdns.RR_Header{Name: "test.", Rrtype: mdns.TypeSOA, Class: 1, Ttl: 5}, Minttl: 1})
	b, _ := m.Pack()
	f.Add(b)
	r := &Resolver{cfg: DefaultConfig(), now: time.Now}
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg mdns.Msg
		if err := msg.Unpack(data); err != nil {
			return
		}
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypeTXT, mdns.TypeMX, mdns.TypePTR} {
			a := r.answer(&msg, qt)
			for _, rr := range a.Records {
				if rr.Header().Rrtype != qt {
					t.Fatalf("kept a %d record for a %d query", rr.Header().Rrtype, qt)
				}
			}
			if time.Until(a.expires) > r.cfg.MaxTTL.D()+time.Second {
				t.Fatalf("cached beyond MaxTTL")
			}
		}
	})
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSharedQueryOutlivesFirstAsker: a query merged with one whose context
// ends early is asked again for the caller that still has time.
func TestSharedQueryOutlivesFirstAsker(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Add(t, `shared.test. A 192.0.2.50`)
	srv.Timeout("shared.test")
	r, _ := newTestResolver(t, srv, func(c *Config) { c.Timeout = conf.Duration(150 * time.Millisecond); c.Retries = 3 })
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.LookupA(short, "shared.test")
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	// The second asker starts while the first is in flight; the server
	// starts answering after the first gave up.
	go func() {
		time.Sleep(150 * time.Millisecond)
		srv.Answer("shared.test")
	}()
	ips, err := r.LookupA(context.Background(), "shared.test")
	if err != nil || len(ips) != 1 {
		t.Errorf("second asker: %v, %v", ips, err)
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Errorf("first asker: %v, want timeout", err)
	}
}

// FuzzTXT checks that character-strings with any octets survive miekg/dns's
// presentation form and our unescaping unchanged.
func FuzzTXT(f *testing.F) {
	f.Add([]byte("v=spf1 -all"))
	f.Add([]byte("a\\b\"c\x00\xff;"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 255 {
			raw = raw[:255]
		}
		var esc strings.Builder
		for _, c := range raw {
			fmt.Fprintf(&esc, "\\%03d", c)
		}
		m := new(mdns.Msg)
		m.SetQuestion("x.test.", mdns.TypeTXT)
		m.Answer = []mdns.RR{&mdns.TXT{Hdr: mdns.RR_Header{Name: "x.test.", Rrtype: mdns.TypeTXT, Class: 1}, Txt: []string{esc.String()}}}
		wire, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		var back mdns.Msg
		if err := back.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		if got := unescape(back.Answer[0].(*mdns.TXT).Txt[0]); got != string(raw) {
			t.Fatalf("round trip %q → %q", raw, got)
		}
	})
}
