package autolearn

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// group returns a rated group verdict with the signs, scored as their sum.
func group(st verdict.Status, signs ...engine.Sign) *engine.GroupVerdict {
	g := &engine.GroupVerdict{Status: st, Signs: signs}
	for _, s := range signs {
		g.Score += s.Score
	}
	return g
}

func sign(name string, score float64) engine.Sign {
	return engine.Sign{Name: name, Score: score, Method: "content"}
}

// TestLabel: spam is learned only when the signs other than the
// classifier's and the fuzzy signatures' condemn it, ham only when the
// classifier and the rest agree; forced statuses, lists and unprocessed
// messages teach nothing, and every rated group must agree.
func TestLabel(t *testing.T) {
	notProtected := &engine.GroupVerdict{Info: verdict.NotProtected}
	for _, tc := range []struct {
		name   string
		groups []*engine.GroupVerdict
		want   bayes.Label
		ok     bool
	}{
		{"rules condemn it", []*engine.GroupVerdict{group(verdict.Spam, sign("PHARMA_ONLINE", 6), sign("FORGED_MAILER", 4), sign("BAYES_99", 3))}, bayes.LabelSpam, true},
		{"only the classifier is sure", []*engine.GroupVerdict{group(verdict.Spam, sign("BAYES_9999", 8), sign("PHARMA_ONLINE", 3))}, 0, false},
		{"fuzzy signatures do not count", []*engine.GroupVerdict{group(verdict.Spam,
			engine.Sign{Name: "FUZZY_SPAM_HIGH", Score: 3, Method: "fuzzy"}, sign("PHARMA_ONLINE", 8))}, 0, false},
		{"classifier and rules agree on ham", []*engine.GroupVerdict{group(verdict.NotDetected, sign("BAYES_00", -5), sign("SCAM_419_CONTEXT", 0.5))}, bayes.LabelHam, true},
		{"a rule of weight on ham", []*engine.GroupVerdict{group(verdict.NotDetected, sign("BAYES_00", -7), sign("SUBJ_NUMERIC_ID", 2.1))}, 0, false},
		{"not hammy enough", []*engine.GroupVerdict{group(verdict.NotDetected, sign("BAYES_20", -1))}, 0, false},
		{"GTUBE decides, does not teach", []*engine.GroupVerdict{group(verdict.Spam,
			engine.Sign{Name: "GTUBE", Score: 1000, Status: verdict.Spam})}, 0, false},
		{"a white list", []*engine.GroupVerdict{group(verdict.Trusted, sign("BAYES_00", -5))}, 0, false},
		{"a formal message", []*engine.GroupVerdict{group(verdict.Formal, sign("BAYES_00", -5))}, 0, false},
		{"not protected groups are left out", []*engine.GroupVerdict{notProtected, group(verdict.Spam, sign("PHARMA_ONLINE", 12))}, bayes.LabelSpam, true},
		{"nothing rated", []*engine.GroupVerdict{notProtected}, 0, false},
		{"not processed", []*engine.GroupVerdict{{Info: verdict.NotProcessed}}, 0, false},
		{"groups disagree", []*engine.GroupVerdict{group(verdict.Spam, sign("PHARMA_ONLINE", 12)), group(verdict.ProbableSpam, sign("PHARMA_ONLINE", 5))}, 0, false},
	} {
		got, ok := DefaultConfig().Label(&engine.Verdict{Groups: tc.groups})
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Label = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// TestValidate: the defaults pass; thresholds out of range are named.
func TestValidate(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	c.SpamScore, c.HamScore = 4, 1
	errs := c.Validate()
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "spam_score") || !strings.Contains(errs[1].Error(), "ham_score") {
		t.Errorf("errors %v, want spam_score and ham_score", errs)
	}
}

// recorder is a Store that records the batches.
type recorder struct {
	mu      sync.Mutex
	batches map[bayes.Label]int
}

func (r *recorder) LearnNew(_ context.Context, _ string, label bayes.Label, raw [][]byte) (bayes.LearnResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches[label] += len(raw)
	return bayes.LearnResult{Learned: len(raw)}, nil
}

// TestOfferBounded: what waits is bounded in bytes; a message beyond the
// bound is left out, not waited for.
func TestOfferBounded(t *testing.T) {
	r := &recorder{batches: map[bayes.Label]int{}}
	l := New(DefaultConfig(), r, nil)
	spam := &engine.Verdict{Groups: []*engine.GroupVerdict{group(verdict.Spam, sign("PHARMA_ONLINE", 12))}}
	l.Offer(make([]byte, maxPending+1), spam)
	l.Offer([]byte("Subject: x\r\n\r\nbuy now\r\n"), spam)
	l.Close()
	if r.batches[bayes.LabelSpam] != 1 {
		t.Errorf("learned %d spams, want 1 (the oversized one left out)", r.batches[bayes.LabelSpam])
	}
	for result, want := range map[string]float64{"dropped": 1, "learned": 1} {
		if got := testutil.ToFloat64(l.messages.WithLabelValues("spam", result)); got != want {
			t.Errorf("scilla_autolearn_messages_total{label=spam,result=%s} = %g, want %g", result, got, want)
		}
	}
}

// TestEngineAutolearn: the engine with every check and the default
// database offers each scan to a Learner on a real learning store. Clear
// spam and clear ham are learned once each, the rest and GTUBE not at all,
// and a message someone learned by hand keeps its label.
func TestEngineAutolearn(t *testing.T) {
	store, err := bayes.OpenStore(filepath.Join(t.TempDir(), "learn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "engine", "testdata", "modern", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	taught := read("spam/sextortion.eml")
	if _, err := store.Learn(context.Background(), "", bayes.LabelHam, [][]byte{taught}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.SpamScore, cfg.HamScore = true, 6, -1.5
	l := New(cfg, store, nil)
	e := engine.New(engine.Options{Checks: check.All(check.Deps{}), Autolearn: l}, &engine.Snapshot{Policy: policy.Default(), DB: db})
	env := &engine.Envelope{Rcpts: []string{"jane.doe@example.org"}}
	for _, raw := range [][]byte{
		read("spam/pharmacy.eml"), read("spam/pharmacy.eml"), // learned once
		read("spam/advance-fee.eml"),
		taught,                  // condemned by its rules, but taught as ham by hand
		read("ham/meeting.eml"), // the classifier and the rules agree
		read("ham/invoice.eml"), // so too
		// The classifier calls it ham, but a rule of weight (BULK_DEAR)
		// disagrees: not learned.
		bytes.Replace(read("ham/newsletter.eml"), []byte("This week's picks"), []byte("Dear friend, this week's picks"), 1),
		[]byte("Subject: test\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"),
	} {
		v, err := e.Scan(context.Background(), "t", env, raw)
		if err != nil {
			t.Fatal(err)
		}
		if label, ok := cfg.Label(v); &raw[0] == &taught[0] && (!ok || label != bayes.LabelSpam) {
			t.Fatalf("the message taught as ham must be offered as spam for this test, got %v %v", label, ok)
		}
	}
	l.Close()
	if spam, ham := store.Totals(""); spam != 2 || ham != 3 {
		t.Errorf("learned %d spam and %d ham, want 2 and 3 (one of the ham taught by hand)", spam, ham)
	}
}
