package licensing

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/shared"
	"github.com/scilla-mail/scilla/server/shared/sharedtest"
	"github.com/scilla-mail/scilla/server/verdict"
)

// openShared opens a manager on e's state directory sharing usage through c.
func (e *env) openShared(c *shared.Client) *Manager {
	e.t.Helper()
	m, err := OpenShared(e.dir, e.cfg, e.clock.Now, slog.New(slog.DiscardHandler), c)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { m.Close() })
	return m
}

// TestSharedUsage: two servers ("nodes") with their own state directories
// count protected mailboxes and traffic together through one Redis.
func TestSharedUsage(t *testing.T) {
	srv := sharedtest.Start(t)
	ea, eb := newEnv(t, false), newEnv(t, false)
	eb.iss, eb.cfg, eb.clock = ea.iss, ea.cfg, ea.clock
	k := baseKey()
	k.Serial, k.MaxMailboxes, k.MaxDailyBytes = "SC-10", 10, 2500
	key := mustSign(t, k, ea.iss)
	ca, cb := srv.Client(t), srv.Client(t)
	a, b := ea.openShared(ca), eb.openShared(cb)
	install(t, a, key, SlotActive)
	install(t, b, key, SlotActive)
	flush := func(ms ...*Manager) {
		t.Helper()
		for _, m := range ms {
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	type want struct{ mailboxes, bytes uint64 }
	check := func(step string, w want) {
		t.Helper()
		for name, m := range map[string]*Manager{"A": a, "B": b} {
			if info := m.Info(); info.MailboxesUsed != w.mailboxes || info.BytesToday != w.bytes {
				t.Errorf("%s: node %s counts %d mailboxes, %d bytes; want %d, %d", step, name, info.MailboxesUsed, info.BytesToday, w.mailboxes, w.bytes)
			}
		}
	}

	// Mailboxes seen on A and on B count once; traffic sums.
	a.Admit(rcpts(0, 5), 300)
	b.Admit(rcpts(3, 8), 400)
	flush(a, b, a)
	check("after both flushed", want{8, 700})

	// The limit is reached cluster-wide: A fills it, B refuses a new
	// mailbox but filters one A counted (B never saw it).
	a.Admit(rcpts(8, 10), 100)
	flush(a, b)
	check("at the mailbox limit", want{10, 800})
	got := b.Admit([]string{"user10@example.com", "user1@example.com"}, 100)
	if fmt.Sprint(got) != fmt.Sprint([]verdict.Info{verdict.LicenseLimitExceeded, verdict.InfoNone}) {
		t.Errorf("B at the cluster's limit: %v, want a new mailbox refused, one counted on A filtered", got)
	}

	// Redis unreachable: both count locally, and the counts merge when it
	// is back.
	srv.Pause()
	a.Admit([]string{"user1@example.com"}, 600)
	b.Admit([]string{"user2@example.com"}, 500)
	flush(a, b)
	if ca.Status().Reachable {
		t.Error("status says reachable with Redis down")
	}
	if info := a.Info(); info.BytesToday != 800+600 {
		t.Errorf("A while Redis is down: %d bytes, want its last total plus its own 600", info.BytesToday)
	}
	srv.Resume()
	flush(a, b, a)
	if !ca.Status().Reachable || !cb.Status().Reachable {
		t.Errorf("status after Redis is back: %+v / %+v", ca.Status(), cb.Status())
	}
	// 900 before, A's 600 and B's 500 during.
	check("after the outage", want{10, 2000})
	// Over the day's traffic on both.
	a.Admit([]string{"user1@example.com"}, 600)
	flush(a, b)
	for name, m := range map[string]*Manager{"A": a, "B": b} {
		if got := m.Admit([]string{"user2@example.com"}, 1); got[0] != verdict.LicenseLimitExceeded {
			t.Errorf("node %s over the cluster's daily traffic: %v", name, got)
		}
	}
	// The next day starts from zero traffic.
	ea.clock.Add(24 * time.Hour)
	flush(a, b)
	if got := b.Admit([]string{"user2@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Errorf("next day: %v", got)
	}

	// A restart sends the same totals again: nothing counts twice.
	b.Admit([]string{"user2@example.com"}, 50)
	flush(a, b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = ea.openShared(ca)
	flush(a, b)
	check("after A restarted", want{10, 51})
}

// TestSharedUsageRedisLostData: a Redis restarted empty gets the salt,
// the mailboxes and today's traffic back from the servers at their next
// flush.
func TestSharedUsageRedisLostData(t *testing.T) {
	srv := sharedtest.Start(t)
	ea, eb := newEnv(t, false), newEnv(t, false)
	eb.iss, eb.cfg, eb.clock = ea.iss, ea.cfg, ea.clock
	a, b := ea.openShared(srv.Client(t)), eb.openShared(srv.Client(t))
	key := ea.key("SC-0", 0, t0.AddDate(1, 0, 0), 0)
	install(t, a, key, SlotActive)
	install(t, b, key, SlotActive)
	a.Admit(rcpts(0, 4), 100)
	b.Admit(rcpts(2, 6), 200)
	for _, m := range []*Manager{a, b, a} {
		m.Flush()
	}
	srv.Stop()
	srv.Start()
	for _, m := range []*Manager{b, a, b} {
		m.Flush()
	}
	for name, m := range map[string]*Manager{"A": a, "B": b} {
		if info := m.Info(); info.MailboxesUsed != 6 || info.BytesToday != 300 {
			t.Errorf("node %s after Redis lost its data: %d mailboxes, %d bytes; want 6, 300", name, info.MailboxesUsed, info.BytesToday)
		}
	}
	// Both still hash with one salt: a mailbox counted on A is known on B.
	b.Admit(rcpts(0, 1), 1)
	for _, m := range []*Manager{b, a} {
		m.Flush()
	}
	if n := a.Info().MailboxesUsed; n != 6 {
		t.Errorf("after B saw a mailbox A counted: %d mailboxes, want 6", n)
	}
}
