package spamd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// fakeScanner answers with a canned response and records the requests.
type fakeScanner struct {
	mu   sync.Mutex
	reqs []*scillav1.ScanRequest
	resp *scillav1.ScanResponse
	err  error
}

func (f *fakeScanner) scan(_ context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return f.resp, f.err
}

func (f *fakeScanner) last(t *testing.T) *scillav1.ScanRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("no scan request")
	}
	return f.reqs[len(f.reqs)-1]
}

func spamResponse() *scillav1.ScanResponse {
	return &scillav1.ScanResponse{
		ScanId:       "scan-1",
		StripHeaders: []string{"X-Spam-Flag"},
		Results: []*scillav1.GroupResult{
			{GroupId: 1, GroupName: "All", Recipients: []string{"other@example.net"}, Status: scillav1.Status_STATUS_NOT_DETECTED,
				Info: scillav1.Info_INFO_NONE, Action: scillav1.Action_ACTION_ACCEPT, Score: 1.2, Modifications: &scillav1.Modifications{}},
			{GroupId: 2, GroupName: "Sales", Recipients: []string{"user@example.com"}, Status: scillav1.Status_STATUS_SPAM,
				Info: scillav1.Info_INFO_NONE, Action: scillav1.Action_ACTION_ACCEPT, Score: 12.34, Method: "content",
				Rules: []*scillav1.Rule{{Name: "GTUBE", Score: 10, Description: "Generic Test for\nUnsolicited Bulk Email"}, {Name: "PHRASE_X", Score: 2.34}},
				Modifications: &scillav1.Modifications{SubjectPrefix: "[!! SPAM] ", AddHeaders: []*scillav1.Header{
					{Name: "X-Spam-Flag", Value: "YES"},
					{Name: "X-Spam-Status", Value: "Yes, score=12.3 required=5.0 tests=GTUBE,PHRASE_X"},
				}}},
		},
	}
}

func startServer(t *testing.T, cfg Config, f *fakeScanner) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, f.scan, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// exchange sends raw as Exim does (spamd: half-close after the message;
// rspamd: no half-close) and reads the answer until the server closes.
func exchange(t *testing.T, addr string, raw []byte, halfClose bool) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		conn.(*net.TCPConn).CloseWrite()
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// eximSpamd mimics Exim 4.96's parse of a spamd answer (spam.c): the
// current format first, then the pre-2.50 one it falls back to.
var (
	eximSpamdNew = regexp.MustCompile(`^SPAMD/(\S{1,7}) 0 EX_OK\r\nContent-length: \d+\s*(-?[0-9.]+)/(-?[0-9.]+)\r\n`)
	eximSpamdOld = regexp.MustCompile(`^SPAMD/(\S{1,7}) 0 EX_OK\r\nSpam: \S+ ; (-?[0-9.]+) / (-?[0-9.]+)\s*`)
	eximRspamd   = regexp.MustCompile(`^RSPAMD/(\S{1,7}) 0 EX_OK\r\nMetric: default; (\S{1,7}) (-?[0-9.]+) / (-?[0-9.]+) / (-?[0-9.]+)\r\n(?:Action: ([^\r]*))?`)
)

func TestEximSpamdVariant(t *testing.T) {
	f := &fakeScanner{resp: spamResponse()}
	addr := startServer(t, DefaultConfig(), f)
	out := exchange(t, addr, readFile(t, "exim-spamd.req"), true)
	m := eximSpamdNew.FindStringSubmatch(out)
	if m == nil {
		m = eximSpamdOld.FindStringSubmatch(out)
	}
	if m == nil {
		t.Fatalf("Exim cannot parse:\n%s", out)
	}
	score, _ := strconv.ParseFloat(m[2], 64)
	required, _ := strconv.ParseFloat(m[3], 64)
	if score != 12.3 || required != 5 {
		t.Errorf("score %v / %v, want 12.3 / 5 (required from X-Spam-Status)", score, required)
	}
	for _, want := range []string{"Scilla status: SPAM", "group 00000002 Sales", "10.0 GTUBE", "Generic Test for Unsolicited Bulk Email", "scan scan-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The message's To: stands in for the missing envelope.
	if got := f.last(t).GetEnvelope().GetRcptTo(); !slices.Equal(got, []string{"user@example.com"}) {
		t.Errorf("rcpt = %q", got)
	}
}

func TestEximRspamdVariant(t *testing.T) {
	f := &fakeScanner{resp: spamResponse()}
	addr := startServer(t, DefaultConfig(), f)
	out := exchange(t, addr, readFile(t, "exim-rspamd.req"), false)
	m := eximRspamd.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("Exim cannot parse:\n%s", out)
	}
	if m[2] != "True;" || m[3] != "12.30" || m[4] != "5.00" || m[6] != "rewrite subject" {
		t.Errorf("parsed %q", m[1:])
	}
	if !strings.Contains(out, "Symbol: GTUBE(10.00)\r\n") {
		t.Errorf("no GTUBE symbol:\n%s", out)
	}
	env := f.last(t).GetEnvelope()
	want := &scillav1.Envelope{
		ClientIp: "192.0.2.10", ClientHostname: "mail.example.org", Helo: "mail.example.org",
		MailFrom: "sender@example.org", RcptTo: []string{"user@example.com", "other@example.net"},
		AuthUser: "alice", QueueId: "1abcDE-000123-AB", MtaKind: scillav1.MtaKind_MTA_KIND_SPAMD,
	}
	if fmt.Sprint(env) != fmt.Sprint(want) {
		t.Errorf("envelope\n got %v\nwant %v", env, want)
	}
}

