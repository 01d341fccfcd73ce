package spf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/scilla-mail/scilla/internal/conf"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/spf"
)

const suitePath = "testdata/rfc7208-tests.yml" // the openspf RFC 7208 suite, with its LICENSE

// suiteExceptions lists tests of the RFC 7208 suite we knowingly do not
// pass, with the reason. Empty: every test passes.
var suiteExceptions = map[string]string{}

// explanationFoldCase lists tests whose expected explanation is compared
// without regard to case, with the reason.
var explanationFoldCase = map[string]string{
	"v-macro-ip6": "the suite expects the %{ir} nibbles of CAFE:BABE::1 in upper case " +
		"(echoing how the test wrote the address) while %{c} in the same text is lower case; " +
		"RFC 7208 §7.3 does not fix the case of the hex nibbles and we write them in lower " +
		"case like RFC 5952 and ip6.arpa practice (RFC 3596 §2.5)",
}

type suiteDoc struct {
	Description string                 `yaml:"description"`
	Tests       map[string]suiteTest   `yaml:"tests"`
	Zonedata    map[string][]yaml.Node `yaml:"zonedata"`
}

type suiteTest struct {
	Description string    `yaml:"description"`
	Spec        yaml.Node `yaml:"spec"`
	Helo        string    `yaml:"helo"`
	Host        string    `yaml:"host"`
	MailFrom    string    `yaml:"mailfrom"`
	Result      yaml.Node `yaml:"result"`
	Explanation string    `yaml:"explanation"`
	Comment     string    `yaml:"comment"`
	Strict      yaml.Node `yaml:"strict"`
}

// zoneEntry is one zonedata item: a record, or the TIMEOUT marker.
type zoneEntry struct {
	timeout bool
	typ     string
	rr      mdns.RR // nil for "NONE"
}

// TestRFC7208Suite runs the openspf.org RFC 7208 test suite against a
// loopback DNS server serving each scenario's zone data, through our
// resolver.
func TestRFC7208Suite(t *testing.T) {
	data, err := os.ReadFile(suitePath)
	if err != nil {
		t.Fatalf("read the suite: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var passed, failed, excepted atomic.Int64
	for {
		var doc suiteDoc
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("parse the suite: %v", err)
		}
		// The tests of one scenario run in parallel against its zone, so a
		// TIMEOUT test costs one query timeout in all.
		t.Run(doc.Description, func(t *testing.T) {
			zone := buildZone(t, doc.Zonedata)
			srv := serveZone(t, zone)
			cfg := dns.DefaultConfig()
			cfg.Nameservers = []string{srv}
			cfg.Timeout = conf.Duration(time.Second)
			cfg.Retries = 0
			r, err := dns.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			for name, tc := range doc.Tests {
				var want []string
				if tc.Result.Kind == yaml.SequenceNode {
					_ = tc.Result.Decode(&want)
				} else {
					want = []string{tc.Result.Value}
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					if why, skip := suiteExceptions[name]; skip {
						excepted.Add(1)
						t.Skip(why)
					}
					defer func() {
						if t.Failed() {
							failed.Add(1)
						} else {
							passed.Add(1)
						}
					}()
					runSuiteTest(t, r, doc.Description, name, tc, want)
				})
			}
		})
	}
	t.Logf("RFC 7208 suite: %d passed, %d failed, %d listed exceptions", passed.Load(), failed.Load(), excepted.Load())
	fmt.Printf("RFC 7208 suite: %d passed, %d failed, %d listed exceptions\n", passed.Load(), failed.Load(), excepted.Load())
}

func runSuiteTest(t *testing.T, r *dns.Resolver, scenario, name string, tc suiteTest, want []string) {
	o := spf.Check(context.Background(), r, spf.Request{
		IP: mustIP(t, tc.Host), MailFrom: tc.MailFrom, Helo: tc.Helo,
		Now: time.Unix(1700000000, 0),
	})
	got := string(o.Result)
	match := false
	for _, w := range want {
		match = match || w == got
	}
	if !match {
		t.Errorf("%s (%s): result %s (%v, mechanism %q), want %v\n%s", scenario, name, got, o.Err, o.Mechanism, want, tc.Description)
		return
	}
	if tc.Explanation != "" && got == "fail" {
		wantExp := tc.Explanation
		if wantExp == "DEFAULT" {
			wantExp = spf.DefaultExplanation
		}
		same := o.Explanation == wantExp
		if _, fold := explanationFoldCase[name]; fold {
			same = strings.EqualFold(o.Explanation, wantExp)
		}
		if !same {
			t.Errorf("%s: explanation %q, want %q", name, o.Explanation, wantExp)
		}
	}
}

func mustIP(t *testing.T, s string) netip.Addr {
	t.Helper()
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("host %q: %v", s, err)
	}
	return ip
}

