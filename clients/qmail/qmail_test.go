package qmail_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/clients/clienttest"
	"github.com/scilla-mail/scilla/clients/qmail"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// The test binary doubles as the "original qmail-queue": with
// FAKE_QQ_DIR set it reads the message to EOF, then the envelope, and
// records both (and whether QMAILQUEUE leaked into its environment).
func TestMain(m *testing.M) {
	if dir := os.Getenv("FAKE_QQ_DIR"); dir != "" {
		os.Exit(fakeQmailQueue(dir))
	}
	code := m.Run()
	if scillaQmail != "" {
		os.RemoveAll(filepath.Dir(scillaQmail))
	}
	os.Exit(code)
}

func fakeQmailQueue(dir string) int {
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		return 54
	}
	env, err := qmail.ReadEnvelope(os.Stdout)
	if err != nil {
		return 91
	}
	if code, _ := strconv.Atoi(os.Getenv("FAKE_QQ_EXIT")); code != 0 {
		return code
	}
	f, err := os.CreateTemp(dir, "q*.msg")
	if err != nil {
		return 53
	}
	f.Write(msg)
	f.Close()
	base := strings.TrimSuffix(f.Name(), ".msg")
	os.WriteFile(base+".env", env.Bytes(), 0o644)
	os.WriteFile(base+".qmailqueue", []byte(os.Getenv("QMAILQUEUE")), 0o644)
	return 0
}

var scillaQmail string

func binary(t testing.TB) string {
	t.Helper()
	if scillaQmail == "" {
		dir, err := os.MkdirTemp("", "scilla-qmail-bin")
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "scilla-qmail")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/scilla-qmail").CombinedOutput()
		if err != nil {
			t.Fatalf("build scilla-qmail: %v\n%s", err, out)
		}
		scillaQmail = bin
	}
	return scillaQmail
}

// queued is one recorded run of the fake original qmail-queue.
type queued struct {
	msg        string
	env        *qmail.Envelope
	qmailqueue string
}

func readQueue(t *testing.T, dir string) []queued {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.msg"))
	sort.Strings(files)
	var out []queued
	for _, f := range files {
		base := strings.TrimSuffix(f, ".msg")
		msg, _ := os.ReadFile(f)
		rawEnv, _ := os.ReadFile(base + ".env")
		env, err := qmail.ReadEnvelope(bytes.NewReader(rawEnv))
		if err != nil {
			t.Fatalf("recorded envelope %s: %v", base, err)
		}
		qq, _ := os.ReadFile(base + ".qmailqueue")
		out = append(out, queued{string(msg), env, string(qq)})
	}
	// Order by first recipient: runs are sequential but temp names random.
	sort.Slice(out, func(i, j int) bool { return out[i].env.To[0] < out[j].env.To[0] })
	return out
}

type setup struct {
	server    string // scillad address
	onError   string
	queueExit int
	queuePath string
	fd6       bool
	extraEnv  []string
}

type outcome struct {
	code   int
	fd6    string
	queue  []queued
	stderr string
}

