//go:build linux

package milter_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
	smt "github.com/scilla-mail/scilla/clients/internal/sendmailtest"
)

// sendmailRig is sink ← Sendmail ← scilla-milter (unix socket) ← scanner,
// with Sendmail built from deploy/sendmail/scilla.mc.
type sendmailRig struct {
	sm     *smt.Instance
	sink   *pt.Sink
	milter *pt.Process
}

func startSendmailRig(t *testing.T, milterArgs ...string) *sendmailRig {
	t.Helper()
	smt.Require(t)
	bin := pt.Build(t, "./clients/milter/cmd/scilla-milter")
	dir, err := os.MkdirTemp("", "scilla-smm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := "unix:" + filepath.Join(dir, "milter.sock")
	r := &sendmailRig{sink: pt.StartSink(t, false)}
	// The socket mode of the snippet's comment: Sendmail runs as root here.
	r.milter = pt.StartProcess(t, "scilla-milter", sock, bin, append([]string{"-listen", sock, "-socket-mode", "0660"}, milterArgs...)...)
	// The documented snippet verbatim, with the test's socket.
	mc := smt.Snippet(t, "scilla.mc", "unix:/run/scilla/milter.sock", sock)
	r.sm = smt.Start(t, smt.Config{MC: mc, Relay: r.sink.Addr})
	return r
}

func requireSwaks(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("sendmail end-to-end test needs swaks (Debian package swaks; .ci/install.d/30-postfix.sh installs it)")
	}
}

// TestSendmailMilterEndToEnd runs swaks → Sendmail (INPUT_MAIL_FILTER from
// deploy/sendmail/scilla.mc) → scilla-milter → the real scillad, with the
// policy of the Postfix test (postfixtest.Policy), relaying to an SMTP
// sink. It checks what TestPostfixMilterEndToEnd checks.
func TestSendmailMilterEndToEnd(t *testing.T) {
	smt.Require(t)
	requireSwaks(t)
	sd := pt.StartScillad(t)
	r := startSendmailRig(t, "-server", sd.Addr)
	send, lunch := verdictScenario(t, r.sm.Addr(), r.sink)
	if rcv := lunch.Header("Received"); !strings.Contains(rcv, "by "+smt.Hostname) {
		t.Errorf("lunch: not received by the test Sendmail: Received: %s", rcv)
	}

	// scillad stopped: the milter tempfails, the sender keeps the mail.
	sd.Kill()
	out, err := send("alice@example.net", "bob@example.com", "while down", "hello")
	if err == nil || !strings.Contains(out, "451 4.7.1") {
		t.Errorf("scillad down: want 451 4.7.1, got err=%v\n%s", err, out)
	}

	// The milter itself vanishes: F=T makes Sendmail tempfail the
	// transaction (it cannot connect to the socket), the sender keeps the
	// mail.
	r.milter.Kill()
	out, err = send("alice@example.net", "bob@example.com", "milter gone", "hello")
	if err == nil || !strings.Contains(out, "<** 4") {
		t.Errorf("milter gone: want a 4xx, got err=%v\n%s", err, out)
	}
	// Nothing stays in Sendmail's queue: the delivered messages leave it
	// (their delivery may still be finishing), the tempfailed ones never
	// entered it. Once it is empty, every accepted message has reached the
	// sink, so the count is final.
	for deadline := time.Now().Add(10 * time.Second); r.sm.Queued() != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := r.sm.Queued(); n != 0 {
		t.Errorf("Sendmail holds %d messages in its queue, want 0", n)
	}
	if n := r.sink.Count(); n != 4 {
		t.Errorf("after the failures: %d messages delivered, want still 4", n)
	}
}

// TestSendmailMilterOnErrorAccept: with on_error accept and no scillad,
// Sendmail delivers the mail tagged Not processed (the forged tag removed).
func TestSendmailMilterOnErrorAccept(t *testing.T) {
	smt.Require(t)
	requireSwaks(t)
	r := startSendmailRig(t, "-server", fmt.Sprintf("tcp:127.0.0.1:%d", pt.FreePort(t)), "-on-error", "accept", "-connect-timeout", "1s")
	notProcessedScenario(t, r.sm.Addr(), r.sink)
}

// TestSendmailMilterSessionMacros sends three messages in one SMTP session
// through Sendmail and checks that the milter hands the scanner the
// connection data and the macros Sendmail sends under the snippet's
// confMILTER_MACROS_* lists for each: client address and name, HELO, queue
// id ({i}), envelope. The scanner is the in-process fake because the test
// inspects the envelopes. (The authenticated user needs SASL set up in
// Sendmail; the Postfix test covers {auth_authen}.)
func TestSendmailMilterSessionMacros(t *testing.T) {
	smt.Require(t)
	fake := clienttest.Start(t, clienttest.Policy())
	r := startSendmailRig(t, "-server", fake.Addr)
	s := dialSMTP(t, r.sm.Addr())
	s.cmd(250, "EHLO mx.sender.example")
	queued := regexp.MustCompile(`^2\.0\.0 (\S+) Message accepted for delivery`)
	var ids []string
	for i := 1; i <= 3; i++ {
		reply := s.send("alice@example.net", []string{fmt.Sprintf("rcpt%d@example.com", i)}, fmt.Sprintf("Subject: msg %d\r\n\r\nbody %d\r\n", i, i))
		m := queued.FindStringSubmatch(reply)
		if m == nil {
			t.Fatalf("message %d: reply %q has no queue id", i, reply)
		}
		ids = append(ids, m[1])
	}
	s.cmd(221, "QUIT")
	msgs := r.sink.Wait(3, 20*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("delivered %d, want 3", len(msgs))
	}
	// Sendmail's Received line names the client as it saw it:
	// "from HELO (NAME [ADDR])".
	rcvd := regexp.MustCompile(`^from (\S+) \((\S*) ?\[([0-9.]+)\]\)`)
	m := rcvd.FindStringSubmatch(msgs[0].Header("Received"))
	if m == nil {
		t.Fatalf("cannot read the client from Received: %q", msgs[0].Header("Received"))
	}
	helo, name, addr := m[1], m[2], m[3]
	if helo != "mx.sender.example" || addr != "127.0.0.1" {
		t.Fatalf("Received: %q: want HELO mx.sender.example from 127.0.0.1", msgs[0].Header("Received"))
	}
	reqs := fake.Requests()
	t.Logf("Sendmail's client: HELO %s, name %q, address %s; queue ids %v", helo, name, addr, ids)
	if len(reqs) != 3 {
		t.Fatalf("scanned %d, want 3", len(reqs))
	}
	for i, req := range reqs {
		env := req.GetEnvelope()
		if env.GetClientIp() != addr || env.GetClientHostname() != name || env.GetHelo() != helo ||
			env.GetQueueId() != ids[i] || req.GetRequestId() != ids[i] || env.GetMailFrom() != "alice@example.net" ||
			strings.Join(env.GetRcptTo(), ",") != fmt.Sprintf("rcpt%d@example.com", i+1) {
			t.Errorf("message %d (queue id %s, client %s [%s]): envelope %v", i+1, ids[i], name, addr, env)
		}
		if !strings.Contains(string(req.GetMessage()), fmt.Sprintf("\r\n\r\nbody %d\r\n", i+1)) {
			t.Errorf("message %d: content %q", i+1, req.GetMessage())
		}
	}
}
