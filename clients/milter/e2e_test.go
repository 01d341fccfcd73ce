package milter_test

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

type rig struct {
	milterAddr string
	pf         *pt.Instance
	sink       *pt.Sink
	milter     *pt.Process
}

// startRig runs sink ← Postfix ← scilla-milter (socket kind "unix" or
// "inet") ← scanner.
func startRig(t testing.TB, kind string, main map[string]string, milterArgs ...string) *rig {
	pt.Require(t)
	bin := pt.Build(t, "./clients/milter/cmd/scilla-milter")
	ports := pt.FreePorts(t, 2) // Postfix, inet milter
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
		port := ports[1]
		listen, check = fmt.Sprintf("inet:127.0.0.1:%d", port), fmt.Sprintf("tcp:127.0.0.1:%d", port)
	}
	r := &rig{sink: pt.StartSink(t, true), milterAddr: listen}
	// The documented main.cf fragment, with the test's socket.
	mainCF := pt.MainSnippet(t, "main.cf.milter", "unix:/scilla/milter.sock", listen)
	for k, v := range main {
		mainCF[k] = v
	}
	r.milter = pt.StartProcess(t, "scilla-milter", check, bin, append([]string{"-listen", listen, "-socket-mode", "0666"}, milterArgs...)...)
	relay := "lmtp:inet:" + r.sink.Addr
	if v, ok := mainCF["relay"]; ok {
		relay = v
		delete(mainCF, "relay")
	}
	r.pf = pt.Start(t, pt.Config{Relay: relay, Main: mainCF, Port: ports[0]})
	return r
}

// TestPostfixMilterEndToEnd runs swaks → Postfix → scilla-milter (unix
// socket) → the real scillad, with the test policy (postfixtest.Policy),
// delivering to an LMTP sink.
func TestPostfixMilterEndToEnd(t *testing.T) {
	pt.Require(t)
	sd := pt.StartScillad(t)
	r := startRig(t, "unix", nil, "-server", sd.Addr)
	send, _ := verdictScenario(t, r.pf.Addr(), r.sink)

	// scillad stopped: the milter tempfails, the sender keeps the mail.
	sd.Kill()
	out, err := send("alice@example.net", "bob@example.com", "while down", "hello")
	if err == nil || !strings.Contains(out, "451 4.7.1") {
		t.Errorf("scillad down: want 451 4.7.1, got err=%v\n%s", err, out)
	}
	if n := r.sink.Count(); n != 4 {
		t.Errorf("scillad down: %d messages delivered, want still 4", n)
	}

	// The milter itself vanishes: Postfix applies milter_default_action
	// (tempfail), the sender keeps the mail.
	r.milter.Kill()
	out, err = send("alice@example.net", "bob@example.com", "milter gone", "hello")
	if err == nil || !strings.Contains(out, "<** 4") {
		t.Errorf("milter gone: want a 4xx, got err=%v\n%s", err, out)
	}
	if n := r.sink.Count(); n != 4 {
		t.Errorf("milter gone: %d messages delivered, want still 4", n)
	}
}

// sender sends one message with swaks to an MTA.
type sender func(from, to, subject, body string, extra ...string) (string, error)