// buildZone turns zonedata into entries per lower-case name, generating a
// TXT record from each SPF record unless the name has TXT data of its own,
// like the suite's reference driver.
func buildZone(t *testing.T, zd map[string][]yaml.Node) map[string][]zoneEntry {
	zone := map[string][]zoneEntry{}
	for name, items := range zd {
		fqdn := mdns.Fqdn(strings.ToLower(name))
		var entries, generated []zoneEntry
		hasTXT := false
		for _, it := range items {
			if it.Kind == yaml.ScalarNode && it.Value == "TIMEOUT" {
				entries = append(entries, zoneEntry{timeout: true})
				continue
			}
			if it.Kind != yaml.MappingNode || len(it.Content) != 2 {
				t.Fatalf("zonedata %s: unexpected item %v", name, it.Value)
			}
			typ, val := it.Content[0].Value, it.Content[1]
			if typ == "TXT" {
				hasTXT = true
			}
			if val.Kind == yaml.ScalarNode && val.Value == "NONE" {
				continue
			}
			rr := makeRR(t, fqdn, typ, val)
			entries = append(entries, zoneEntry{typ: typ, rr: rr})
			if typ == "SPF" {
				txt := mdns.Copy(rr).(*mdns.TXT)
				txt.Hdr.Rrtype = mdns.TypeTXT
				generated = append(generated, zoneEntry{typ: "TXT", rr: txt})
			}
		}
		if !hasTXT {
			entries = append(entries, generated...)
		}
		zone[fqdn] = entries
	}
	return zone
}

func makeRR(t *testing.T, name, typ string, val *yaml.Node) mdns.RR {
	hdr := mdns.RR_Header{Name: name, Class: mdns.ClassINET, Ttl: 0}
	switch typ {
	case "SPF", "TXT":
		var strs []string
		if val.Kind == yaml.SequenceNode {
			_ = val.Decode(&strs)
		} else {
			strs = []string{val.Value}
		}
		var wire []string
		for _, s := range strs {
			// Character-strings are at most 255 octets; escape for miekg's
			// presentation form so every octet goes out unchanged.
			for len(s) > 255 {
				wire = append(wire, escapeTXT(s[:255]))
				s = s[255:]
			}
			wire = append(wire, escapeTXT(s))
		}
		hdr.Rrtype = mdns.TypeTXT
		return &mdns.TXT{Hdr: hdr, Txt: wire}
	case "A":
		hdr.Rrtype = mdns.TypeA
		return &mdns.A{Hdr: hdr, A: net.ParseIP(val.Value).To4()}
	case "AAAA":
		hdr.Rrtype = mdns.TypeAAAA
		return &mdns.AAAA{Hdr: hdr, AAAA: net.ParseIP(val.Value)}
	case "PTR":
		hdr.Rrtype = mdns.TypePTR
		return &mdns.PTR{Hdr: hdr, Ptr: mdns.Fqdn(val.Value)}
	case "CNAME":
		hdr.Rrtype = mdns.TypeCNAME
		return &mdns.CNAME{Hdr: hdr, Target: mdns.Fqdn(val.Value)}
	case "MX":
		var mx []any
		if err := val.Decode(&mx); err != nil || len(mx) != 2 {
			t.Fatalf("MX %s: %v", name, val.Value)
		}
		hdr.Rrtype = mdns.TypeMX
		return &mdns.MX{Hdr: hdr, Preference: uint16(mx[0].(int)), Mx: mdns.Fqdn(fmt.Sprint(mx[1]))}
	}
	t.Fatalf("zonedata %s: unknown type %s", name, typ)
	return nil
}

func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// wireName undoes miekg/dns's escaping of a name (`\DDD`, `\X`).
func wireName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + (s[i+3] - '0'))
			i += 3
			continue
		}
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// serveZone starts a loopback UDP server answering from zone with the
// reference driver's semantics: a TIMEOUT item before any record of the
// queried type makes the query go unanswered.
func serveZone(t *testing.T, zone map[string][]zoneEntry) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		q := req.Question[0]
		m := new(mdns.Msg)
		m.SetReply(req)
		name := wireName(strings.ToLower(q.Name))
		for hops := 0; hops < 10; hops++ {
			entries, ok := zone[name]
			if !ok {
				if hops == 0 {
					m.Rcode = mdns.RcodeNameError
				}
				break
			}
			found, cname := false, ""
			for _, e := range entries {
				if e.timeout {
					if !found {
						return // no answer: the client times out
					}
					break
				}
				if e.rr.Header().Rrtype == q.Qtype && e.typ != "SPF" {
					found = true
					m.Answer = append(m.Answer, e.rr)
				}
				if e.typ == "CNAME" {
					cname = e.rr.(*mdns.CNAME).Target
					m.Answer = append(m.Answer, e.rr)
				}
			}
			if found || cname == "" {
				break
			}
			name = strings.ToLower(cname)
		}
		m.Truncate(4096)
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}
