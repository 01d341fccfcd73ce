package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/config"
	"github.com/scilla-mail/scilla/server/engine"
)

// slow is a check that takes a while, to have scans in flight.
type slow struct{ d time.Duration }

func (slow) Name() string { return "slow" }
func (s slow) Run(ctx context.Context, _ *engine.Input) (engine.Result, error) {
	select {
	case <-time.After(s.d):
		return engine.Result{Signs: []engine.Sign{{Name: "SLOW_DONE", Score: 0.1}}}, nil
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	}
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func startDaemon(t *testing.T, cfgPath string, checks []engine.Check) (*Daemon, scillav1.ScannerServiceClient, func()) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StateDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := New(cfg, Options{ConfigPath: cfgPath, Log: log, Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	conn, err := grpc.NewClient(d.Addrs()[0].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		conn.Close()
	}
	return d, scillav1.NewScannerServiceClient(conn), stop
}

var hamReq = &scillav1.ScanRequest{
	Message:  []byte("From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"),
	Envelope: &scillav1.Envelope{RcptTo: []string{"b@example.com"}},
}

func TestDrainOnShutdown(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\npool:\n  drain_delay: 5s\n")
	_, client, stop := startDaemon(t, cfgPath, []engine.Check{slow{300 * time.Millisecond}})

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Scan(context.Background(), hamReq)
			if err == nil && resp.Results[0].Info != scillav1.Info_INFO_NONE {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // scans are in flight
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("scan in flight during shutdown: %v", err)
		}
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\n")
	d, client, stop := startDaemon(t, cfgPath, nil)
	defer stop()
	if _, err := client.Scan(context.Background(), hamReq); err != nil {
		t.Fatal(err)
	}

	// A valid change applies: loopback is no longer allowed to scan.
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\n  allowed_networks: [\"10.0.0.0/8\"]\nscan:\n  deadline: 3s\n")
	if _, err := d.Reload(context.Background()); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	if _, err := client.Scan(context.Background(), hamReq); err == nil || !strings.Contains(err.Error(), "allowed_networks") {
		t.Fatalf("after reload restricting networks: %v", err)
	}

	// An invalid config is refused with file, line and key; the old one stays.
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\n  allowed_networks: [\"127.0.0.0/8\"]\npool:\n  max_workers: 0\n")
	_, err := d.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), cfgPath+":5: pool.max_workers") {
		t.Fatalf("invalid reload error = %v, want file:line: key", err)
	}
	if _, err := client.Scan(context.Background(), hamReq); err == nil {
		t.Fatal("invalid reload changed the allowed networks")
	}
}

func TestSpamdListener(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfgPath := filepath.Join(dir, "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\nspamd:\n  listen: [\"tcp:"+addr+"\"]\n")
	_, _, stop := startDaemon(t, cfgPath, nil)
	defer stop()

	gtube := "From: a@example.org\r\nSubject: test\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/checkv2", strings.NewReader(gtube))
		req.Header.Set("Rcpt", "b@example.com")
		if resp, err = http.DefaultClient.Do(req); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Score  float64 `json:"score"`
		Action string  `json:"action"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Score < 6 || out.Action == "no action" || out.Action == "" {
		t.Fatalf("rspamd-protocol check of GTUBE: %+v err %v", out, err)
	}
}

// TestRepliesEndToEnd: with the default replies section, a message a user
// submits (auth_user set by the MTA) is remembered, and the partner's
// answer to it carries REPLY_TO_SENT in the Scan response.
func TestRepliesEndToEnd(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\ndns:\n  enabled: false\n")
	_, client, stop := startDaemon(t, cfgPath, nil)
	defer stop()
	ctx := context.Background()
	if _, err := client.Scan(ctx, &scillav1.ScanRequest{
		Message: []byte("From: alice@example.com\r\nTo: bob@partner.example\r\nSubject: order\r\n" +
			"Message-ID: <order-77@example.com>\r\n\r\nPlease confirm the order.\r\n"),
		Envelope: &scillav1.Envelope{AuthUser: "alice", MailFrom: "alice@example.com", RcptTo: []string{"bob@partner.example"}},
	}); err != nil {
		t.Fatal(err)
	}
	hasReply := func(inReplyTo string) bool {
		t.Helper()
		resp, err := client.Scan(ctx, &scillav1.ScanRequest{
			Message: []byte("From: bob@partner.example\r\nTo: alice@example.com\r\nSubject: Re: order\r\n" +
				"In-Reply-To: " + inReplyTo + "\r\n\r\nConfirmed, it ships Monday.\r\n"),
			Envelope: &scillav1.Envelope{MailFrom: "bob@partner.example", RcptTo: []string{"alice@example.com"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Results[0].Rules {
			if r.Name == "REPLY_TO_SENT" {
				return true
			}
		}
		return false
	}
	if !hasReply("<order-77@example.com>") {
		t.Error("answer to submitted mail: no REPLY_TO_SENT")
	}
	if hasReply("<order-78@example.com>") {
		t.Error("answer to unknown mail: REPLY_TO_SENT")
	}
}

// TestAutolearnEndToEnd: with autolearn switched on, a clear spam scanned
// over gRPC is in the learning store once the server has stopped (what
// waits is learned on shutdown).
func TestAutolearnEndToEnd(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\ndns:\n  enabled: false\nautolearn:\n  enabled: true\n")
	d, client, stop := startDaemon(t, cfgPath, nil)
	spam, err := os.ReadFile(filepath.Join("..", "engine", "testdata", "modern", "spam", "pharmacy.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Scan(context.Background(), &scillav1.ScanRequest{
		Message: spam, Envelope: &scillav1.Envelope{RcptTo: []string{"jane.doe@example.org"}},
	}); err != nil {
		t.Fatal(err)
	}
	stop()
	store, err := bayes.OpenStore(d.cfg.Content.LearnPath(d.cfg.Server.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if s, h := store.Totals(""); s != 1 || h != 0 {
		t.Errorf("learning store holds %d spam and %d ham, want 1 and 0", s, h)
	}
}
