package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/config"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/updater/update/updatetest"
)

// updateEnv is scillad with an update source on a loopback web server.
type updateEnv struct {
	t     *testing.T
	pub   string // the published bundle's directory
	d     *Daemon
	scan  scillav1.ScannerServiceClient
	admin scillav1.AdminServiceClient
	stop  func()
	cfg   string
}

func newUpdateEnv(t *testing.T) *updateEnv {
	e := &updateEnv{t: t, pub: filepath.Join(t.TempDir(), "pub")}
	ts := httptest.NewServer(http.FileServer(http.Dir(e.pub)))
	t.Cleanup(ts.Close)
	e.cfg = filepath.Join(t.TempDir(), "scillad.yaml")
	writeConfig(t, e.cfg, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\n"+
		"content:\n  trusted_keys: [\""+updatetest.PublicKey("daemon")+"\"]\n"+
		"update:\n  source: "+ts.URL+"/\n")
	var stop func()
	e.d, e.scan, stop = startDaemon(t, e.cfg, nil)
	e.stop = sync.OnceFunc(stop)
	t.Cleanup(e.stop)
	conn, err := grpc.NewClient("unix:"+e.d.cfg.AdminSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.admin = scillav1.NewAdminServiceClient(conn)
	return e
}

func (e *updateEnv) publish(version, marker string) {
	updatetest.Publish(e.t, e.pub, version, time.Now().Add(-time.Hour), contentdbtest.Files(e.t, marker), updatetest.Key("daemon"))
}

// scanVersion returns the database version a scan reports.
func (e *updateEnv) scanVersion() string {
	e.t.Helper()
	resp, err := e.scan.Scan(context.Background(), hamReq)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetDatabaseVersion()
}

func (e *updateEnv) update(rollback bool) (*scillav1.UpdateResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.admin.Update(ctx, &scillav1.UpdateRequest{Rollback: rollback})
}

// TestUpdatesEndToEnd: scillad starts on the embedded database, installs
// version A from its source when asked, reports it in scans and Status,
// switches to B while scans run, rolls back to A, and serves the installed
// version after a restart.
func TestUpdatesEndToEnd(t *testing.T) {
	e := newUpdateEnv(t)
	if v := e.scanVersion(); v != "default-1" {
		t.Fatalf("fresh install serves %q, want the embedded default-1", v)
	}

	e.publish("2026112201", "a")
	resp, err := e.update(false)
	if err != nil || resp.GetVersion() != "2026112201" || !resp.GetChanged() {
		t.Fatalf("Update to A: %v, %v", resp, err)
	}
	if v := e.scanVersion(); v != "2026112201" {
		t.Fatalf("after installing A a scan reports %q", v)
	}
	st, err := e.admin.Status(context.Background(), &scillav1.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if u := st.GetUpdate(); st.GetDatabaseVersion() != "2026112201" || u == nil || !u.GetLastOk() || u.GetLastAttempt() == nil ||
		u.GetNextAttempt() == nil || !strings.Contains(u.GetLastResult(), "installed 2026112201") {
		t.Errorf("status after A: %v", st)
	}

	// B installs while scans run; none of them fails.
	e.publish("2026112202", "b")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var scans, failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := e.scan.Scan(context.Background(), hamReq)
				scans.Add(1)
				if err != nil || resp.GetDatabaseVersion() == "" {
					failures.Add(1)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	resp, err = e.update(false)
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	if err != nil || resp.GetVersion() != "2026112202" || resp.GetPreviousVersion() != "2026112201" || !strings.Contains(resp.GetResult(), "1 file fetched") {
		t.Fatalf("Update to B: %v, %v", resp, err)
	}
	if failures.Load() > 0 || scans.Load() == 0 {
		t.Errorf("%d of %d scans failed during the update", failures.Load(), scans.Load())
	}
	if v := e.scanVersion(); v != "2026112202" {
		t.Fatalf("after installing B a scan reports %q", v)
	}

	// Up to date: nothing changes.
	if resp, err := e.update(false); err != nil || resp.GetChanged() || resp.GetVersion() != "2026112202" {
		t.Errorf("second Update: %v, %v", resp, err)
	}

	// Rollback goes back to A.
	resp, err = e.update(true)
	if err != nil || resp.GetVersion() != "2026112201" {
		t.Fatalf("rollback: %v, %v", resp, err)
	}
	if v := e.scanVersion(); v != "2026112201" {
		t.Fatalf("after rollback a scan reports %q", v)
	}
	// Nothing left to roll back to.
	if _, err := e.update(true); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second rollback: %v", err)
	}

	for result, want := range map[string]float64{"installed": 2, "unchanged": 1, "rolled_back": 1, "failed": 1} {
		var m dto.Metric
		if err := e.d.updates.runs.WithLabelValues(result).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("scilla_update_runs_total{result=%q} = %v, want %v", result, got, want)
		}
	}

	// After a restart, the installed version is served.
	e.stop()
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StateDir = e.d.cfg.Server.StateDir
	d2, err := New(cfg, Options{ConfigPath: e.cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.release()
	if v := d2.eng.Snapshot().DB.Version; v != "2026112201" {
		t.Errorf("after restart scillad serves %q, want the installed 2026112201", v)
	}
}

// TestUpdateRefused: a bundle signed by an unknown key is refused through
// the RPC with the reason, the database keeps serving, and Status says so.
func TestUpdateRefused(t *testing.T) {
	e := newUpdateEnv(t)
	updatetest.Publish(t, e.pub, "2026112201", time.Now(), contentdbtest.Files(t, "a"), updatetest.Key("mallory"))
	_, err := e.update(false)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("Update with a bad signature: %v", err)
	}
	if v := e.scanVersion(); v != "default-1" {
		t.Errorf("after a refused update a scan reports %q", v)
	}
	st, err := e.admin.Status(context.Background(), &scillav1.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if u := st.GetUpdate(); u.GetLastOk() || !strings.Contains(u.GetLastResult(), "bad signature") {
		t.Errorf("status after a refused update: %v", u)
	}
}

// TestUpdateSchedule: the scheduler installs what is published, on its
// own, and stops when its context ends.
func TestUpdateSchedule(t *testing.T) {
	e := newUpdateEnv(t)
	e.publish("2026112201", "a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.d.updates.loop(ctx, time.Millisecond, func() time.Duration { return 20 * time.Millisecond })
	}()
	waitVersion := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); e.d.eng.Snapshot().DB.Version != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("scheduler did not install %s (serving %s)", want, e.d.eng.Snapshot().DB.Version)
			}
		}
	}
	waitVersion("2026112201")
	e.publish("2026112202", "b")
	waitVersion("2026112202")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("scheduler did not stop")
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if j := jitter(20 * time.Minute); j < 18*time.Minute || j > 22*time.Minute {
			t.Fatalf("jitter(20m) = %v", j)
		}
	}
}
