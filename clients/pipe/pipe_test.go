package pipe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

var rules = []clienttest.Rule{
	{Prefix: "boss@", Action: scillav1.Action_ACTION_REJECT, Text: "Spam is not welcome here"},
	{Prefix: "sales@", Action: scillav1.Action_ACTION_REDIRECT, To: []string{"quarantine@example.com"}},
	{Prefix: "junk@", Action: scillav1.Action_ACTION_DELETE},
}

// TestMain doubles as the exec: next hop: with SCILLA_PIPE_EXEC_SINK set,
// the test binary speaks SMTP on stdin/stdout and appends what it receives
// to that file, like "sendmail -bs" would queue it.
func TestMain(m *testing.M) {
	if path := os.Getenv("SCILLA_PIPE_EXEC_SINK"); path != "" {
		srv := &smtpserver.Server{Hostname: "exec.test", MaxSize: 1 << 20, MaxRecipients: 10, Handler: fileSink(path)}
		srv.ServeConn(os.Stdin, os.Stdout, "stdin")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type fileSink string

func (f fileSink) Deliver(_ context.Context, env *smtpserver.Envelope, msg []byte) []smtpserver.Reply {
	fh, err := os.OpenFile(string(f), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return []smtpserver.Reply{{Code: 451, Text: err.Error()}}
	}
	defer fh.Close()
	fmt.Fprintf(fh, "FROM %s TO %s\n%s", env.From, strings.Join(env.Rcpts, ","), msg)
	return []smtpserver.Reply{{Code: 250, Enhanced: "2.0.0", Text: "queued"}}
}

type rig struct {
	sink   *pt.Sink
	fake   *clienttest.Server
	addr   string
	inLMTP bool
}

// start runs pipe (SMTP or LMTP in) → sink (SMTP), scanning on a fake.
func start(t *testing.T, lmtp, split bool, settings func(*clients.Settings), target string) *rig {
	t.Helper()
	r := &rig{sink: pt.StartSink(t, false), fake: clienttest.Start(t, clienttest.Policy(rules...)), inLMTP: lmtp}
	s := clients.DefaultSettings()
	s.Servers = []string{r.fake.Addr}
	s.ConnectTimeout, s.DataTimeout = time.Second, 2*time.Second
	if settings != nil {
		settings(&s)
	}
	c, err := clients.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if target == "" {
		target = "smtp:" + r.sink.Addr
	}
	tg, err := ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	p := New(c, &Deliverer{Target: tg, Hostname: "pipe.test", Timeout: 10 * time.Second}, Config{Split: split, Hostname: "pipe.test"}, nil)
	srv := &smtpserver.Server{Hostname: "pipe.test", LMTP: lmtp, MaxSize: 1 << 20, MaxRecipients: 100, ReadTimeout: 10 * time.Second, Handler: p}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	r.addr = ln.Addr().String()
	return r
}

// send runs one transaction and returns the reply lines after DATA.
func (r *rig) send(t *testing.T, from string, rcpts []string, msg string) []string {
	t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	hello := "EHLO"
	if r.inLMTP {
		hello = "LHLO"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s mta.test\r\nXFORWARD ADDR=192.0.2.9 NAME=mx.example.net HELO=mx.example.net IDENT=Q123\r\nMAIL FROM:<%s>\r\n", hello, from)
	for _, rc := range rcpts {
		fmt.Fprintf(&b, "RCPT TO:<%s>\r\n", rc)
	}
	b.WriteString("DATA\r\n")
	// PIPELINING allows everything up to DATA in one go.
	c.Write([]byte(b.String()))
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for !bytes.Contains(buf, []byte("354 ")) {
		n, err := c.Read(tmp)
		if err != nil {
			t.Fatalf("before DATA: %v %q", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	c.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n") + "\r\n.\r\nQUIT\r\n"))
	rest := new(bytes.Buffer)
	rest.ReadFrom(c)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(rest.String()), "\r\n") {
		if !strings.HasPrefix(l, "221") {
			out = append(out, l)
		}
	}
	return out
}

func TestPipe(t *testing.T) {
	spam := "From: s@example.net\nSubject: offer\nX-Spam-Flag: YES\n\n" + gtube
	ham := "From: a@example.net\nSubject: lunch\n\nhello"
	type want struct {
		to      string // envelope recipients of the copy
		subject string
		groups  string // X-Spamtest-Group-ID values
	}
	tests := []struct {
		name    string
		lmtp    bool
		split   bool
		rcpts   []string
		msg     string
		replies string
		copies  []want
	}{
		{name: "ham", rcpts: []string{"bob@example.com"}, msg: ham, replies: "250",
			copies: []want{{"bob@example.com", "lunch", "00000001"}}},
		{name: "merged redirect", rcpts: []string{"sales@example.com", "bob@example.com"}, msg: spam, replies: "250",
			copies: []want{{"quarantine@example.com,bob@example.com", "[!! SPAM] offer", "00000003,00000001"}}},
		{name: "split redirect", split: true, rcpts: []string{"sales@example.com", "bob@example.com"}, msg: spam, replies: "250",
			copies: []want{{"quarantine@example.com", "[!! SPAM] offer", "00000003"}, {"bob@example.com", "[!! SPAM] offer", "00000001"}}},
		{name: "lmtp per-recipient reject", lmtp: true, split: true, rcpts: []string{"boss@example.com", "bob@example.com", "junk@example.com"}, msg: spam,
			replies: "550 250 250", copies: []want{{"bob@example.com", "[!! SPAM] offer", "00000001"}}},
		{name: "smtp partial reject bounces", rcpts: []string{"boss@example.com", "bob@example.com"}, msg: spam, replies: "250",
			copies: []want{{"bob@example.com", "[!! SPAM] offer", "00000002,00000001"}, {"sender@example.net", "Undelivered Mail Returned to Sender", ""}}},
		{name: "all rejected", rcpts: []string{"boss@example.com"}, msg: spam, replies: "550"},
		{name: "all deleted", rcpts: []string{"junk@example.com"}, msg: spam, replies: "250"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, tt.lmtp, tt.split, nil, "")
			replies := r.send(t, "sender@example.net", tt.rcpts, tt.msg)
			var codes []string
			for _, l := range replies {
				codes = append(codes, l[:3])
			}
			if got := strings.Join(codes, " "); got != tt.replies {
				t.Errorf("replies = %q, want codes %s", replies, tt.replies)
			}
			if tt.replies == "550" && !strings.Contains(replies[0], "550 5.7.1 Spam is not welcome here") {
				t.Errorf("reject text: %q", replies)
			}
			r.sink.Wait(len(tt.copies), 5*time.Second)
			time.Sleep(50 * time.Millisecond)
			got := r.sink.Messages()
			if len(got) != len(tt.copies) {
				t.Fatalf("delivered %d copies, want %d", len(got), len(tt.copies))
			}
			for i, w := range tt.copies {
				d := got[i]
				if strings.Join(d.To, ",") != w.to || d.Header("Subject") != w.subject || strings.Join(d.Headers("X-Spamtest-Group-ID"), ",") != w.groups {
					t.Errorf("copy %d: to %v subject %q groups %v; want %+v", i, d.To, d.Header("Subject"), d.Headers("X-Spamtest-Group-ID"), w)
				}
				if strings.Contains(w.subject, "SPAM") && len(d.Headers("X-Spam-Flag")) != 1 {
					t.Errorf("copy %d: forged X-Spam-Flag not replaced: %v", i, d.Headers("X-Spam-Flag"))
				}
			}
			env := r.fake.Requests()[0].GetEnvelope()
			if env.GetClientIp() != "192.0.2.9" || env.GetClientHostname() != "mx.example.net" || env.GetQueueId() != "Q123" || env.GetMtaKind() != scillav1.MtaKind_MTA_KIND_PIPE {
				t.Errorf("scan envelope from XFORWARD = %v", env)
			}
		})
	}
}

func TestPipeFailures(t *testing.T) {
	ham := "Subject: x\n\nhello"
	t.Run("scanner down tempfails", func(t *testing.T) {
		r := start(t, false, false, func(s *clients.Settings) { s.Servers = []string{deadAddr(t)} }, "")
		if got := r.send(t, "a@x", []string{"bob@example.com"}, ham); len(got) != 1 || !strings.HasPrefix(got[0], "451 4.7.1") {
			t.Errorf("replies = %q", got)
		}
		if r.sink.Count() != 0 {
			t.Error("delivered although not scanned")
		}
	})
	t.Run("scanner down, accept tags", func(t *testing.T) {
		r := start(t, false, false, func(s *clients.Settings) { s.Servers = []string{deadAddr(t)}; s.OnError = clients.OnErrorAccept }, "")
		if got := r.send(t, "a@x", []string{"bob@example.com"}, ham); len(got) != 1 || !strings.HasPrefix(got[0], "250") {
			t.Errorf("replies = %q", got)
		}
		if m := r.sink.Wait(1, 5*time.Second); len(m) != 1 || m[0].Header("X-SpamTest-Info") != "Not processed" {
			t.Errorf("delivered %d, info %q", len(m), m)
		}
	})
	t.Run("next hop down tempfails", func(t *testing.T) {
		r := start(t, true, false, nil, "smtp:"+strings.TrimPrefix(deadAddr(t), "tcp:"))
		got := r.send(t, "a@x", []string{"bob@example.com", "carol@example.com"}, ham)
		if len(got) != 2 || !strings.HasPrefix(got[0], "451 4.4.1") || !strings.HasPrefix(got[1], "451 4.4.1") {
			t.Errorf("replies = %q", got)
		}
	})
	t.Run("exec next hop", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "queued")
		t.Setenv("SCILLA_PIPE_EXEC_SINK", out)
		r := start(t, false, false, nil, "exec:"+os.Args[0])
		if got := r.send(t, "a@x", []string{"bob@example.com"}, ham); len(got) != 1 || !strings.HasPrefix(got[0], "250") {
			t.Fatalf("replies = %q", got)
		}
		b, _ := os.ReadFile(out)
		if !strings.HasPrefix(string(b), "FROM a@x TO bob@example.com\nSubject: x\r\nX-Spamtest-Status-Extended: Not detected\r\n") {
			t.Errorf("exec next hop got %q", b)
		}
	})
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "tcp:" + ln.Addr().String()
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"smtp:127.0.0.1:10026": "smtp:127.0.0.1:10026", "lmtp:[::1]:24": "lmtp:[::1]:24", "lmtp:unix:/run/dovecot/lmtp": "lmtp:unix:/run/dovecot/lmtp",
		"smtp:inet:localhost:25": "smtp:localhost:25", "exec:/usr/sbin/sendmail -bs": "exec:/usr/sbin/sendmail -bs",
	} {
		tg, err := ParseTarget(in)
		if err != nil || tg.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, tg, err, want)
		}
	}
	for _, in := range []string{"", "smtp:", "smtp:host", "exec:", "http://x"} {
		if _, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted", in)
		}
	}
}
