package smtpserver

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu      sync.Mutex
	envs    []*Envelope
	msgs    []string
	replies func(env *Envelope) []Reply
}

func (r *recorder) Deliver(_ context.Context, env *Envelope, msg []byte) []Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.envs = append(r.envs, env)
	r.msgs = append(r.msgs, string(msg))
	if r.replies != nil {
		return r.replies(env)
	}
	if env.LMTP {
		out := make([]Reply, len(env.Rcpts))
		for i := range out {
			out[i] = Reply{250, "2.0.0", "Ok " + env.Rcpts[i]}
		}
		return out
	}
	return []Reply{{250, "2.0.0", "Ok queued"}}
}

func newServer(lmtp bool, h Handler) *Server {
	return &Server{Hostname: "pipe.test", LMTP: lmtp, MaxSize: 2 << 20, MaxRecipients: 3, ReadTimeout: 5 * time.Second, Handler: h}
}

// converse feeds the whole client side at once (pipelining) and returns
// the reply codes (and texts where asked) line by line.
func converse(s *Server, input string) []string {
	var out bytes.Buffer
	s.ServeConn(strings.NewReader(strings.ReplaceAll(input, "\n", "\r\n")), &out, "test")
	return strings.Split(strings.TrimRight(out.String(), "\r\n"), "\r\n")
}

func codes(lines []string) string {
	var c []string
	for _, l := range lines {
		if len(l) >= 4 && l[3] == '-' {
			continue
		}
		if len(l) >= 3 {
			c = append(c, l[:3])
		}
	}
	return strings.Join(c, " ")
}

func TestSessions(t *testing.T) {
	tests := []struct {
		name  string
		lmtp  bool
		in    string
		codes string
		msgs  []string
		check func(t *testing.T, r *recorder, lines []string)
	}{
		{name: "smtp with xforward and dot-stuffing",
			in:    "EHLO mta\nXFORWARD NAME=mx.example.net ADDR=192.0.2.1 PORT=4711\nXFORWARD HELO=mx.example.net PROTO=ESMTP IDENT=4Q1x+2BY SOURCE=REMOTE\nMAIL FROM:<a@x> BODY=8BITMIME SIZE=100\nRCPT TO:<b@y>\nRCPT TO: <c@y>\nDATA\nSubject: x\n\n..dot\n.\nQUIT\n",
			codes: "220 250 250 250 250 250 250 354 250 221", msgs: []string{"Subject: x\r\n\r\n.dot\r\n"},
			check: func(t *testing.T, r *recorder, lines []string) {
				e := r.envs[0]
				want := XForward{Name: "mx.example.net", Addr: "192.0.2.1", Port: "4711", Proto: "ESMTP", Helo: "mx.example.net", Ident: "4Q1x+Y", Source: "REMOTE"}
				if e.XForward != want || e.From != "a@x" || strings.Join(e.Rcpts, ",") != "b@y,c@y" || e.Body != "8BITMIME" || e.Helo != "mta" {
					t.Errorf("envelope = %+v", e)
				}
				if !strings.Contains(strings.Join(lines, "\n"), "250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE") {
					t.Errorf("XFORWARD not advertised: %q", lines)
				}
			}},
		{name: "xforward reset after transaction, ipv6 and unavailable",
			in:    "EHLO m\nXFORWARD ADDR=IPV6:2001:db8::1 NAME=[UNAVAILABLE]\nMAIL FROM:<>\nRCPT TO:<b@y>\nDATA\nx\n.\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\ny\n.\n",
			codes: "220 250 250 250 250 354 250 250 250 354 250", msgs: []string{"x\r\n", "y\r\n"},
			check: func(t *testing.T, r *recorder, _ []string) {
				if r.envs[0].XForward.Addr != "2001:db8::1" || r.envs[0].XForward.Name != "" || r.envs[0].From != "" || r.envs[1].XForward.Addr != "" {
					t.Errorf("envelopes = %+v %+v", r.envs[0], r.envs[1])
				}
			}},
		{name: "lmtp replies per recipient", lmtp: true,
			in:    "LHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nRCPT TO:<c@y>\nDATA\nhi\n.\nQUIT\n",
			codes: "220 250 250 250 250 354 250 250 221", msgs: []string{"hi\r\n"},
			check: func(t *testing.T, _ *recorder, lines []string) {
				if !strings.Contains(strings.Join(lines, "\n"), "250 2.0.0 Ok c@y") {
					t.Errorf("no reply for the second recipient: %q", lines)
				}
			}},
		{name: "protocol errors", in: "MAIL FROM:<a@x>\nEHLO\nLHLO m\nHELO m\nRCPT TO:<b@y>\nDATA\nMAIL FROM:a@x\nMAIL FROM:<a@x> FOO=1\nBOGUS\nMAIL FROM:<a@x>\nMAIL FROM:<a@x>\nDATA\nRCPT TO:<b@y> NOTIFY=NEVER\nRCPT TO:<>\nQUIT\n",
			codes: "220 503 501 500 250 503 503 501 555 502 250 503 554 421"}, // the 11th error hangs up
		{name: "too many errors hang up", in: strings.Repeat("BOGUS\n", 12) + "QUIT\n", codes: "220" + strings.Repeat(" 502", 10) + " 421"},
		{name: "too many recipients", in: "EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<1@y>\nRCPT TO:<2@y>\nRCPT TO:<3@y>\nRCPT TO:<4@y>\nDATA\nx\n.\n",
			codes: "220 250 250 250 250 250 452 354 250", msgs: []string{"x\r\n"}},
		{name: "bogus xforward", in: "EHLO m\nXFORWARD ADDR=not-an-ip\nXFORWARD FOO=bar\nXFORWARD NAME=+ZZ\nXFORWARD\nXFORWARD PORT=99999\nMAIL FROM:<a@x>\nXFORWARD NAME=x\nQUIT\n",
			codes: "220 250 501 501 501 501 501 250 503 221"},
		{name: "1 MB command line", in: "EHLO m\n" + strings.Repeat("A", 1<<20) + "\nNOOP\nQUIT\n", codes: "220 250 500 250 221"},
		{name: "1 MB data line kept", in: "EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\n" + strings.Repeat("B", 1<<20) + "\n.\nQUIT\n",
			codes: "220 250 250 250 354 250 221", msgs: []string{strings.Repeat("B", 1<<20) + "\r\n"}},
		{name: "message too large", in: "EHLO m\nMAIL FROM:<a@x> SIZE=99999999\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\n" + strings.Repeat("C", 3<<20) + "\n.\nNOOP\n",
			codes: "220 250 552 250 250 354 552 250"},
		{name: "disconnect mid-DATA delivers nothing", in: "EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\nSubject: half\n", codes: "220 250 250 250 354"},
		{name: "bare LF line endings", in: "EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\nx\n.\n", codes: "220 250 250 250 354 250", msgs: []string{"x\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			lines := converse(newServer(tt.lmtp, r), tt.in)
			if got := codes(lines); got != tt.codes {
				t.Errorf("reply codes = %s\nwant          %s\n%s", got, tt.codes, strings.Join(lines, "\n"))
			}
			if len(r.msgs) != len(tt.msgs) {
				t.Fatalf("delivered %d messages, want %d", len(r.msgs), len(tt.msgs))
			}
			for i := range tt.msgs {
				if r.msgs[i] != tt.msgs[i] {
					t.Errorf("message %d = %.80q, want %.80q", i, r.msgs[i], tt.msgs[i])
				}
			}
			if tt.check != nil {
				tt.check(t, r, lines)
			}
		})
	}
}

func TestServeAndShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(false, &recorder{})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "220 pipe.test ESMTP") {
		t.Errorf("greeting %q", buf[:n])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Error("Shutdown with an idle session open should time out and close it")
	}
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := c.Read(buf); err == nil {
		t.Error("session still open after shutdown")
	}
}

func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO m\r\nXFORWARD ADDR=1.2.3.4\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("LHLO m\r\nMAIL FROM:<\"a>b\"@x>\r\nRCPT TO:<@r:b@y>\r\nDATA\r\n..\r\n.\r\n"))
	f.Add([]byte("EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\n.x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lmtp := range []bool{false, true} {
			r := &recorder{}
			s := newServer(lmtp, r)
			s.MaxSize = 4096
			var out bytes.Buffer
			s.ServeConn(bytes.NewReader(in), &out, "fuzz")
			// Every delivered message must come from a complete DATA
			// section: the input must contain an end-of-data line.
			if len(r.msgs) > 0 && !bytes.Contains(in, []byte("\n.\n")) && !bytes.Contains(in, []byte("\n.\r\n")) {
				t.Fatalf("delivered without end of data: %q", in)
			}
			for _, e := range r.envs {
				if len(e.Rcpts) == 0 {
					t.Fatalf("delivered without recipients: %q", in)
				}
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"FROM:<a@b> SIZE=1", "TO:<\"x y\"@b>", "FROM: <>", "NAME=a ADDR=IPV6:::1 PORT=1", "HELO=+41+42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if addr, _, err := parsePath(s, "FROM:"); err == nil && strings.ContainsAny(addr, "\r\n<>") {
			t.Fatalf("bad address %q from %q", addr, s)
		}
		var xf XForward
		if err := parseXForward(s, &xf); err == nil && xf.Addr != "" {
			if _, err := net.ResolveIPAddr("ip", xf.Addr); err != nil {
				t.Fatalf("XFORWARD accepted address %q", xf.Addr)
			}
		}
		_, _ = xtextDecode(s)
	})
}

type panicker struct{}

func (panicker) Deliver(context.Context, *Envelope, []byte) []Reply { panic("boom") }

func TestHandlerPanicTempfails(t *testing.T) {
	lines := converse(newServer(false, panicker{}), "EHLO m\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\nx\n.\nNOOP\nQUIT\n")
	if got := codes(lines); got != "220 250 250 250 354 451 250 221" {
		t.Errorf("codes = %s", got)
	}
}