// smtpd drives scilla-qmail the way qmail-smtpd drives qmail-queue: the
// message on descriptor 0, written and closed, then the envelope on
// descriptor 1; optionally descriptor 6 for the custom error reply.
func smtpd(t *testing.T, s setup, msg []byte, envelope []byte) outcome {
	t.Helper()
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	os.Mkdir(qdir, 0o755)
	queue := s.queuePath
	if queue == "" {
		queue, _ = os.Executable()
	}
	onError := s.onError
	if onError == "" {
		onError = "tempfail"
	}
	cfg := fmt.Sprintf("client:\n  servers: [%q]\n  connect_timeout: 2s\n  data_timeout: 5s\n  on_error: %s\nqmail:\n  queue: %q\n  bounce_host: mx.example.com\nscillad_section_ignored:\n  x: 1\n", s.server, onError, queue)
	cfgPath := filepath.Join(dir, "scilla.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)

	cmd := exec.Command(binary(t), "-config", cfgPath)
	cmd.Env = append(os.Environ(), "FAKE_QQ_DIR="+qdir, fmt.Sprintf("FAKE_QQ_EXIT=%d", s.queueExit),
		"QMAILQUEUE=/var/qmail/bin/scilla-qmail", "TCPREMOTEIP=192.0.2.7", "TCPREMOTEHOST=client.example.net", "TCPREMOTEINFO=mallory")
	cmd.Env = append(cmd.Env, s.extraEnv...)
	msgR, msgW, _ := os.Pipe()
	envR, envW, _ := os.Pipe()
	var errR, errW *os.File
	cmd.Stdin, cmd.Stdout = msgR, envR
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if s.fd6 {
		errR, errW, _ = os.Pipe()
		cmd.ExtraFiles = []*os.File{nil, nil, nil, errW}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	msgR.Close()
	envR.Close()
	msgW.Write(msg)
	msgW.Close()
	envW.Write(envelope)
	envW.Close()
	var fd6 []byte
	if errW != nil {
		errW.Close()
		fd6, _ = io.ReadAll(errR)
		errR.Close()
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return outcome{code: code, fd6: string(fd6), queue: readQueue(t, qdir), stderr: stderr.String()}
}

func eml(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func env(from string, to ...string) []byte {
	e := &qmail.Envelope{From: from, To: to}
	return e.Bytes()
}

func header(msg, name string) []string {
	head, _, _ := strings.Cut(msg, "\n\n")
	var out []string
	for _, l := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestHamRoundTrip(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	o := smtpd(t, setup{server: srv.Addr}, eml(t, "ham.eml"), env("alice@example.org", "bob@example.com", "carol@example.com"))
	if o.code != 0 {
		t.Fatalf("exit %d\n%s", o.code, o.stderr)
	}
	if len(o.queue) != 1 {
		t.Fatalf("%d copies queued, want 1", len(o.queue))
	}
	q := o.queue[0]
	if q.env.From != "alice@example.org" || !slices.Equal(q.env.To, []string{"bob@example.com", "carol@example.com"}) {
		t.Errorf("envelope %+v", q.env)
	}
	if got := header(q.msg, "X-Spamtest-Status-Extended"); !slices.Equal(got, []string{"Not detected"}) {
		t.Errorf("status headers %q", got)
	}
	if !strings.HasSuffix(q.msg, "for half past twelve.\n"+strings.SplitAfter(string(eml(t, "ham.eml")), "for half past twelve.\n")[1]) {
		t.Error("body changed")
	}
	if q.qmailqueue != "" {
		t.Errorf("QMAILQUEUE=%q leaked to the original qmail-queue", q.qmailqueue)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d scans", len(reqs))
	}
	e := reqs[0].GetEnvelope()
	if e.GetClientIp() != "192.0.2.7" || e.GetClientHostname() != "client.example.net" || e.GetAuthUser() != "" ||
		e.GetMtaKind() != scillav1.MtaKind_MTA_KIND_QMAIL || e.GetMailFrom() != "alice@example.org" {
		t.Errorf("scan envelope %v (TCPREMOTEINFO must not become the auth user by default)", e)
	}
}

func TestSplitPerGroup(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy(
		clienttest.Rule{Prefix: "boss@", Action: scillav1.Action_ACTION_ACCEPT},
		clienttest.Rule{Prefix: "trash@", Action: scillav1.Action_ACTION_DELETE},
		clienttest.Rule{Prefix: "sales@", Action: scillav1.Action_ACTION_REDIRECT, To: []string{"quarantine@example.com"}},
	))
	o := smtpd(t, setup{server: srv.Addr}, eml(t, "gtube.eml"),
		env("spam@example.net", "bob@example.com", "boss@example.com", "trash@example.com", "sales@example.com", "dave@example.com"))
	if o.code != 0 {
		t.Fatalf("exit %d\n%s", o.code, o.stderr)
	}
	want := map[string][]string{
		"bob@example.com":        {"bob@example.com", "dave@example.com"},
		"boss@example.com":       {"boss@example.com"},
		"quarantine@example.com": {"quarantine@example.com"},
	}
	if len(o.queue) != len(want) {
		t.Fatalf("%d copies queued, want %d: %+v", len(o.queue), len(want), o.queue)
	}
	for _, q := range o.queue {
		if w := want[q.env.To[0]]; !slices.Equal(q.env.To, w) {
			t.Errorf("copy for %q, want %q", q.env.To, w)
		}
		if q.env.From != "spam@example.net" {
			t.Errorf("sender %q", q.env.From)
		}
		if got := header(q.msg, "Subject"); !slices.Equal(got, []string{"[!! SPAM] Test spam mail (GTUBE)"}) {
			t.Errorf("subject %q", got)
		}
		// The forged X-Spam-Flag: NO is gone, the verdict's YES added.
		if got := header(q.msg, "X-Spam-Flag"); !slices.Equal(got, []string{"YES"}) {
			t.Errorf("X-Spam-Flag %q", got)
		}
		ids := header(q.msg, "X-Spamtest-Group-ID")
		if len(ids) != 1 {
			t.Errorf("group ids %q", ids)
		}
	}
}

func TestRejectAll(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy(clienttest.Rule{Action: scillav1.Action_ACTION_REJECT, Text: "Spam is not welcome here"}))
	for _, fd6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("fd6=%v", fd6), func(t *testing.T) {
			o := smtpd(t, setup{server: srv.Addr, fd6: fd6}, eml(t, "gtube.eml"), env("spam@example.net", "bob@example.com"))
			wantCode, wantFD6 := 31, ""
			if fd6 {
				wantCode, wantFD6 = 82, "D5.7.1 Spam is not welcome here"
			}
			if o.code != wantCode || o.fd6 != wantFD6 {
				t.Errorf("exit %d fd6 %q, want %d %q\n%s", o.code, o.fd6, wantCode, wantFD6, o.stderr)
			}
			if len(o.queue) != 0 {
				t.Errorf("rejected message queued: %+v", o.queue)
			}
		})
	}
}

func TestPartialRejectBounces(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy(clienttest.Rule{Prefix: "strict@", Action: scillav1.Action_ACTION_REJECT, Text: "No spam for strict"}))
	o := smtpd(t, setup{server: srv.Addr}, eml(t, "gtube.eml"), env("spam@example.net", "strict@example.com", "bob@example.com"))
	if o.code != 0 {
		t.Fatalf("exit %d\n%s", o.code, o.stderr)
	}
	if len(o.queue) != 2 {
		t.Fatalf("%d queued, want the copy and a bounce", len(o.queue))
	}
	copyQ, bounce := o.queue[0], o.queue[1]
	if !slices.Equal(copyQ.env.To, []string{"bob@example.com"}) {
		t.Errorf("copy to %q", copyQ.env.To)
	}
	if bounce.env.From != "" || !slices.Equal(bounce.env.To, []string{"spam@example.net"}) {
		t.Errorf("bounce envelope %+v", bounce.env)
	}
	for _, w := range []string{"From: MAILER-DAEMON@mx.example.com", "<strict@example.com>:\n550 5.7.1 No spam for strict", "Message-ID: <gtube-1@example.net>"} {
		if !strings.Contains(bounce.msg, w) {
			t.Errorf("bounce lacks %q:\n%s", w, bounce.msg)
		}
	}
}

