package stats

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/shared/sharedtest"
)

// TestCluster: two servers share their hours through a real Redis; a
// cluster query on either adds up both, its own unflushed scans included,
// while a plain query stays its own. Redis going away loses nothing: the
// flush keeps the file and sends later, and a Redis that lost its data
// gets every hour again.
func TestCluster(t *testing.T) {
	redis := sharedtest.Start(t)
	var c clock
	hour := time.Now().UTC().Truncate(time.Hour)
	c.set(hour.Add(10 * time.Minute).Format(time.RFC3339))
	openShared := func(name string) *Store {
		s, err := Open(filepath.Join(t.TempDir(), name), Options{Retention: 48 * time.Hour, Now: c.now, Cluster: NewShared(redis.Client(t), 48*time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := openShared("a.db"), openShared("b.db")
	if a.node == b.node {
		t.Fatalf("two stores share the node id %s", a.node)
	}
	q := Query{From: hour.Add(-2 * time.Hour), To: hour.Add(time.Hour)}
	cq := q
	cq.Cluster = true
	check := func(when string, s *Store, q Query, messages uint64, servers int) {
		t.Helper()
		r, err := s.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if r.Messages != messages || r.Servers != servers {
			t.Errorf("%s: %d messages from %d servers, want %d from %d", when, r.Messages, r.Servers, messages, servers)
		}
	}
	flush := func(s ...*Store) {
		t.Helper()
		for _, s := range s {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}

	a.Record(scan(spam(all, 1, "GTUBE")), 100)
	a.Record(scan(ham(all, 1)), 100)
	b.Record(scan(spam(sales, 2, "GTUBE")), 50)
	// An hour before, on B only: a second bucket.
	c.set(hour.Add(-50 * time.Minute).Format(time.RFC3339))
	b.Record(scan(ham(all, 1)), 10)
	c.set(hour.Add(10 * time.Minute).Format(time.RFC3339))
	flush(a, b)
	a.Record(scan(ham(all, 1)), 1) // not flushed yet
	check("A alone", a, q, 3, 1)
	check("A's cluster view", a, cq, 5, 2)
	check("B's cluster view (A's unflushed scan not in it)", b, cq, 4, 2)
	r, err := a.Query(cq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Signs["GTUBE"] != 2 || r.Groups[sales.ID] == nil || r.Groups[sales.ID].Results != 1 || r.Bytes != 261 ||
		r.Domains["sales.example"] == nil || r.Domains["sales.example"].Recipients != 2 {
		t.Errorf("cluster report: signs %v, groups %v, domains %v, %d bytes", r.Signs, r.Groups, r.Domains, r.Bytes)
	}

	// Redis away: flushes keep the counts in the file and send them later.
	redis.Stop()
	b.Record(scan(ham(all, 1)), 1)
	flush(a, b)
	if _, err := a.Query(cq); err == nil {
		t.Error("a cluster query with Redis stopped did not fail")
	}
	check("A alone, Redis stopped", a, q, 3, 1)
	redis.Start()
	// The restarted Redis has lost everything: each server notices at its
	// next flush and sends every hour it keeps at the one after.
	flush(a, b)
	flush(a, b)
	check("A's cluster view after Redis lost its data", a, cq, 6, 2)

	if _, err := open(t, filepath.Join(t.TempDir(), "c.db"), &c).Query(cq); err != ErrNoCluster {
		t.Errorf("a cluster query without a cluster: %v", err)
	}
}
