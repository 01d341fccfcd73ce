package pipe_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// pipeRig is one Postfix with scilla-pipe wired in three ways, all
// re-injecting on one unfiltered smtpd and relaying to one LMTP sink:
//
//	pf.Port    content_filter=scilla:[127.0.0.1]:smtpPipe  (SMTP in, merged)
//	lmtpPort   content_filter=scillalmtp:inet:...:lmtpPipe (LMTP in, split)
//	proxyPort  smtpd_proxy_filter=127.0.0.1:smtpPipe        (before queue)
//	acceptPort content_filter to a pipe with on-error accept and no server
type pipeRig struct {
	pf                              *pt.Instance
	sink                            *pt.Sink
	smtpPipe                        *pt.Process
	lmtpPort, proxyPort, acceptPort int
}

func startPipeRig(t *testing.T, server string) *pipeRig {
	pt.Require(t)
	bin := pt.Build(t, "./clients/pipe/cmd/scilla-pipe")
	r := &pipeRig{sink: pt.StartSink(t, true)}
	ports := pt.FreePorts(t, 9)
	reinject, smtpIn, lmtpIn, acceptIn, deadServer, port := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	r.lmtpPort, r.proxyPort, r.acceptPort = ports[6], ports[7], ports[8]
	next := fmt.Sprintf("smtp:127.0.0.1:%d", reinject)
	listen := func(p int) string { return fmt.Sprintf("tcp:127.0.0.1:%d", p) }
	r.smtpPipe = pt.StartProcess(t, "scilla-pipe smtp", listen(smtpIn), bin, "-listen", listen(smtpIn), "-next", next, "-server", server, "-hostname", "pipe.test")
	pt.StartProcess(t, "scilla-pipe lmtp", listen(lmtpIn), bin, "-listen", listen(lmtpIn), "-lmtp", "-split", "-next", next, "-server", server, "-hostname", "pipe.test")
	pt.StartProcess(t, "scilla-pipe accept", listen(acceptIn), bin, "-listen", listen(acceptIn), "-next", next,
		"-server", fmt.Sprintf("tcp:127.0.0.1:%d", deadServer), "-on-error", "accept", "-connect-timeout", "1s")
	// The documented master.cf fragments (deploy/postfix), with the test's
	// ports and without chroot, plus the test's extra listeners.
	stock := "smtp      inet  n       -       y       -       -       smtpd"
	master := pt.Snippet(t, "master.cf.content-filter", stock, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", port),
		"10025", fmt.Sprint(smtpIn), "10026", fmt.Sprint(reinject))
	proxy := pt.Snippet(t, "master.cf.proxy-filter", stock, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", r.proxyPort), "10025", fmt.Sprint(smtpIn))
	master = append(append(master, proxy...),
		fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o content_filter=scillalmtp:inet:127.0.0.1:%d", r.lmtpPort, lmtpIn),
		fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o content_filter=scilla:[127.0.0.1]:%d", r.acceptPort, acceptIn),
	)
	r.pf = pt.Start(t, pt.Config{Relay: "lmtp:inet:" + r.sink.Addr, Port: port, NoSMTPD: true, Master: master})
	return r
}

func (r *pipeRig) swaks(t *testing.T, port int, from, to, subject, body string) (string, error) {
	t.Helper()
	return pt.Swaks(t, fmt.Sprintf("127.0.0.1:%d", port), "--from", from, "--to", to, "--header", "Subject: "+subject, "--header", "X-Spam-Flag: forged", "--body", body)
}

func (r *pipeRig) mustSwaks(t *testing.T, port int, from, to, subject, body string) {
	t.Helper()
	if out, err := r.swaks(t, port, from, to, subject, body); err != nil {
		t.Fatalf("swaks %q: %v\n%s", subject, err, out)
	}
}

// TestPostfixPipeEndToEnd runs swaks → Postfix → scilla-pipe → the real
// scillad → Postfix re-injection → LMTP sink.
func TestPostfixPipeEndToEnd(t *testing.T) {
	pt.Require(t)
	sd := pt.StartScillad(t)
	r := startPipeRig(t, sd.Addr)
	p := r.pf.Port

	r.mustSwaks(t, p, "alice@example.net", "bob@example.com", "lunch", "Shall we have lunch?")
	r.mustSwaks(t, p, "spammer@example.net", "bob@example.com", "gtube one", gtube)
	r.mustSwaks(t, p, "bulk@spammer.test", "bob@example.com", "black listed", "Buy now")
	r.mustSwaks(t, p, "spammer@example.net", "sales@example.com,bob@example.com", "merged two groups", gtube)
	r.mustSwaks(t, p, "spammer@example.net", "boss@example.com,bob@example.com", "partial reject smtp", gtube)
	r.mustSwaks(t, r.lmtpPort, "spammer@example.net", "sales@example.com,bob@example.com", "split two groups", gtube)
	r.mustSwaks(t, r.lmtpPort, "spammer@example.net", "boss@example.com,bob@example.com", "partial reject lmtp", gtube)
	out, err := r.swaks(t, r.proxyPort, "spammer@example.net", "boss@example.com", "proxy reject", gtube)
	if err == nil || !strings.Contains(out, "550 5.7.1 Spam is not welcome here") {
		t.Errorf("proxy filter reject: want 550 with the policy text, got %v\n%s", err, out)
	}
	r.mustSwaks(t, r.acceptPort, "alice@example.net", "bob@example.com", "unscanned", "hello")

	// lunch, gtube one, black listed, merged (1), partial smtp (bob + DSN),
	// split (2), partial lmtp (bob + Postfix's bounce), unscanned.
	const want = 11
	msgs := r.sink.Wait(want, 30*time.Second)
	if len(msgs) != want {
		t.Fatalf("delivered %d messages, want %d:\n%s", len(msgs), want, summary(msgs))
	}
	one := func(subject string) []pt.Delivered {
		t.Helper()
		got := r.sink.Find(subject)
		if len(got) == 0 {
			t.Errorf("%q: nothing delivered", subject)
		}
		return got
	}
	hdr := func(d pt.Delivered, name string) string { return strings.Join(d.Headers(name), " | ") }
	if m := one("lunch"); len(m) == 1 && (hdr(m[0], "X-Spamtest-Status-Extended") != "Not detected" || hdr(m[0], "X-Spam-Flag") != "NO") {
		t.Errorf("ham: %s", summary(m))
	}
	if m := one("gtube one"); len(m) == 1 && (hdr(m[0], "Subject") != "[!! SPAM] gtube one" || hdr(m[0], "X-Spam-Flag") != "YES") {
		t.Errorf("gtube: %s", summary(m))
	}
	if m := one("black listed"); len(m) == 1 && hdr(m[0], "X-Spamtest-Status-Extended") != "Blacklisted" {
		t.Errorf("black list: %s", summary(m))
	}
	if m := one("merged two groups"); len(m) != 1 || rcpts(m[0]) != "bob@example.com,quarantine@example.com" || sorted(m[0].Headers("X-Spamtest-Group-ID")) != "00000001,00000003" {
		t.Errorf("merged: want one copy to bob and quarantine with both group ids:\n%s", summary(m))
	}
	if m := one("split two groups"); len(m) != 2 || rcpts(m[0])+" "+rcpts(m[1]) != "quarantine@example.com bob@example.com" && rcpts(m[0])+" "+rcpts(m[1]) != "bob@example.com quarantine@example.com" {
		t.Errorf("split: want a copy for quarantine and one for bob:\n%s", summary(m))
	} else {
		for _, c := range m {
			if g := hdr(c, "X-Spamtest-Group-ID"); (rcpts(c) == "bob@example.com") != (g == "00000001") {
				t.Errorf("split copy to %s has group ids %q", rcpts(c), g)
			}
		}
	}
	for _, s := range []string{"partial reject smtp", "partial reject lmtp"} {
		if m := one(s); len(m) != 1 || rcpts(m[0]) != "bob@example.com" {
			t.Errorf("%s: want only bob's copy:\n%s", s, summary(m))
		}
	}
	// The refused recipient is reported to the sender, never lost: by the
	// pipe's DSN (SMTP in) or by Postfix from the per-recipient LMTP reply.
	var dsns []pt.Delivered
	for _, m := range msgs {
		if rcpts(m) == "spammer@example.net" {
			dsns = append(dsns, m)
		}
	}
	if len(dsns) != 2 {
		t.Errorf("want 2 bounces to the sender, got %d:\n%s", len(dsns), summary(msgs))
	}
	for _, d := range dsns {
		if !strings.Contains(string(d.Data), "boss@example.com") || !strings.Contains(string(d.Data), "Spam is not welcome here") {
			t.Errorf("bounce does not name the refused recipient and the policy text:\n%s", d.Data)
		}
	}
	if m := one("unscanned"); len(m) == 1 && hdr(m[0], "X-SpamTest-Info") != "Not processed" {
		t.Errorf("on-error accept: %s", summary(m))
	}

	// scillad stopped: Postfix accepted, the pipe tempfails, the mail stays
	// queued; once scillad is back it is delivered. Nothing is lost.
	sd.Kill()
	r.mustSwaks(t, p, "alice@example.net", "bob@example.com", "while down", "hello")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(r.pf.Log(), "451 4.7.1") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(r.pf.Log(), "451 4.7.1") || r.pf.Queued() != 1 || len(r.sink.Find("while down")) != 0 {
		t.Fatalf("scillad down: want the mail deferred with 451 4.7.1 and queued; queued=%d delivered=%d", r.pf.Queued(), len(r.sink.Find("while down")))
	}
	sd.Start()
	r.pf.Flush()
	deadline = time.Now().Add(30 * time.Second)
	for len(r.sink.Find("while down")) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if m := r.sink.Find("while down"); len(m) != 1 || hdr(m[0], "X-Spamtest-Status-Extended") != "Not detected" {
		t.Errorf("after scillad came back: %s", summary(m))
	}
}

// TestPostfixPipeXForward checks that the pipe learns the real client from
// Postfix's XFORWARD. The scanner is the in-process fake because the test
// inspects the envelope the pipe sent.
func TestPostfixPipeXForward(t *testing.T) {
	pt.Require(t)
	fake := clienttest.Start(t, clienttest.Policy())
	r := startPipeRig(t, fake.Addr)
	r.mustSwaks(t, r.pf.Port, "alice@example.net", "bob@example.com", "xforward", "hi")
	r.mustSwaks(t, r.lmtpPort, "alice@example.net", "bob@example.com", "xforward lmtp", "hi")
	if n := len(r.sink.Wait(2, 20*time.Second)); n != 2 {
		t.Fatalf("delivered %d", n)
	}
	for _, req := range fake.Requests() {
		env := req.GetEnvelope()
		if env.GetClientIp() != "127.0.0.1" || env.GetClientHostname() != "localhost" || env.GetHelo() == "" || env.GetHelo() == "pipe.test" || len(env.GetQueueId()) < 8 {
			t.Errorf("envelope from XFORWARD = %v", env)
		}
	}
}

func sorted(s []string) string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return strings.Join(s, ",")
}

func rcpts(d pt.Delivered) string { return strings.Join(d.To, ",") }

func summary(ms []pt.Delivered) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "to=%s subject=%q groups=%v\n", rcpts(m), m.Header("Subject"), m.Headers("X-Spamtest-Group-ID"))
	}
	return b.String()
}
