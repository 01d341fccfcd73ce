package cgp_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/cgp"
	"github.com/scilla-mail/scilla/clients/clienttest"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// communigate plays CommuniGate Pro: it writes queue files into a base
// directory, sends requests to the helper and collects its replies.
type communigate struct {
	t       *testing.T
	base    string
	in      *io.PipeWriter
	replies chan string
	done    chan error
	n       int
}

func startHelper(t *testing.T, srvAddr, onError string, mod func(*cgp.Config)) *communigate {
	t.Helper()
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "Queue"), 0o755)
	os.MkdirAll(filepath.Join(base, "Submitted"), 0o755)
	s := clients.DefaultSettings()
	s.Servers, s.ConnectTimeout, s.DataTimeout = []string{srvAddr}, 2*time.Second, 5*time.Second
	if onError != "" {
		s.OnError = clients.OnError(onError)
	}
	client, err := clients.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	cfg := cgp.DefaultConfig()
	cfg.BounceHost = "cgp.example.com"
	if mod != nil {
		mod(&cfg)
	}
	key, err := cgp.LoadOrCreateKey(filepath.Join(base, "loop.key"))
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	f := &cgp.Filter{Config: cfg, Client: client, Loop: &cgp.LoopSigner{Key: key, MaxAge: time.Hour},
		Log: slog.New(slog.DiscardHandler), BaseDir: base, Hostname: "cgp.example.com", Out: outW}
	c := &communigate{t: t, base: base, in: inW, replies: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		c.done <- f.Serve(context.Background(), inR)
		outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			c.replies <- sc.Text()
		}
		close(c.replies)
	}()
	t.Cleanup(func() { inW.Close(); <-c.done })
	return c
}

func (c *communigate) send(line string) {
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *communigate) reply() string {
	select {
	case r, ok := <-c.replies:
		if !ok {
			c.t.Fatal("helper closed its output")
		}
		return r
	case <-time.After(10 * time.Second):
		c.t.Fatal("no reply within 10 s")
	}
	return ""
}

// queue writes a queue file in CommuniGate's format and returns its
// name relative to the base directory.
func (c *communigate) queue(source, from string, to []string, msg []byte) string {
	c.n++
	name := fmt.Sprintf("Queue/%d.msg", 1000+c.n)
	var b bytes.Buffer
	if source != "" {
		fmt.Fprintf(&b, "S %s [192.0.2.55]\n", source)
	}
	fmt.Fprintf(&b, "P I 22-11-2026_07:50:00 0000 ____ ____ <%s>\n", from)
	for _, r := range to {
		fmt.Fprintf(&b, "R W 22-11-2026_07:50:00 0000 ____ _FY_ <%s>\n", r)
	}
	b.WriteString("\n")
	b.Write(msg)
	if err := os.WriteFile(filepath.Join(c.base, name), b.Bytes(), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// submitted returns the resubmitted files (.sub) and fails on leftovers.
func (c *communigate) submitted() map[string]string {
	files, _ := os.ReadDir(filepath.Join(c.base, "Submitted"))
	out := map[string]string{}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".sub") {
			c.t.Errorf("stray file %s in Submitted", f.Name())
			continue
		}
		b, _ := os.ReadFile(filepath.Join(c.base, "Submitted", f.Name()))
		out[f.Name()] = string(b)
	}
	return out
}

// resubmit turns a Submitted file back into a queue file, as CommuniGate's
// PIPE module would enqueue it, and removes it from Submitted.
func (c *communigate) requeue(name, content, source string) string {
	os.Remove(filepath.Join(c.base, "Submitted", name))
	c.n++
	q := fmt.Sprintf("Queue/%d.msg", 1000+c.n)
	prefix := ""
	if source != "" {
		prefix = "S " + source + "\n"
	}
	// Submitted files carry Return-Path/Envelope-To lines: the queue file
	// keeps them as its envelope, then the empty line, then the message.
	var env, msg []string
	lines := strings.SplitAfter(content, "\n")
	i := 0
	for ; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "Return-Path:") && !strings.HasPrefix(lines[i], "Envelope-To:") {
			break
		}
		env = append(env, lines[i])
	}
	msg = lines[i:]
	os.WriteFile(filepath.Join(c.base, q), []byte(prefix+strings.Join(env, "")+"\n"+strings.Join(msg, "")), 0o644)
	return q
}

