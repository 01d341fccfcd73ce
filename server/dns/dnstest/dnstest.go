// Package dnstest runs an authoritative DNS server on loopback for tests:
// records are given as zone-file lines, and names can be made to time out,
// fail with SERVFAIL or answer truncated over UDP. Nothing in it talks to
// the outside network.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Server is a loopback DNS server on UDP and TCP at the same port.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string

	mu         sync.Mutex
	records    map[key][]mdns.RR
	names      map[string]bool
	timeout    map[string]bool
	servfail   map[string]bool
	truncate   map[string]bool
	silent     bool
	udp, tcp   *mdns.Server
	Queries    atomic.Int64
	TCPQueries atomic.Int64
}

type key struct {
	name  string
	qtype uint16
}

// Start starts a server and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		records:  map[key][]mdns.RR{},
		names:    map[string]bool{},
		timeout:  map[string]bool{},
		servfail: map[string]bool{},
		truncate: map[string]bool{},
	}
	pc, ln, err := listen()
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	s.udp = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) { s.serve(w, r, false) })}
	s.tcp = &mdns.Server{Listener: ln, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) { s.serve(w, r, true) })}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-started
	<-started
	tb.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// listen opens UDP and TCP on the same free loopback port, trying again
// when another process holds the TCP side of the port UDP got.
func listen() (net.PacketConn, net.Listener, error) {
	var err error
	for i := 0; i < 20; i++ {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp: %w", err)
		}
		var ln net.Listener
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("listen tcp: %w", err)
}

// Add adds records in zone-file syntax, e.g. "example.com. 300 IN TXT \"v=spf1 -all\"".
// A missing TTL means 300.
func (s *Server) Add(tb testing.TB, lines ...string) {
	tb.Helper()
	for _, l := range lines {
		rr, err := mdns.NewRR("$TTL 300\n" + l)
		if err != nil {
			tb.Fatalf("dnstest: record %q: %v", l, err)
		}
		s.AddRR(rr)
	}
}

// AddRR adds one record.
func (s *Server) AddRR(rr mdns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := rr.Header()
	h.Name = strings.ToLower(h.Name)
	k := key{h.Name, h.Rrtype}
	s.records[k] = append(s.records[k], rr)
	for n := h.Name; n != "."; {
		s.names[n] = true
		i := strings.IndexByte(n, '.')
		n = n[i+1:]
		if n == "" {
			break
		}
	}
}

// Timeout makes queries for name go unanswered.
func (s *Server) Timeout(name string) { s.set(s.timeout, name) }

// Answer undoes Timeout for name.
func (s *Server) Answer(name string) {
	s.mu.Lock()
	delete(s.timeout, mdns.Fqdn(strings.ToLower(name)))
	s.mu.Unlock()
}

// ServFail makes queries for name answer SERVFAIL.
func (s *Server) ServFail(name string) { s.set(s.servfail, name) }

// Truncate makes UDP answers for name truncated, so the client must use TCP.
func (s *Server) Truncate(name string) { s.set(s.truncate, name) }

// Silence makes the server answer nothing at all.
func (s *Server) Silence() {
	s.mu.Lock()
	s.silent = true
	s.mu.Unlock()
}

func (s *Server) set(m map[string]bool, name string) {
	s.mu.Lock()
	m[mdns.Fqdn(strings.ToLower(name))] = true
	s.mu.Unlock()
}

func (s *Server) serve(w mdns.ResponseWriter, r *mdns.Msg, tcp bool) {
	s.Queries.Add(1)
	if tcp {
		s.TCPQueries.Add(1)
	}
	if len(r.Question) != 1 {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.silent || s.timeout[name] {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if s.servfail[name] {
		m.Rcode = mdns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	if s.truncate[name] && !tcp {
		m.Truncated = true
		w.WriteMsg(m)
		return
	}
	target := name
	for hops := 0; hops < 8; hops++ {
		if rrs := s.records[key{target, q.Qtype}]; len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			break
		}
		cn := s.records[key{target, mdns.TypeCNAME}]
		if len(cn) == 0 || q.Qtype == mdns.TypeCNAME {
			break
		}
		m.Answer = append(m.Answer, cn[0])
		target = strings.ToLower(cn[0].(*mdns.CNAME).Target)
	}
	if len(m.Answer) == 0 {
		if !s.names[target] {
			m.Rcode = mdns.RcodeNameError
		}
		m.Ns = []mdns.RR{&mdns.SOA{
			Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: 60},
			Ns:  "ns.test.", Mbox: "hostmaster.test.", Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60,
		}}
	}
	// Copy the RRs: the client may not alias our records across answers.
	for i, rr := range m.Answer {
		m.Answer[i] = mdns.Copy(rr)
		m.Answer[i].Header().Name = strings.ToLower(m.Answer[i].Header().Name)
	}
	if !tcp {
		m.Truncate(dnsSize(r))
	}
	w.WriteMsg(m)
}

func dnsSize(r *mdns.Msg) int {
	if o := r.IsEdns0(); o != nil {
		return int(o.UDPSize())
	}
	return mdns.MinMsgSize
}

// Deadline is a generous bound for waiting on the server in tests.
const Deadline = 5 * time.Second
