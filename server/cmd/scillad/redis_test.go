package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/shared/sharedtest"
)

var bayesSign = regexp.MustCompile(`"BAYES_[0-9]+"`)

// TestTwoServersShareLearning: two scillad on one Redis; what `scilla
// learn` teaches the first shows in the second's scans (the BAYES sign
// changes) after a sync, `scilla status` shows the connection, and
// `scilla stats --cluster` adds up both servers' scans.
func TestTwoServersShareLearning(t *testing.T) {
	redis := sharedtest.Start(t)
	extra := fmt.Sprintf("redis:\n  address: %s\n  sync_interval: 200ms\n  timeout: 500ms\n", redis.Addr())
	a, b := startServer(t, extra), startServer(t, extra)

	spam, err := os.ReadFile("../../bayes/testdata/spam1.eml")
	if err != nil {
		t.Fatal(err)
	}
	ham, err := os.ReadFile("../../bayes/testdata/ham1.eml")
	if err != nil {
		t.Fatal(err)
	}
	variant := func(raw []byte, i int) string {
		return strings.Replace(string(raw), "Subject: ", fmt.Sprintf("Subject: [%d] ", i), 1)
	}
	dir := t.TempDir()
	write := func(name string, n int, raw []byte) string {
		var box strings.Builder
		for i := range n {
			fmt.Fprintf(&box, "From x@example.net Mon Sep  2 10:0%d:00 2002\n%s\n", i, variant(raw, i))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(box.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The database rates the ham message low; A is taught that mail like
	// it is spam (and the spam message ham), which B must then apply.
	probe := filepath.Join(dir, "probe.eml")
	if err := os.WriteFile(probe, []byte(variant(ham, 99)), 0o644); err != nil {
		t.Fatal(err)
	}
	scanSign := func(s *server) string {
		t.Helper()
		out, code := scilla(t, "scan", "--json", "--server", "tcp:"+s.addr, "--from", "a@example.org", "--rcpt", "b@example.com", probe)
		if code != 0 {
			t.Fatalf("scan: exit %d:\n%s", code, out)
		}
		return bayesSign.FindString(out)
	}
	before := scanSign(b)

	for _, args := range [][]string{{"--spam", write("spam.mbox", 5, ham)}, {"--ham", write("ham.mbox", 5, spam)}} {
		out, code := scilla(t, append([]string{"learn", "--state-dir", a.state}, args...)...)
		if code != 0 || !strings.Contains(out, "learned 5") {
			t.Fatalf("scilla learn %v on A: exit %d:\n%s", args, code, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	after := scanSign(b)
	for after == before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		after = scanSign(b)
	}
	if after == before || !strings.Contains(after, "BAYES_9") {
		t.Errorf("B's BAYES sign for a message like the ones A learned as spam: before %s, after %s; want it to move to BAYES_9x", before, after)
	}
	t.Logf("B's BAYES sign for the probe: %s before A learned, %s after", before, after)
	// Learning the same messages on B changes nothing: they are known.
	out, code := scilla(t, "learn", "--state-dir", b.state, "--spam", filepath.Join(dir, "spam.mbox"))
	if code != 0 || !strings.Contains(out, "learned 0, unchanged 5") {
		t.Errorf("the same messages on B: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "status", "--state-dir", b.state)
	if code != 0 || !strings.Contains(out, "redis:     "+redis.Addr()+", reachable") || !strings.Contains(out, "synced:") {
		t.Errorf("status on B: exit %d:\n%s", code, out)
	}

	// Statistics: A's cluster view adds B's scans once B has flushed
	// them, as it does when it drains on SIGTERM.
	scanSign(a)
	stats := func(s *server, args ...string) (messages uint64, servers uint32) {
		t.Helper()
		out, code := scilla(t, append([]string{"stats", "--json", "--state-dir", s.state}, args...)...)
		var resp struct {
			Totals struct {
				Messages uint64 `json:",string"`
			}
			Servers uint32
		}
		if err := json.Unmarshal([]byte(out), &resp); code != 0 || err != nil {
			t.Fatalf("stats %v: exit %d, %v:\n%s", args, code, err, out)
		}
		return resp.Totals.Messages, resp.Servers
	}
	onB, _ := stats(b)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("B did not exit cleanly: %v", err)
	}
	if n, servers := stats(a); n != 1 || servers != 1 {
		t.Errorf("A's own statistics: %d messages from %d servers, want 1 from 1", n, servers)
	}
	if n, servers := stats(a, "--cluster"); n != 1+onB || servers != 2 {
		t.Errorf("A's cluster statistics: %d messages from %d servers, want %d from 2", n, servers, 1+onB)
	}
	if out, code := scilla(t, "stats", "--cluster", "--state-dir", a.state); code != 0 || !strings.Contains(out, "servers:    2\n") {
		t.Errorf("stats --cluster: exit %d:\n%s", code, out)
	}
}

// TestServerThroughSentinel: scillad finds its Redis through a real Redis
// Sentinel (redis.sentinel): learning goes to the master the sentinel
// names, and `scilla status` says how Redis is reached.
func TestServerThroughSentinel(t *testing.T) {
	master := sharedtest.Start(t)
	sentinel := sharedtest.StartSentinel(t, "scilla-test", master)
	s := startServer(t, fmt.Sprintf("redis:\n  sentinel:\n    master: scilla-test\n    addresses: [%s]\n  timeout: 500ms\n", sentinel.Addr()))
	out, code := scilla(t, "learn", "--state-dir", s.state, "--spam", "../../bayes/testdata/spam1.eml")
	if code != 0 || !strings.Contains(out, "learned 1") {
		t.Fatalf("learn: exit %d:\n%s", code, out)
	}
	keys, err := master.Client(t).Redis().Keys(context.Background(), "scilla:bayes:*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("the master has no learning keys: %v, %v", keys, err)
	}
	out, code = scilla(t, "status", "--state-dir", s.state)
	if want := "redis:     sentinel master scilla-test via " + sentinel.Addr() + ", reachable"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("status: exit %d, no %q in:\n%s", code, want, out)
	}
}