func TestSpamdMethods(t *testing.T) {
	msg := string(readFile(t, "message.eml"))
	req := func(method, version string) []byte {
		return fmt.Appendf(nil, "%s SPAMC/%s\r\nContent-length: %d\r\nUser: user@example.com\r\n\r\n%s", method, version, len(msg), msg)
	}
	tests := []struct {
		name    string
		raw     []byte
		want    []string
		notWant []string
	}{
		{"check", req("CHECK", "1.5"), []string{"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 12.3 / 5.0\r\n\r\n"}, []string{"Content-length"}},
		{"symbols 1.5", req("SYMBOLS", "1.5"), []string{"Content-length: 14\r\nSpam: True ; 12.3 / 5.0\r\n\r\nGTUBE,PHRASE_X"}, nil},
		{"report_ifspam", req("REPORT_IFSPAM", "1.5"), []string{"Spam: Yes ; 12.3 / 5.0", "GTUBE"}, nil},
		{"process", req("PROCESS", "1.5"), []string{"Spam: True ; 12.3 / 5.0\r\n\r\n", "Subject: [!! SPAM] hello\r\n", "X-Spam-Flag: YES\r\n", "\r\n\r\nHello there.\r\n"}, nil},
		{"headers", req("HEADERS", "1.5"), []string{"X-Spam-Status: Yes, score=12.3"}, []string{"Hello there."}},
		{"process 1.2", req("PROCESS", "1.2"), []string{"SPAMD/1.1 0 EX_OK\r\nContent-length: "}, []string{"Spam:"}},
		{"ping", []byte("PING SPAMC/1.5\r\n\r\n"), []string{"SPAMD/1.5 0 PONG\r\n"}, nil},
		{"tell", req("TELL", "1.5"), []string{"EX_UNAVAILABLE"}, nil},
		{"garbage", []byte("HELLO\r\n"), []string{"SPAMD/1.0 76 "}, nil},
		{"ping http", []byte("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"), []string{"HTTP/1.1 200 OK", "pong"}, nil},
		{"bad http", []byte("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), []string{"HTTP/1.1 400 Bad Request"}, nil},
	}
	f := &fakeScanner{resp: spamResponse()}
	addr := startServer(t, DefaultConfig(), f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := exchange(t, addr, tt.raw, true)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("answer lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("answer has %q:\n%s", w, out)
				}
			}
		})
	}
	// PROCESS must have applied the forged-header strip.
	out := exchange(t, addr, fmt.Appendf(nil, "PROCESS SPAMC/1.5\r\nContent-length: %d\r\n\r\n%s", len(msg)+17, "X-Spam-Flag: NO\r\n"+msg), true)
	if strings.Contains(out, "X-Spam-Flag: NO") {
		t.Errorf("forged header kept:\n%s", out)
	}
}

