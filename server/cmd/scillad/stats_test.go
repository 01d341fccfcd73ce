package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStatsWithCLI: scans through scilla scan show in scilla stats, and
// the counts survive a restart of scillad (flushed on the drain, loaded
// from STATE_DIR/stats.db).
func TestStatsWithCLI(t *testing.T) {
	s := startServer(t, "")
	for _, f := range []string{"gtube.eml", "ham.eml"} {
		if out, code := scilla(t, "scan", "--server", "tcp:"+s.addr, "--from", "a@example.org", "--rcpt", "b@example.com", "--ip", "192.0.2.7", testdata+f); code != 0 {
			t.Fatalf("scan %s: exit %d\n%s", f, code, out)
		}
	}
	check := func(when string) {
		t.Helper()
		out, code := scilla(t, "stats", "--json", "--state-dir", s.state)
		if code != 0 {
			t.Fatalf("%s: stats --json: exit %d\n%s", when, code, out)
		}
		var resp struct {
			Totals struct {
				Messages string
				Statuses []struct {
					Status  string
					Results string
				}
			}
			TopSigns []struct {
				Name  string
				Count string
			}
			Series []struct{ Messages string }
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%s: stats --json: %v\n%s", when, err, out)
		}
		statuses := map[string]string{}
		for _, st := range resp.Totals.Statuses {
			statuses[st.Status] = st.Results
		}
		gtube := false
		for _, sg := range resp.TopSigns {
			gtube = gtube || sg.Name == "GTUBE" && sg.Count == "1"
		}
		if resp.Totals.Messages != "2" || statuses["STATUS_SPAM"] != "1" || statuses["STATUS_NOT_DETECTED"] != "1" || len(statuses) != 2 || !gtube || len(resp.Series) < 24 {
			t.Errorf("%s: stats --json shows %+v", when, resp)
		}

		out, code = scilla(t, "stats", "--state-dir", s.state, "--by", "day", "--since", "2d")
		if testing.Verbose() {
			t.Logf("%s: scilla stats --by day --since 2d:\n%s", when, out)
		}
		for _, want := range []string{`messages: +2\n`, `spam: +50\.0 %`, `\n +SPAM +1\b`, `\n +NOT_DETECTED +1\b`, `\n +00000001 All +2 results`, `\n +GTUBE +1\n`, `\n +content +1\n`, `by recipient domain \(1 of 1\):\n +example\.com +2 results +2 rcpts +50\.0 % spam\n`} {
			if code != 0 || !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("%s: stats: exit %d, no %q in\n%s", when, code, want, out)
			}
		}
	}
	check("before the restart")
	if out, code := scilla(t, "stats", "--cluster", "--state-dir", s.state); code == 0 || !strings.Contains(out, "need the redis section") {
		t.Errorf("stats --cluster without Redis: exit %d:\n%s", code, out)
	}
	restart(t, s)
	check("after the restart")
	if _, err := os.Stat(filepath.Join(s.state, "stats.db")); err != nil {
		t.Error(err)
	}
}

// restart stops scillad with SIGTERM (it drains and flushes) and starts it
// again with the same config and state.
func restart(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("scillad did not exit cleanly: %v", err)
	}
	cmd := exec.Command(filepath.Join(binDir, "scillad"), "-config", s.cfg)
	cmd.Stdout, cmd.Stderr = s.cmd.Stdout, s.cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("scillad did not start listening again")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
