package milter_test

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// scanner starts the verdict source for end-to-end tests.
func scanner(t *testing.T) string {
	return clienttest.Start(t, clienttest.Policy(
		clienttest.Rule{Prefix: "boss@", Action: scillav1.Action_ACTION_REJECT, Text: "Spam is not welcome here"},
		clienttest.Rule{Prefix: "sales@", Action: scillav1.Action_ACTION_REDIRECT, To: []string{"quarantine@example.com"}},
	)).Addr
}

type rig struct {
	milterAddr string
	pf         *pt.Instance
	sink       *pt.Sink
	milter     *pt.Process
}

// startRig runs sink ← Postfix ← scilla-milter (socket kind "unix" or
// "inet") ← scanner.
func startRig(t *testing.T, kind string, main map[string]string, milterArgs ...string) *rig {
	pt.Require(t)
	bin := pt.Build(t, "./clients/milter/cmd/scilla-milter")
	var listen, check string
	if kind == "unix" {
		dir, err := os.MkdirTemp("", "scilla-m-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		t.Cleanup(func() { os.RemoveAll(dir) })
		sock := filepath.Join(dir, "milter.sock")
		listen, check = "unix:"+sock, "unix:"+sock
	} else {
		port := pt.FreePort(t)
		listen, check = fmt.Sprintf("inet:127.0.0.1:%d", port), fmt.Sprintf("tcp:127.0.0.1:%d", port)
	}
	r := &rig{sink: pt.StartSink(t, true), milterAddr: listen}
	mainCF := map[string]string{"smtpd_milters": listen, "milter_default_action": "tempfail"}
	for k, v := range main {
		mainCF[k] = v
	}
	r.milter = pt.StartProcess(t, "scilla-milter", check, bin, append([]string{"-listen", listen, "-socket-mode", "0666"}, milterArgs...)...)
	r.pf = pt.Start(t, pt.Config{
		Relay: "lmtp:inet:" + r.sink.Addr,
		Main:  mainCF,
	})
	return r
}

func TestPostfixMilterEndToEnd(t *testing.T) {
	r := startRig(t, "unix", nil, "-server", scanner(t))

	// ham
	out, err := pt.Swaks(t, r.pf.Addr(), "--from", "alice@example.net", "--to", "bob@example.com",
		"--header", "Subject: lunch", "--header", "X-Spam-Flag: YES", "--body", "Shall we have lunch?")
	if err != nil {
		t.Fatalf("swaks ham: %v\n%s", err, out)
	}
	// GTUBE to a group that accepts (tagged)
	if out, err := pt.Swaks(t, r.pf.Addr(), "--from", "spammer@example.net", "--to", "bob@example.com",
		"--header", "Subject: gtube one", "--body", gtube); err != nil {
		t.Fatalf("swaks gtube: %v\n%s", err, out)
	}
	// GTUBE to two groups: sales (redirect) and bob (accept)
	if out, err := pt.Swaks(t, r.pf.Addr(), "--from", "spammer@example.net", "--to", "sales@example.com,bob@example.com",
		"--header", "Subject: gtube two", "--body", gtube); err != nil {
		t.Fatalf("swaks gtube two groups: %v\n%s", err, out)
	}
	// GTUBE to a rejecting group only: 550 with the policy text
	out, err = pt.Swaks(t, r.pf.Addr(), "--from", "spammer@example.net", "--to", "boss@example.com",
		"--header", "Subject: gtube reject", "--body", gtube)
	if err == nil || !strings.Contains(out, "550 5.7.1 Spam is not welcome here") {
		t.Errorf("reject: want a 550 with the policy text, got err=%v\n%s", err, out)
	}

	msgs := r.sink.Wait(3, 20*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("delivered %d messages, want 3\n%s", len(msgs), r.pf.Log())
	}
	ham := r.sink.Find("lunch")
	if len(ham) != 1 || ham[0].Header("X-Spamtest-Status-Extended") != "Not detected" || ham[0].Header("X-Spam-Flag") != "" {
		t.Errorf("ham: %d messages, headers:\n%s", len(ham), headOf(ham))
	}
	one := r.sink.Find("gtube one")
	if len(one) != 1 || one[0].Header("Subject") != "[!! SPAM] gtube one" || one[0].Header("X-Spam-Flag") != "YES" {
		t.Errorf("gtube: %s", headOf(one))
	}
	two := r.sink.Find("gtube two")
	if len(two) != 1 || strings.Join(two[0].To, ",") != "bob@example.com,quarantine@example.com" && strings.Join(two[0].To, ",") != "quarantine@example.com,bob@example.com" {
		t.Errorf("two groups: want one copy to bob and quarantine, got %d: %v", len(two), func() []string {
			var s []string
			for _, m := range two {
				s = append(s, strings.Join(m.To, ","))
			}
			return s
		}())
	} else if g := two[0].Headers("X-Spamtest-Group-ID"); len(g) != 2 {
		t.Errorf("two groups: group headers %v", g)
	}
}

func headOf(ms []pt.Delivered) string {
	var b strings.Builder
	for _, m := range ms {
		h, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
		b.WriteString(h + "\n---\n")
	}
	return b.String()
}

// smtpSession speaks SMTP line by line, so the test controls exactly what
// one connection carries.
type smtpSession struct {
	t *testing.T
	c *textproto.Conn
}

func dialSMTP(t *testing.T, addr string) *smtpSession {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	s := &smtpSession{t: t, c: textproto.NewConn(conn)}
	t.Cleanup(func() { s.c.Close() })
	s.expect(220)
	return s
}

func (s *smtpSession) expect(code int) string {
	s.t.Helper()
	_, msg, err := s.c.ReadResponse(code)
	if err != nil {
		s.t.Fatalf("want %d: %v", code, err)
	}
	return msg
}

func (s *smtpSession) cmd(code int, format string, args ...any) string {
	s.t.Helper()
	if err := s.c.PrintfLine(format, args...); err != nil {
		s.t.Fatal(err)
	}
	return s.expect(code)
}

// send transmits one message and returns the server's final reply text.
func (s *smtpSession) send(from string, to []string, msg string) string {
	s.t.Helper()
	s.cmd(250, "MAIL FROM:<%s>", from)
	for _, r := range to {
		s.cmd(250, "RCPT TO:<%s>", r)
	}
	s.cmd(354, "DATA")
	w := s.c.DotWriter()
	w.Write([]byte(msg))
	w.Close()
	return s.expect(250)
}

// TestPostfixMilterSessionMacros sends two messages in one SMTP session
// through a real Postfix and checks that the milter hands the scanner the
// connection data and macros ({client_addr}, HELO, {i}, {auth_authen}) for
// both: this is what emersion/go-milter loses after the first message.
// The scanner is the in-process fake here because the test inspects the
// envelopes the milter sent.
func TestPostfixMilterSessionMacros(t *testing.T) {
	fake := clienttest.Start(t, clienttest.Policy())
	// XCLIENT lets the test pose as a remote, authenticated client.
	r := startRig(t, "inet", map[string]string{"smtpd_authorized_xclient_hosts": "127.0.0.0/8", "mynetworks": "127.0.0.0/8 192.0.2.0/24"}, "-server", fake.Addr)
	s := dialSMTP(t, r.pf.Addr())
	s.cmd(250, "EHLO first.example")
	s.cmd(220, "XCLIENT ADDR=192.0.2.44 NAME=mx.sender.example LOGIN=alice HELO=mx.sender.example")
	s.cmd(250, "EHLO mx.sender.example")
	var ids []string
	for i := 1; i <= 3; i++ {
		reply := s.send("alice@example.net", []string{fmt.Sprintf("rcpt%d@example.com", i)}, fmt.Sprintf("Subject: msg %d\r\n\r\nbody %d\r\n", i, i))
		_, id, _ := strings.Cut(reply, "queued as ")
		ids = append(ids, strings.TrimSpace(id))
	}
	s.cmd(221, "QUIT")
	if n := len(r.sink.Wait(3, 20*time.Second)); n != 3 {
		t.Fatalf("delivered %d, want 3", n)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("scanned %d, want 3", len(reqs))
	}
	for i, req := range reqs {
		env := req.GetEnvelope()
		if env.GetClientIp() != "192.0.2.44" || env.GetClientHostname() != "mx.sender.example" || env.GetHelo() != "mx.sender.example" ||
			env.GetAuthUser() != "alice" || env.GetQueueId() != ids[i] || env.GetMailFrom() != "alice@example.net" ||
			strings.Join(env.GetRcptTo(), ",") != fmt.Sprintf("rcpt%d@example.com", i+1) {
			t.Errorf("message %d (queue id %s): envelope %v", i+1, ids[i], env)
		}
		if !strings.Contains(string(req.GetMessage()), fmt.Sprintf("\r\n\r\nbody %d\r\n", i+1)) {
			t.Errorf("message %d: content %q", i+1, req.GetMessage())
		}
	}
}