func TestHTTPCheckV2(t *testing.T) {
	f := &fakeScanner{resp: spamResponse()}
	addr := startServer(t, DefaultConfig(), f)
	out := exchange(t, addr, readFile(t, "checkv2.req"), false)
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK") {
		t.Fatalf("answer:\n%s", out)
	}
	var rep httpReply
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, body)
	}
	if rep.Action != "rewrite subject" || rep.Score != 12.3 || rep.RequiredScore != 5 || rep.Subject != "[!! SPAM] hello" {
		t.Errorf("reply %+v", rep)
	}
	if rep.Symbols["GTUBE"].Score != 10 || len(rep.Milter.AddHeaders["X-Spam-Flag"]) != 1 {
		t.Errorf("symbols/milter %+v %+v", rep.Symbols, rep.Milter)
	}
	if _, ok := rep.Milter.RemoveHeaders["X-Spam-Flag"]; !ok {
		t.Errorf("no remove_headers for the strip list: %+v", rep.Milter)
	}
	if env := f.last(t).GetEnvelope(); env.GetClientIp() != "2001:db8::1" || env.GetQueueId() != "Q1" {
		t.Errorf("envelope %v", env)
	}
}

func TestScanFailureAndOversize(t *testing.T) {
	f := &fakeScanner{err: errors.New("engine down")}
	cfg := DefaultConfig()
	cfg.MaxSize = 1000
	addr := startServer(t, cfg, f)
	if out := exchange(t, addr, readFile(t, "exim-spamd.req"), true); !strings.HasPrefix(out, "SPAMD/1.0 69 ") {
		t.Errorf("scan failure answer %q", out)
	}
	if out := exchange(t, addr, readFile(t, "exim-rspamd.req"), false); !strings.HasPrefix(out, "RSPAMD/1.3 69 ") {
		t.Errorf("scan failure answer %q", out)
	}
	big := fmt.Appendf(nil, "CHECK SPAMC/1.5\r\nContent-length: 5000\r\n\r\n%s", strings.Repeat("x", 5000))
	f.mu.Lock()
	f.err = nil
	n := len(f.reqs)
	f.mu.Unlock()
	if out := exchange(t, addr, big, true); !strings.Contains(out, "Spam: False ; 0.0 / 6.0") {
		t.Errorf("oversize answer %q", out)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != n {
		t.Error("oversize message was scanned")
	}
}

func TestSummarize(t *testing.T) {
	c := DefaultConfig()
	g := func(st scillav1.Status, act scillav1.Action, score float64) *scillav1.GroupResult {
		return &scillav1.GroupResult{Status: st, Action: act, Score: score, Modifications: &scillav1.Modifications{}}
	}
	tests := []struct {
		name     string
		groups   []*scillav1.GroupResult
		spam     bool
		score    float64
		required float64
		action   string
	}{
		{"ham", []*scillav1.GroupResult{g(scillav1.Status_STATUS_NOT_DETECTED, scillav1.Action_ACTION_ACCEPT, 1.04)}, false, 1, 6, "no action"},
		{"ham over threshold moves it up", []*scillav1.GroupResult{g(scillav1.Status_STATUS_TRUSTED, scillav1.Action_ACTION_ACCEPT, 20)}, false, 20, 20.1, "no action"},
		{"blacklisted at score 0", []*scillav1.GroupResult{g(scillav1.Status_STATUS_BLACKLISTED, scillav1.Action_ACTION_REJECT, 0)}, true, 0, 0, "reject"},
		{"probable spam", []*scillav1.GroupResult{g(scillav1.Status_STATUS_PROBABLE_SPAM, scillav1.Action_ACTION_ACCEPT, 4.6)}, true, 4.6, 4.6, "add header"},
		{"delete", []*scillav1.GroupResult{g(scillav1.Status_STATUS_SPAM, scillav1.Action_ACTION_DELETE, 9)}, true, 9, 6, "discard"},
		{"strongest group wins", []*scillav1.GroupResult{
			g(scillav1.Status_STATUS_NOT_DETECTED, scillav1.Action_ACTION_ACCEPT, 0.5),
			g(scillav1.Status_STATUS_SPAM, scillav1.Action_ACTION_REJECT, 8),
			g(scillav1.Status_STATUS_SPAM, scillav1.Action_ACTION_ACCEPT, 30),
		}, true, 8, 6, "reject"},
		{"no groups", nil, false, 0, 6, "no action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.summarize(&scillav1.ScanResponse{Results: tt.groups})
			if r.Spam != tt.spam || r.Score != tt.score || r.Required != tt.required || r.Action != tt.action {
				t.Errorf("got spam=%v %v/%v %q, want spam=%v %v/%v %q", r.Spam, r.Score, r.Required, r.Action, tt.spam, tt.score, tt.required, tt.action)
			}
			if (r.Score >= r.Required) != r.Spam {
				t.Errorf("score %v >= required %v disagrees with spam=%v", r.Score, r.Required, r.Spam)
			}
		})
	}
	c.ProbableSpamIsSpam = false
	if r := c.summarize(&scillav1.ScanResponse{Results: []*scillav1.GroupResult{g(scillav1.Status_STATUS_PROBABLE_SPAM, scillav1.Action_ACTION_ACCEPT, 4.6)}}); r.Spam {
		t.Error("probable spam reported as spam with probable_spam_is_spam off")
	}
}