func eml(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowPolicy delays scans of messages containing "SLOW" so replies come
// back out of order.
func slowPolicy(p clienttest.ScanFunc) clienttest.ScanFunc {
	return func(req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
		if bytes.Contains(req.GetMessage(), []byte("SLOW")) {
			time.Sleep(300 * time.Millisecond)
		}
		return p(req)
	}
}

func TestSessionInterleaved(t *testing.T) {
	srv := clienttest.Start(t, slowPolicy(clienttest.Policy(
		clienttest.Rule{Prefix: "trash@", Action: scillav1.Action_ACTION_DELETE},
		clienttest.Rule{Prefix: "strict@", Action: scillav1.Action_ACTION_REJECT, Text: "Go away"},
	)))
	c := startHelper(t, srv.Addr, "", nil)
	c.send("1 INTF 4")
	if r := c.reply(); r != "1 INTF 3" {
		t.Fatalf("handshake reply %q", r)
	}
	ham := eml(t, "ham.eml")
	slowHam := bytes.Replace(ham, []byte("Subject: Lunch"), []byte("Subject: SLOW Lunch"), 1)
	gtube := eml(t, "gtube.eml")
	cleanGtube := bytes.Replace(bytes.Replace(gtube, []byte("X-Spam-Flag: NO\n"), nil, 1), []byte("X-Spamtest-Status-Extended: Not detected\n"), nil, 1)

	files := map[string]string{
		"2": c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, slowHam),
		"3": c.queue("SMTP", "alice@example.org", []string{"bob@example.com", "carol@example.com"}, ham),
		"4": c.queue("SMTP", "spam@example.net", []string{"trash@example.com"}, cleanGtube),
		"5": c.queue("SMTP", "spam@example.net", []string{"strict@example.com"}, cleanGtube),
		"6": c.queue("RULE", "spam@example.net", []string{"bob@example.com"}, gtube),
		"7": c.queue("SMTP", "spam@example.net", []string{"bob@example.com"}, gtube),
	}
	for _, seq := range []string{"2", "3", "4", "5", "6", "7"} {
		c.send(seq + " FILE " + files[seq])
	}
	c.send("8 FILE Queue/missing.msg")
	c.send("9 NOPE")
	c.send("bogus line " + strings.Repeat("x", 5000))
	c.send("bogus line")
	got := map[string]string{}
	var order []string
	for range 10 {
		r := c.reply()
		seq, rest, _ := strings.Cut(r, " ")
		if seq == "*" {
			got["*"] += rest + "\n"
			continue
		}
		got[seq] = rest
		order = append(order, seq)
	}
	if order[len(order)-1] != "2" && slices.Index(order, "2") < slices.Index(order, "3") {
		t.Errorf("replies came in request order %v; the slow scan of 2 should finish after 3", order)
	}
	checkAddHeader := func(seq, status string) {
		t.Helper()
		r := got[seq]
		body, ok := strings.CutPrefix(r, "ADDHEADER ")
		body, ok2 := strings.CutSuffix(body, " OK")
		if !ok || !ok2 {
			t.Errorf("%s: reply %q, want ADDHEADER ... OK", seq, r)
			return
		}
		lines, err := cgp.Unquote(body)
		if err != nil || !slices.Contains(lines, "X-Spamtest-Status-Extended: "+status) {
			t.Errorf("%s: header lines %q (%v)", seq, lines, err)
		}
	}
	checkAddHeader("2", "Not detected")
	checkAddHeader("3", "Not detected")
	if got["4"] != "DISCARD" {
		t.Errorf("delete policy: %q", got["4"])
	}
	if got["5"] != "REJECTED Go away" {
		t.Errorf("reject policy: %q", got["5"])
	}
	if got["6"] != "OK" {
		t.Errorf("non-SMTP source must pass unscanned: %q", got["6"])
	}
	if got["7"] != "DISCARD" {
		t.Errorf("subject tag needs a resubmitted copy: %q", got["7"])
	}
	if got["8"] != "FAILURE" {
		t.Errorf("missing queue file: %q", got["8"])
	}
	if !strings.HasPrefix(got["9"], "ERROR unknown command") || !strings.Contains(got["*"], "request line too long") || !strings.Contains(got["*"], "bad request line") {
		t.Errorf("bad requests: %q / %q", got["9"], got["*"])
	}
	subs := c.submitted()
	if len(subs) != 1 {
		t.Fatalf("%d resubmitted files, want 1", len(subs))
	}
	for name, s := range subs {
		for _, w := range []string{"Return-Path: <spam@example.net>\nEnvelope-To: bob@example.com\n", "Subject: [!! SPAM] Test spam mail (GTUBE)\n", "X-Spam-Flag: YES\n", "\nX-Scilla-Loop: v1 "} {
			if !strings.Contains(s, w) {
				t.Errorf("resubmitted copy lacks %q:\n%s", w, s)
			}
		}
		if strings.Contains(s, "X-Spam-Flag: NO") || strings.Contains(s, "Status-Extended: Not detected") {
			t.Errorf("forged verdict headers kept:\n%s", s)
		}
		// CommuniGate hands the copy back: it must pass with OK, unscanned.
		scans := srv.Calls()
		q := c.requeue(name, s, "SMTP")
		c.send("10 FILE " + q)
		if r := c.reply(); r != "10 OK" {
			t.Errorf("own copy: %q", r)
		}
		if srv.Calls() != scans {
			t.Error("own resubmitted copy was scanned again")
		}
	}
	c.send("11 QUIT")
	if r := c.reply(); r != "11 OK" {
		t.Errorf("QUIT reply %q", r)
	}
}

