package milter

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

var testRules = []clienttest.Rule{
	{Prefix: "boss@", Action: scillav1.Action_ACTION_REJECT, Text: "Spam is not welcome here"},
	{Prefix: "sales@", Action: scillav1.Action_ACTION_REDIRECT, To: []string{"quarantine@example.com"}},
	{Prefix: "team@", Action: scillav1.Action_ACTION_COPY, To: []string{"archive@example.com"}},
	{Prefix: "junk@", Action: scillav1.Action_ACTION_DELETE},
}

// startMilter runs a milter on loopback against a fake scanner.
func startMilter(t *testing.T, settings func(*clients.Settings), fn clienttest.ScanFunc) (string, *clienttest.Server) {
	t.Helper()
	fake := clienttest.Start(t, fn)
	s := clients.DefaultSettings()
	s.Servers = []string{fake.Addr}
	s.ConnectTimeout, s.DataTimeout = time.Second, 2*time.Second
	if settings != nil {
		settings(&s)
	}
	c, err := clients.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	srv := New(c, "mta.test", nil)
	ln, err := Listen("inet:127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), fake
}

type result struct {
	mods []gomilter.ModifyAction
	act  *gomilter.Action
}

// send runs one message through an open milter session as Postfix would.
func send(t *testing.T, s *gomilter.ClientSession, macros *gomilter.MacroBag, queueID, from string, rcpts []string, header, body string) result {
	t.Helper()
	macros.Set(gomilter.MacroQueueId, queueID)
	if _, err := s.Mail(from, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		if _, err := s.Rcpt(r, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DataStart(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		k, v, _ := strings.Cut(line, ":")
		if _, err := s.HeaderField(k, strings.TrimSpace(v), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := s.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return result{mods, act}
}

func openSession(t *testing.T, addr string) (*gomilter.ClientSession, *gomilter.MacroBag) {
	t.Helper()
	client := gomilter.NewClient("tcp", addr)
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroClientAddr, "192.0.2.7")
	macros.Set(gomilter.MacroAuthAuthen, "alice")
	s, err := client.Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Conn("mx.example.net", gomilter.FamilyInet, 2525, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helo("mx.example.net"); err != nil {
		t.Fatal(err)
	}
	return s, macros
}

func describe(mods []gomilter.ModifyAction) string {
	var out []string
	for _, m := range mods {
		switch m.Type {
		case gomilter.ActionAddRcpt:
			out = append(out, "+rcpt "+m.Rcpt)
		case gomilter.ActionDelRcpt:
			out = append(out, "-rcpt "+m.Rcpt)
		case gomilter.ActionAddHeader:
			out = append(out, "+"+m.HeaderName+": "+m.HeaderValue)
		case gomilter.ActionChangeHeader:
			if m.HeaderValue == "" {
				out = append(out, "-"+m.HeaderName+"["+string(rune('0'+m.HeaderIndex))+"]")
			} else {
				out = append(out, "~"+m.HeaderName+"["+string(rune('0'+m.HeaderIndex))+"]: "+m.HeaderValue)
			}
		default:
			out = append(out, m.String())
		}
	}
	return strings.Join(out, "\n")
}

func TestMilterVerdicts(t *testing.T) {
	addr, fake := startMilter(t, nil, clienttest.Policy(testRules...))
	s, macros := openSession(t, addr)
	header := "From: a@example.net\nSubject: Hello\nX-Spam-Flag: YES\nX-Spam-Flag: forged again"
	tests := []struct {
		name   string
		rcpts  []string
		body   string
		action gomilter.ActionType
		reply  string
		mods   string
	}{
		{name: "ham", rcpts: []string{"bob@example.com"}, body: "hello\r\n", action: gomilter.ActionAccept,
			mods: "-X-Spam-Flag[2]\n-X-Spam-Flag[1]\n+X-Spamtest-Status-Extended: Not detected\n+X-Spamtest-Group-ID: 00000001"},
		{name: "redirect", rcpts: []string{"sales@example.com"}, body: gtube + "\r\n", action: gomilter.ActionAccept,
			mods: "-X-Spam-Flag[2]\n-X-Spam-Flag[1]\n~Subject[1]: [!! SPAM] Hello\n+X-Spam-Flag: YES\n+X-Spamtest-Status-Extended: SPAM\n+X-Spamtest-Group-ID: 00000003\n+rcpt <quarantine@example.com>\n-rcpt <sales@example.com>"},
		{name: "copy", rcpts: []string{"team@example.com"}, body: gtube + "\r\n", action: gomilter.ActionAccept,
			mods: "-X-Spam-Flag[2]\n-X-Spam-Flag[1]\n~Subject[1]: [!! SPAM] Hello\n+X-Spam-Flag: YES\n+X-Spamtest-Status-Extended: SPAM\n+X-Spamtest-Group-ID: 00000004\n+rcpt <archive@example.com>"},
		{name: "reject all", rcpts: []string{"boss@example.com"}, body: gtube + "\r\n", action: gomilter.ActionRejectWithCode,
			reply: "550 5.7.1 Spam is not welcome here"},
		{name: "delete all", rcpts: []string{"junk@example.com"}, body: gtube + "\r\n", action: gomilter.ActionDiscard},
		{name: "two groups: reject one, accept other", rcpts: []string{"boss@example.com", "bob@example.com"}, body: gtube + "\r\n", action: gomilter.ActionAccept,
			mods: "-X-Spam-Flag[2]\n-X-Spam-Flag[1]\n~Subject[1]: [!! SPAM] Hello\n+X-Spam-Flag: YES\n+X-Spamtest-Status-Extended: SPAM\n+X-Spamtest-Group-ID: 00000002\n+X-Spamtest-Group-ID: 00000001"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// All messages go through ONE milter session, as Postfix sends
			// several messages of one SMTP connection.
			qid := "Q" + string(rune('A'+i))
			r := send(t, s, macros, qid, "alice@example.net", tt.rcpts, header, tt.body)
			if r.act.Type != tt.action {
				t.Fatalf("action = %v, want %v (%s)", r.act, tt.action, r.act.SMTPReply)
			}
			if tt.reply != "" && strings.TrimSpace(r.act.SMTPReply) != tt.reply {
				t.Errorf("reply = %q, want %q", r.act.SMTPReply, tt.reply)
			}
			if got := describe(r.mods); got != tt.mods {
				t.Errorf("modifications:\n%s\nwant:\n%s", got, tt.mods)
			}
			reqs := fake.Requests()
			env := reqs[len(reqs)-1].GetEnvelope()
			if env.GetClientIp() != "192.0.2.7" || env.GetHelo() != "mx.example.net" || env.GetClientHostname() != "mx.example.net" ||
				env.GetQueueId() != qid || env.GetAuthUser() != "alice" || env.GetMailFrom() != "alice@example.net" ||
				strings.Join(env.GetRcptTo(), ",") != strings.Join(tt.rcpts, ",") || env.GetMtaKind() != scillav1.MtaKind_MTA_KIND_MILTER {
				t.Errorf("envelope of message %d = %v", i+1, env)
			}
			msg := string(reqs[len(reqs)-1].GetMessage())
			if !strings.HasPrefix(msg, "From: a@example.net\r\nSubject: Hello\r\n") || !strings.HasSuffix(msg, "\r\n\r\n"+tt.body) {
				t.Errorf("message sent to scanner = %q", msg)
			}
		})
	}
}

func TestMilterOnErrorAndSize(t *testing.T) {
	dead := func(s *clients.Settings) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		s.Servers = []string{"tcp:" + ln.Addr().String()}
		ln.Close()
	}
	t.Run("tempfail", func(t *testing.T) {
		addr, _ := startMilter(t, dead, clienttest.Policy())
		s, m := openSession(t, addr)
		r := send(t, s, m, "Q1", "a@x", []string{"b@example.com"}, "Subject: x", "hi\r\n")
		if r.act.Type != gomilter.ActionRejectWithCode || !strings.HasPrefix(r.act.SMTPReply, "451 4.7.1") {
			t.Errorf("action = %+v", r.act)
		}
	})
	t.Run("accept", func(t *testing.T) {
		addr, _ := startMilter(t, func(s *clients.Settings) { dead(s); s.OnError = clients.OnErrorAccept }, clienttest.Policy())
		s, m := openSession(t, addr)
		r := send(t, s, m, "Q1", "a@x", []string{"b@example.com"}, "Subject: x\nX-SpamTest-Info: forged", "hi\r\n")
		if r.act.Type != gomilter.ActionAccept || describe(r.mods) != "-X-SpamTest-Info[1]\n+X-SpamTest-Info: Not processed" {
			t.Errorf("action = %+v mods:\n%s", r.act, describe(r.mods))
		}
	})
	t.Run("over size", func(t *testing.T) {
		addr, fake := startMilter(t, func(s *clients.Settings) { s.SizeLimit = 1000 }, clienttest.Policy())
		s, m := openSession(t, addr)
		r := send(t, s, m, "Q1", "a@x", []string{"b@example.com"}, "Subject: x", strings.Repeat(gtube+"\r\n", 200))
		if r.act.Type != gomilter.ActionAccept || !strings.Contains(describe(r.mods), "+X-SpamTest-Info: Not processed") || fake.Calls() != 0 {
			t.Errorf("action = %+v, calls %d, mods:\n%s", r.act, fake.Calls(), describe(r.mods))
		}
	})
}

func TestParseListenAddress(t *testing.T) {
	for in, want := range map[string]string{
		"unix:/run/m.sock": "unix /run/m.sock", "inet:127.0.0.1:8891": "tcp 127.0.0.1:8891",
		"inet:8891@localhost": "tcp localhost:8891", "tcp:[::1]:9": "tcp [::1]:9", "local:/x": "unix /x",
	} {
		n, a, err := ParseListenAddress(in)
		if err != nil || n+" "+a != want {
			t.Errorf("%s -> %s %s %v, want %s", in, n, a, err, want)
		}
	}
	for _, in := range []string{"", "unix:", "inet:8891", "inet:x@y", "udp:1:2"} {
		if _, _, err := ParseListenAddress(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestMilterPeerVanishes: an MTA that disconnects mid-message, or sends
// garbage, costs a session and nothing else; the server keeps serving.
func TestMilterPeerVanishes(t *testing.T) {
	addr, fake := startMilter(t, nil, clienttest.Policy())
	for i, junk := range [][]byte{
		nil, // connect and hang up
		{0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff}, // negotiate, then vanish
		{0, 0, 0, 0},                  // zero-length packet
		{0xff, 0xff, 0xff, 0xff, 'B'}, // absurd length
		[]byte("GET / HTTP/1.0\r\n\r\n"),
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
		_ = i
	}
	// Mid-message: body sent, connection dropped before end of message.
	s, m := openSession(t, addr)
	m.Set(gomilter.MacroQueueId, "Q1")
	s.Mail("a@x", "")
	s.Rcpt("b@example.com", "")
	s.DataStart()
	s.HeaderField("Subject", "half", nil)
	s.HeaderEnd()
	s.BodyChunk([]byte("partial body"))
	s.Close()

	// The server still works and scanned nothing half-received.
	s2, m2 := openSession(t, addr)
	r := send(t, s2, m2, "Q2", "a@x", []string{"b@example.com"}, "Subject: whole", "complete\r\n")
	if r.act.Type != gomilter.ActionAccept || fake.Calls() != 1 {
		t.Errorf("after vanished peers: action %+v, scans %d (want 1)", r.act, fake.Calls())
	}
}

// FuzzMilterSession throws arbitrary bytes at a milter session after a
// valid negotiation: no input may crash the server or wedge it.
func FuzzMilterSession(f *testing.F) {
	f.Add([]byte{0, 0, 0, 5, 'M', 'a', '@', 'x', 0})
	f.Add([]byte{0, 0, 0, 2, 'L', 0, 0, 0, 0, 1, 'E'})
	f.Add([]byte{0, 0, 0, 1, 'E', 0, 0, 0, 1, 'A', 0, 0, 0, 1, 'Q'})
	// Regressions: each of these crashed d--j/go-milter v0.10.0 before
	// frameGuard (zero length, connect without family, MAIL/RCPT without NUL).
	f.Add([]byte{0, 0, 0, 3, 'C', 'h', 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 3, 'M', 'a', 'b'})
	f.Add([]byte{0, 0, 0, 3, 'R', 'a', 'b'})
	s := clients.DefaultSettings()
	fake := &fakeScanner{settings: s}
	srv := newServer(fake, "fuzz", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte{0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff})
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("session wedged on %q", data)
				}
				return
			}
		}
	})
}

// fakeScanner answers Check without a network, for the fuzz test.
type fakeScanner struct{ settings clients.Settings }

func (f *fakeScanner) Check(_ context.Context, env *scillav1.Envelope, _ []byte, _ string) *clients.Plan {
	return clients.NewPlan(&scillav1.ScanResponse{Results: []*scillav1.GroupResult{{GroupId: 1, Recipients: env.RcptTo,
		Modifications: &scillav1.Modifications{SubjectPrefix: "[x] ", AddHeaders: []*scillav1.Header{{Name: "X-A", Value: "1"}}}}}})
}

func (f *fakeScanner) Settings() clients.Settings { return f.settings }

// TestHeaderWireForm checks the header lines handed to the scanner (CRLF
// wire form, folded lines rejoined with CRLF), the size counted past the
// limit, and the per-name counts used for header changes.
func TestHeaderWireForm(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"Subject", "hello", "Subject: hello\r\n"},
		{"X-Folded", "a\n\tb", "X-Folded: a\r\n\tb\r\n"},
		{"X-CRLF", "a\r\n b", "X-CRLF: a\r\n b\r\n"},
		{"X-CR", "a\rb\r", "X-CR: a\rb\r\r\n"},
		{"X-Empty", "", "X-Empty: \r\n"},
		{"x-spamtest-rate", "1", "x-spamtest-rate: 1\r\n"},
		{"X-ÜBER", "v", "X-ÜBER: v\r\n"},
	}
	for _, over := range []bool{false, true} {
		m := &session{srv: newServer(&fakeScanner{settings: clients.DefaultSettings()}, "t", nil), counts: map[string]int{}}
		m.over = over
		var want string
		for _, tc := range tests {
			m.Header(tc.name, tc.value, nil)
			want += tc.want
		}
		if m.size != len(want) {
			t.Errorf("over=%v: size %d, want %d", over, m.size, len(want))
		}
		if got := m.msg.String(); !over && got != want {
			t.Errorf("wire form\n got %q\nwant %q", got, want)
		}
		if over && m.msg.Len() != 0 {
			t.Errorf("buffered %d bytes past the size limit", m.msg.Len())
		}
		for name, n := range map[string]int{"SUBJECT": 1, "X-SpamTest-Rate": 1, "x-über": 1, "x-Über": 1, "X-Missing": 0} {
			if got := m.count(name); got != n {
				t.Errorf("count(%q) = %d, want %d", name, got, n)
			}
		}
		if m.subjectIdx != 1 || m.subject != "hello" {
			t.Errorf("subject %d %q", m.subjectIdx, m.subject)
		}
	}
}

// A peer that negotiates and then says nothing is dropped after the idle
// time: the milter library clears its own read deadline after negotiating.
func TestMilterIdlePeerDropped(t *testing.T) {
	srv := newServer(&fakeScanner{settings: clients.DefaultSettings()}, "t", nil)
	srv.idle = 300 * time.Millisecond
	ln, err := Listen("inet:127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("silent peer still connected after 5 s")
			}
			break
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("dropped after %v, before the idle time", d)
	}
}