func TestAllowedNetworks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedNetworks = []string{"192.0.2.0/24"}
	f := &fakeScanner{resp: spamResponse()}
	addr := startServer(t, cfg, f)
	if out := exchange(t, addr, readFile(t, "exim-spamd.req"), true); out != "SPAMD/1.0 77 EX_NOPERM\r\n" {
		t.Errorf("loopback not allowed, got %q", out)
	}
	if len(f.reqs) != 0 {
		t.Error("refused client was scanned")
	}
	s := New(DefaultConfig(), nil, nil)
	for addr, want := range map[net.Addr]bool{
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}:        true,
		&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.2")}: true,
		&net.TCPAddr{IP: net.ParseIP("::1")}:              true,
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}:        false,
		&net.UnixAddr{Name: "/run/x.sock"}:                true,
	} {
		if got := s.permitted(addr); got != want {
			t.Errorf("permitted(%v) = %v", addr, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 || c.Enabled() {
		t.Fatalf("default: %v enabled=%v", errs, c.Enabled())
	}
	c.Listen = []string{"tcp:127.0.0.1:783", "unix:/run/scilla/spamd.sock", "127.0.0.1:783", "tcp:nohost"}
	c.MaxSize, c.Timeout = 0, 0
	c.AllowedNetworks = []string{"10.0.0.0/8", "2001:db8::1", "localhost"}
	errs := c.Validate()
	if len(errs) != 5 {
		t.Fatalf("got %d errors, want 5: %v", len(errs), errs)
	}
	if !strings.HasPrefix(errs[0].Error(), "listen.2") {
		t.Errorf("first error %v", errs[0])
	}
}

func TestListenAndServe(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "spamd.sock")
	os.WriteFile(sock, nil, 0o644) // not a socket: must not be removed
	cfg := DefaultConfig()
	cfg.Listen = []string{"unix:" + sock}
	if err := New(cfg, nil, nil).ListenAndServe(context.Background()); err == nil {
		t.Fatal("listened over a regular file")
	}
	os.Remove(sock)
	port := func() int {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}()
	cfg.Listen = []string{"unix:" + sock, fmt.Sprintf("tcp:127.0.0.1:%d", port)}
	f := &fakeScanner{resp: spamResponse()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, f.scan, nil).ListenAndServe(ctx) }()
	var conn net.Conn
	var err error
	for range 100 {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(sock)
	if fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	conn.Write([]byte("PING SPAMC/1.5\r\n\r\n"))
	out, _ := io.ReadAll(conn)
	conn.Close()
	if string(out) != "SPAMD/1.5 0 PONG\r\n" {
		t.Errorf("unix ping %q", out)
	}
	if out := exchange(t, fmt.Sprintf("127.0.0.1:%d", port), []byte("PING SPAMC/1.5\r\n\r\n"), true); out != "SPAMD/1.5 0 PONG\r\n" {
		t.Errorf("tcp ping %q", out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
	if err := New(DefaultConfig(), nil, nil).ListenAndServe(context.Background()); err != nil {
		t.Errorf("disabled listener: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := &fakeScanner{resp: spamResponse()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { New(DefaultConfig(), f.scan, nil).WithMetrics(NewMetrics(reg)).Serve(ctx, ln); close(done) }()
	addr := ln.Addr().String()
	exchange(t, addr, readFile(t, "exim-rspamd.req"), false)
	exchange(t, addr, readFile(t, "exim-spamd.req"), true)
	exchange(t, addr, []byte("PING SPAMC/1.5\r\n\r\n"), true)
	exchange(t, addr, []byte("NONSENSE\r\n"), true)
	cancel()
	<-done
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "scilla_spamd_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[strings.TrimSpace(key)] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"protocol=rspamc result=spam": 1, "protocol=spamc result=spam": 1, "protocol=spamc result=ping": 1, "protocol=unknown result=bad_request": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
}