func TestForgedLoopHeader(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	c := startHelper(t, srv.Addr, "", nil)
	ham := eml(t, "ham.eml")
	forged := append([]byte("X-Scilla-Loop: v1 1790000000 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"), ham...)
	c.send("1 FILE " + c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, forged))
	if r := c.reply(); r != "1 DISCARD" {
		t.Fatalf("forged loop header: %q, want the message scanned and resubmitted clean", r)
	}
	if srv.Calls() != 1 {
		t.Errorf("%d scans, want 1", srv.Calls())
	}
	subs := c.submitted()
	if len(subs) != 1 {
		t.Fatalf("%d resubmitted", len(subs))
	}
	for _, s := range subs {
		if strings.Contains(s, "1790000000") || strings.Count(s, "X-Scilla-Loop:") != 1 {
			t.Errorf("forged loop header kept or not replaced:\n%s", s)
		}
	}
	// A valid header copied onto a different body does not pass either.
	for _, s := range subs {
		i := strings.Index(s, "X-Scilla-Loop: ")
		hdr := s[i : i+strings.IndexByte(s[i:], '\n')+1]
		other := append([]byte(hdr), bytes.Replace(ham, []byte("lunch"), []byte("dinner"), 1)...)
		c.send("2 FILE " + c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, other))
		if r := c.reply(); r != "2 DISCARD" || srv.Calls() != 2 {
			t.Errorf("replayed loop header on another body: %q, scans %d", r, srv.Calls())
		}
	}
}