// verdictScenario sends the test policy's (postfixtest.Policy) messages
// through the MTA at addr and checks what reached sink: a ham with a forged
// X-Spam-Flag, GTUBE, a black-listed sender, a message for two groups (one
// redirected to quarantine) and a GTUBE rejected with 550 and the policy's
// text. It returns the sender for further steps and the delivered ham.
func verdictScenario(t *testing.T, addr string, sink *pt.Sink) (send sender, ham pt.Delivered) {
	t.Helper()
	send = func(from, to, subject, body string, extra ...string) (string, error) {
		args := append([]string{"--from", from, "--to", to, "--header", "Subject: " + subject, "--body", body}, extra...)
		return pt.Swaks(t, addr, args...)
	}
	mustSend := func(from, to, subject, body string, extra ...string) {
		t.Helper()
		if out, err := send(from, to, subject, body, extra...); err != nil {
			t.Fatalf("swaks %q: %v\n%s", subject, err, out)
		}
	}
	mustSend("alice@example.net", "bob@example.com", "lunch", "Shall we have lunch on Friday?", "--header", "X-Spam-Flag: YES")
	mustSend("spammer@example.net", "bob@example.com", "gtube one", gtube)
	mustSend("bulk@spammer.test", "bob@example.com", "black listed", "Buy now")
	mustSend("spammer@example.net", "sales@example.com,bob@example.com", "gtube two groups", gtube)
	out, err := send("spammer@example.net", "boss@example.com", "gtube reject", gtube)
	if err == nil || !strings.Contains(out, "550 5.7.1 Spam is not welcome here") {
		t.Errorf("reject: want a 550 with the policy text, got err=%v\n%s", err, out)
	}

	msgs := sink.Wait(4, 20*time.Second)
	if len(msgs) != 4 {
		t.Fatalf("delivered %d messages, want 4\n%s", len(msgs), headOf(msgs))
	}
	check := func(subject string, want map[string]string) pt.Delivered {
		t.Helper()
		got := sink.Find(subject)
		if len(got) != 1 {
			t.Errorf("%q: %d copies delivered, want 1", subject, len(got))
			return pt.Delivered{}
		}
		for k, v := range want {
			// A value ending in "*" is a prefix: the report lists GTUBE
			// first, then whatever the content database adds.
			h := strings.Join(got[0].Headers(k), " | ")
			if p, ok := strings.CutSuffix(v, "*"); ok && strings.HasPrefix(h, p) {
				continue
			}
			if h != v {
				t.Errorf("%q: %s = %q, want %q\n%s", subject, k, h, v, headOf(got))
			}
		}
		return got[0]
	}
	ham = check("lunch", map[string]string{"Subject": "lunch", "X-Spamtest-Status-Extended": "Not detected", "X-Spam-Flag": "NO", "X-Spamtest-Group-ID": "00000001"})
	check("gtube one", map[string]string{"Subject": "[!! SPAM] gtube one", "X-Spamtest-Status-Extended": "SPAM", "X-Spam-Flag": "YES", "X-Spamtest-Report": "GTUBE=1000*"})
	check("black listed", map[string]string{"Subject": "[!! Blacklisted] black listed", "X-Spamtest-Status-Extended": "Blacklisted"})
	two := check("gtube two groups", map[string]string{"Subject": "[!! SPAM] gtube two groups"})
	if g := append([]string(nil), two.Headers("X-Spamtest-Group-ID")...); len(g) != 2 || g[0]+g[1] != "0000000300000001" && g[0]+g[1] != "0000000100000003" {
		t.Errorf("two groups: X-Spamtest-Group-ID = %v, want one per group", g)
	}
	if to := strings.Join(two.To, ","); to != "bob@example.com,quarantine@example.com" && to != "quarantine@example.com,bob@example.com" {
		t.Errorf("two groups: delivered to %s, want bob and quarantine (sales redirected)", to)
	}
	return send, ham
}

// TestPostfixMilterOnErrorAccept: with on_error accept and no scillad,
// mail is delivered tagged Not processed.
func TestPostfixMilterOnErrorAccept(t *testing.T) {
	pt.Require(t)
	r := startRig(t, "inet", nil, "-server", fmt.Sprintf("tcp:127.0.0.1:%d", pt.FreePort(t)), "-on-error", "accept", "-connect-timeout", "1s")
	notProcessedScenario(t, r.pf.Addr(), r.sink)
}

// notProcessedScenario sends one message with a forged X-SpamTest-Info
// through the MTA at addr, whose milter cannot reach a scanner and accepts
// on error, and checks that sink got it tagged Not processed (the forged
// tag replaced).
func notProcessedScenario(t *testing.T, addr string, sink *pt.Sink) {
	t.Helper()
	if out, err := pt.Swaks(t, addr, "--from", "a@example.net", "--to", "bob@example.com", "--header", "Subject: unscanned", "--header", "X-SpamTest-Info: forged"); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	m := sink.Wait(1, 20*time.Second)
	if len(m) != 1 || strings.Join(m[0].Headers("X-SpamTest-Info"), "|") != "Not processed" {
		t.Fatalf("want one message tagged Not processed, got %d\n%s", len(m), headOf(m))
	}
}

// TestPostfixMilterFailover sends mail through Postfix with two scillads
// behind the milter and kills one mid-run: every message must be delivered
// and scanned by the survivor; none lost.
func TestPostfixMilterFailover(t *testing.T) {
	pt.Require(t)
	source, err := exec.LookPath("smtp-source")
	if err != nil {
		t.Skip("needs smtp-source (Debian package postfix)")
	}
	a, b := pt.StartScillad(t), pt.StartScillad(t)
	r := startRig(t, "inet", nil, "-server", a.Addr+","+b.Addr, "-connect-timeout", "1s")
	const n = 200
	done := make(chan error, 1)
	var srcOut []byte
	go func() {
		var err error
		srcOut, err = exec.Command(source, "-s", "4", "-m", fmt.Sprint(n), "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput()
		done <- err
	}()
	for r.sink.Count() < n/4 {
		time.Sleep(5 * time.Millisecond)
	}
	a.Kill()
	killedAt := r.sink.Count()
	if err := <-done; err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, srcOut)
	}
	msgs := r.sink.Wait(n, 60*time.Second)
	if len(msgs) != n {
		t.Fatalf("delivered %d of %d messages", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Header("X-Spamtest-Version") == "" || len(m.Headers("X-SpamTest-Info")) > 0 {
			t.Fatalf("message %d not scanned: %s", i, headOf([]pt.Delivered{m}))
		}
	}
	t.Logf("%d messages delivered and scanned; scillad A killed after %d", n, killedAt)
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