func TestDiscardAll(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy(clienttest.Rule{Action: scillav1.Action_ACTION_DELETE}))
	o := smtpd(t, setup{server: srv.Addr}, eml(t, "gtube.eml"), env("spam@example.net", "bob@example.com"))
	if o.code != 0 || len(o.queue) != 0 {
		t.Errorf("exit %d, %d queued; want 0 and nothing", o.code, len(o.queue))
	}
}

func TestServerDown(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	srv.Stop()
	tests := []struct {
		onError string
		fd6     bool
		code    int
		fd6Text string
		queued  bool
	}{
		{"tempfail", false, 71, "", false},
		{"tempfail", true, 82, "Z4.7.1 Spam filter temporarily unavailable, try again later", false},
		{"reject", false, 31, "", false},
		{"accept", false, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s fd6=%v", tt.onError, tt.fd6), func(t *testing.T) {
			o := smtpd(t, setup{server: srv.Addr, onError: tt.onError, fd6: tt.fd6}, eml(t, "gtube.eml"), env("spam@example.net", "bob@example.com"))
			if o.code != tt.code || o.fd6 != tt.fd6Text {
				t.Fatalf("exit %d fd6 %q, want %d %q\n%s", o.code, o.fd6, tt.code, tt.fd6Text, o.stderr)
			}
			if (len(o.queue) == 1) != tt.queued || (!tt.queued && len(o.queue) != 0) {
				t.Fatalf("%d queued", len(o.queue))
			}
			if tt.queued {
				q := o.queue[0].msg
				if got := header(q, "X-SpamTest-Info"); !slices.Equal(got, []string{"Not processed"}) {
					t.Errorf("X-SpamTest-Info %q", got)
				}
				if len(header(q, "X-Spam-Flag")) != 0 || len(header(q, "X-Spamtest-Status-Extended")) != 0 {
					t.Error("forged verdict headers kept on an unscanned message")
				}
			}
		})
	}
}