func TestCopyRedirectPartialReject(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy(
		clienttest.Rule{Prefix: "boss@", Action: scillav1.Action_ACTION_COPY, To: []string{"audit@example.com"}},
		clienttest.Rule{Prefix: "sales@", Action: scillav1.Action_ACTION_REDIRECT, To: []string{"quarantine@example.com"}},
		clienttest.Rule{Prefix: "strict@", Action: scillav1.Action_ACTION_REJECT, Text: "No spam"},
	))
	c := startHelper(t, srv.Addr, "", nil)
	c.send("1 FILE " + c.queue("SMTP", "spam@example.net", []string{"boss@example.com", "sales@example.com", "strict@example.com", "bob@example.com"}, eml(t, "gtube.eml")))
	if r := c.reply(); r != "1 DISCARD" {
		t.Fatalf("reply %q", r)
	}
	subs := c.submitted()
	if len(subs) != 2 {
		t.Fatalf("%d resubmitted, want the copy and a bounce", len(subs))
	}
	var copyMsg, bounce string
	for _, s := range subs {
		if strings.HasPrefix(s, "Return-Path: <>\n") {
			bounce = s
		} else {
			copyMsg = s
		}
	}
	var to []string
	for _, l := range strings.Split(copyMsg, "\n") {
		if v, ok := strings.CutPrefix(l, "Envelope-To: "); ok {
			to = append(to, v)
		}
	}
	slices.Sort(to)
	if want := []string{"audit@example.com", "bob@example.com", "boss@example.com", "quarantine@example.com"}; !slices.Equal(to, want) {
		t.Errorf("copy recipients %q, want %q", to, want)
	}
	if !strings.Contains(bounce, "Envelope-To: spam@example.net\n") || !strings.Contains(bounce, "<strict@example.com>:\n550 5.7.1 No spam") {
		t.Errorf("bounce:\n%s", bounce)
	}
}

func TestOnError(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	srv.Stop()
	for _, tt := range []struct{ onError, want string }{
		{"tempfail", "1 FAILURE"},
		{"reject", "1 REJECTED Message could not be checked for spam"},
		{"accept", `1 ADDHEADER "X-SpamTest-Info: Not processed" OK`},
	} {
		t.Run(tt.onError, func(t *testing.T) {
			c := startHelper(t, srv.Addr, tt.onError, nil)
			c.send("1 FILE " + c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, eml(t, "ham.eml")))
			if r := c.reply(); r != tt.want {
				t.Errorf("reply %q, want %q", r, tt.want)
			}
		})
	}
}

func TestAllTransportsAndOversize(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	c := startHelper(t, srv.Addr, "", func(c *cgp.Config) { c.AllTransports = true; c.MaxMessage = 2000 })
	c.send("1 FILE " + c.queue("PIPE", "alice@example.org", []string{"bob@example.com"}, eml(t, "ham.eml")))
	if r := c.reply(); !strings.HasPrefix(r, "1 ADDHEADER ") || srv.Calls() != 1 {
		t.Errorf("all_transports: %q, %d scans", r, srv.Calls())
	}
	big := append(eml(t, "ham.eml"), bytes.Repeat([]byte("padding line\n"), 200)...)
	c.send("2 FILE " + c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, big))
	if r := c.reply(); r != `2 ADDHEADER "X-SpamTest-Info: Not processed" OK` || srv.Calls() != 1 {
		t.Errorf("oversize: %q, %d scans", r, srv.Calls())
	}
}

func TestLongHeadersResubmitted(t *testing.T) {
	long := strings.Repeat("rule ", 1000)
	srv := clienttest.Start(t, func(req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
		resp, err := clienttest.Policy()(req)
		for _, g := range resp.GetResults() {
			g.Modifications.AddHeaders = append(g.Modifications.AddHeaders, &scillav1.Header{Name: "X-Spamtest-Report", Value: long})
		}
		return resp, err
	})
	c := startHelper(t, srv.Addr, "", nil)
	c.send("1 FILE " + c.queue("SMTP", "alice@example.org", []string{"bob@example.com"}, eml(t, "ham.eml")))
	if r := c.reply(); r != "1 DISCARD" {
		t.Fatalf("reply %q (%d bytes), want a resubmission for headers over the line limit", clip(r), len(r))
	}
	for _, s := range c.submitted() {
		if !strings.Contains(s, "X-Spamtest-Report: "+long) {
			t.Error("resubmitted copy lacks the long header")
		}
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
