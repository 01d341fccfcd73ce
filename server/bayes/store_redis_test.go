package bayes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/shared/sharedtest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// eventually waits for cond, failing with what after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSharedLearningTwoNodes: two Stores ("nodes") on one Redis follow the
// bbolt store's rules, and each sees what the other learned.
func TestSharedLearningTwoNodes(t *testing.T) {
	srv := sharedtest.Start(t)
	ctx := context.Background()
	a, b := OpenShared(srv.Client(t), nil), OpenShared(srv.Client(t), nil)
	defer a.Close()
	defer b.Close()
	spam, ham := read(t, "spam1.eml"), read(t, "ham1.eml")
	steps := []struct {
		name   string
		node   *Store
		domain string
		label  Label
		new    bool // LearnNew instead of Learn
		msgs   [][]byte
		want   LearnResult
		// counts of "mortgag" (the stem of "mortgage") in the global table afterwards, on both nodes
		mortgage Counts
	}{
		{"learn spam on A", a, "", LabelSpam, false, [][]byte{spam}, LearnResult{Learned: 1, SpamTotal: 1}, Counts{Spam: 1}},
		{"same message on B is unchanged", b, "", LabelSpam, false, [][]byte{spam}, LearnResult{Unchanged: 1, SpamTotal: 1}, Counts{Spam: 1}},
		{"twice in one call counts once", a, "", LabelHam, false, [][]byte{ham, ham}, LearnResult{Learned: 1, Unchanged: 1, SpamTotal: 1, HamTotal: 1}, Counts{Spam: 1}},
		{"relabel on B moves it", b, "", LabelHam, false, [][]byte{spam}, LearnResult{Relabelled: 1, HamTotal: 2}, Counts{Ham: 1}},
		{"LearnNew on A leaves it", a, "", LabelSpam, true, [][]byte{spam}, LearnResult{Unchanged: 1, HamTotal: 2}, Counts{Ham: 1}},
		{"forget on A removes it", a, "", LabelForget, false, [][]byte{spam}, LearnResult{Learned: 1, HamTotal: 1}, Counts{}},
		{"forget unknown is unchanged", b, "", LabelForget, false, [][]byte{spam}, LearnResult{Unchanged: 1, HamTotal: 1}, Counts{}},
		{"LearnNew per-domain on B learns it, out of global", b, "Example.COM", LabelSpam, true, [][]byte{spam}, LearnResult{Learned: 1, SpamTotal: 1}, Counts{}},
	}
	for _, st := range steps {
		learn := st.node.Learn
		if st.new {
			learn = st.node.LearnNew
		}
		got, err := learn(ctx, st.domain, st.label, st.msgs)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
		for _, n := range []*Store{a, b} {
			eventually(t, st.name+": both nodes see the global counts", func() bool {
				return n.Source("").Lookup("mortgag") == st.mortgage
			})
		}
	}
	for name, n := range map[string]*Store{"A": a, "B": b} {
		eventually(t, "domain table on "+name, func() bool {
			return n.Source("example.com").Lookup("mortgag") == Counts{Spam: 1}
		})
		if sp, h := n.Totals("example.com"); sp != 1 || h != 0 {
			t.Errorf("node %s: example.com totals %d/%d, want 1/0", name, sp, h)
		}
		if sp, h := n.Totals(""); sp != 0 || h != 1 {
			t.Errorf("node %s: global totals %d/%d, want 0/1", name, sp, h)
		}
	}

	// A node started later loads everything at once.
	c := OpenShared(srv.Client(t), nil)
	defer c.Close()
	if got := c.Source("example.com").Lookup("mortgag"); got != (Counts{Spam: 1}) {
		t.Errorf("new node: example.com mortgage %+v", got)
	}
}

// TestSharedLearningRedisDown: scans keep the last tables while Redis is
// down, Learn fails with ErrUnavailable (Unavailable over RPC), and both
// come back by themselves when Redis does.
func TestSharedLearningRedisDown(t *testing.T) {
	srv := sharedtest.Start(t)
	ctx := context.Background()
	ca, cb := srv.Client(t), srv.Client(t)
	a, b := OpenShared(ca, nil), OpenShared(cb, nil)
	defer a.Close()
	defer b.Close()
	spam, ham := read(t, "spam1.eml"), read(t, "ham1.eml")
	if _, err := a.Learn(ctx, "", LabelSpam, [][]byte{spam}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B synced", func() bool { return b.Source("").Lookup("mortgag") == Counts{Spam: 1} })

	srv.Stop()
	_, err := b.Learn(ctx, "", LabelHam, [][]byte{ham})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Learn with Redis down: %v, want ErrUnavailable", err)
	}
	_, err = RPC{Store: b}.Learn(ctx, &scillav1.LearnRequest{Label: scillav1.Label_LABEL_HAM, Messages: [][]byte{ham}})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "Redis") {
		t.Errorf("RPC Learn with Redis down: %v, want Unavailable naming Redis", err)
	}
	eventually(t, "the outage shows in status", func() bool { return !cb.Status().Reachable })
	for name, n := range map[string]*Store{"A": a, "B": b} {
		if got := n.Source("").Lookup("mortgag"); got != (Counts{Spam: 1}) {
			t.Errorf("node %s: scans lost the last table while Redis is down: %+v", name, got)
		}
	}

	// Redis comes back empty (no persistence in this test): the nodes
	// follow it, and learning works again without a restart.
	srv.Start()
	eventually(t, "sync resumes", func() bool { return cb.Status().Reachable })
	if _, err := b.Learn(ctx, "", LabelHam, [][]byte{ham}); err != nil {
		t.Fatalf("Learn after Redis is back: %v", err)
	}
	eventually(t, "A follows B after the outage", func() bool {
		sp, h := a.Totals("")
		return sp == 0 && h == 1
	})
}