func TestMalformedInput(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	long := strings.Repeat("x", 2000) + "@example.com"
	tests := []struct {
		name     string
		envelope []byte
		code     int
	}{
		{"missing F", []byte("Tbob@example.com\x00\x00"), 91},
		{"no final NUL", []byte("Fa@example.org\x00Tbob@example.com\x00"), 54},
		{"empty envelope", nil, 54},
		{"recipient without T", []byte("Fa@example.org\x00bob@example.com\x00\x00"), 91},
		{"huge recipient", []byte("Fa@example.org\x00T" + long + "\x00\x00"), 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := smtpd(t, setup{server: srv.Addr}, eml(t, "ham.eml"), tt.envelope)
			if o.code != tt.code {
				t.Errorf("exit %d, want %d\n%s", o.code, tt.code, o.stderr)
			}
			if len(o.queue) != 0 {
				t.Errorf("queued %d with a bad envelope", len(o.queue))
			}
		})
	}
	if n := srv.Calls(); n != 0 {
		t.Errorf("%d scans for bad envelopes", n)
	}
}

func TestOriginalQueueFailures(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	o := smtpd(t, setup{server: srv.Addr, queueExit: 53}, eml(t, "ham.eml"), env("a@example.org", "bob@example.com"))
	if o.code != 53 {
		t.Errorf("exit %d, want the original's 53", o.code)
	}
	o = smtpd(t, setup{server: srv.Addr, queuePath: "/nonexistent/qmail-queue"}, eml(t, "ham.eml"), env("a@example.org", "bob@example.com"))
	if o.code != 81 {
		t.Errorf("exit %d, want 81 for a missing original", o.code)
	}
	o = smtpd(t, setup{server: srv.Addr, queuePath: "relative/qmail-queue"}, eml(t, "ham.eml"), env("a@example.org", "bob@example.com"))
	if o.code != 55 {
		t.Errorf("exit %d, want 55 for a bad config", o.code)
	}
}

// benchRun drives bin like qmail-smtpd once with a small message.
func benchRun(b *testing.B, bin string, args, env []string, msg, envelope []byte) {
	msgR, msgW, _ := os.Pipe()
	envR, envW, _ := os.Pipe()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout = msgR, envR
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	msgR.Close()
	envR.Close()
	msgW.Write(msg)
	msgW.Close()
	envW.Write(envelope)
	envW.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQmailQueue compares one message through scilla-qmail (process
// start, scan on an in-process fake scanner over loopback gRPC, run of the
// original) with the original alone: the difference is scilla-qmail's
// overhead per message.
func BenchmarkQmailQueue(b *testing.B) {
	srv := clienttest.Start(b, clienttest.Policy())
	bin := binary(b)
	dir := b.TempDir()
	self, _ := os.Executable()
	cfg := filepath.Join(dir, "scilla.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("client:\n  servers: [%q]\nqmail:\n  queue: %q\n", srv.Addr, self)), 0o644)
	env := append(os.Environ(), "FAKE_QQ_DIR="+dir)
	msg := []byte("From: a@example.org\nTo: b@example.com\nSubject: hi\n\nhello\n")
	envelope := (&qmail.Envelope{From: "a@example.org", To: []string{"b@example.com"}}).Bytes()
	b.Run("original", func(b *testing.B) {
		for b.Loop() {
			benchRun(b, self, nil, env, msg, envelope)
		}
	})
	b.Run("scilla-qmail", func(b *testing.B) {
		for b.Loop() {
			benchRun(b, bin, []string{"-config", cfg}, env, msg, envelope)
		}
	})
}
