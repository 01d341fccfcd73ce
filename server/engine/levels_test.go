package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scilla-mail/scilla/server/addrlist"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message/corpustest"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

var levels = []policy.Level{policy.Minimum, policy.Standard, policy.High, policy.Maximum}

// levelPolicy has one group per detection level, recipient "<level>@example.org".
func levelPolicy() *policy.Policy {
	p := policy.Default()
	all := p.All()
	var groups []*policy.Group
	for i, l := range levels {
		s := *all.Settings
		s.Level = l
		groups = append(groups, &policy.Group{
			ID: uint32(i + 2), Name: l.String(),
			Recipients: addrlist.MustNew(l.String() + "@example.org"),
			Settings:   &s, Actions: all.Actions,
		})
	}
	p.Groups = append(groups, all)
	return p
}

// severity orders the score-driven statuses; forced statuses do not
// depend on the level and are compared for equality instead.
func severity(s verdict.Status) int {
	switch s {
	case verdict.NotDetected:
		return 0
	case verdict.ProbableSpam:
		return 1
	case verdict.Spam:
		return 2
	}
	return -1
}

// TestLevelOrderingCorpus runs the engine with the registry's checks over
// the whole SpamAssassin corpus at every detection level: no message's
// status may get milder as the level rises.
func TestLevelOrderingCorpus(t *testing.T) {
	msgs := corpustest.Load(t, "all")
	db, err := contentdb.Default()
	if err != nil {
		t.Logf("default content database unavailable (%v): rating without it", err)
		db = contentdb.Empty()
	}
	e := engine.New(engine.Options{Checks: check.All(check.Deps{})}, &engine.Snapshot{Policy: levelPolicy(), DB: db})
	var rcpts []string
	for _, l := range levels {
		rcpts = append(rcpts, l.String()+"@example.org")
	}
	env := &engine.Envelope{Rcpts: rcpts}
	// counts[level][spam?][status]
	counts := make([][2]map[verdict.Status]int, len(levels))
	for i := range counts {
		counts[i] = [2]map[verdict.Status]int{{}, {}}
	}
	// Scan on every core; the engine is safe for concurrent use.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				m := msgs[i]
				v, err := e.Scan(context.Background(), m.Path, env, m.Raw)
				if err != nil {
					t.Errorf("%s: %v", m.Path, err)
					continue
				}
				if len(v.Groups) != len(levels) {
					t.Errorf("%s: %d groups, want %d", m.Path, len(v.Groups), len(levels))
					continue
				}
				byLevel := map[string]*engine.GroupVerdict{}
				for _, gv := range v.Groups {
					byLevel[gv.Group.Name] = gv
				}
				k := 0
				if m.Spam {
					k = 1
				}
				var prev *engine.GroupVerdict
				mu.Lock()
				for i, l := range levels {
					gv := byLevel[l.String()]
					counts[i][k][gv.Status]++
					if prev != nil {
						ps, cs := severity(prev.Status), severity(gv.Status)
						if (ps < 0 || cs < 0) && prev.Status != gv.Status || cs < ps {
							t.Errorf("%s: %s at %s (score %.2f) but %s at %s (score %.2f)",
								m.Path, prev.Status, levels[i-1], prev.Score, gv.Status, l, gv.Score)
						}
					}
					prev = gv
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, l := range levels {
		t.Logf("%-8s ham %s | spam %s", l, fmt.Sprint(counts[i][0]), fmt.Sprint(counts[i][1]))
	}
}
