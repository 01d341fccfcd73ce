// Package autolearn teaches the classifier from the engine's own clear
// verdicts, without anyone sorting mail by hand: a message the other signs
// condemn by far is learned as spam, one the classifier and every other
// sign call legitimate is learned as ham. SpamAssassin calls this
// auto-learning; unlike SpamAssassin, which learns as ham whatever its
// rules do not score, here the classifier must agree, so new spam that no
// rule knows yet is not taught as legitimate. The classifier's counts so
// follow the spam a site receives between database updates, where a
// database trained on older mail falls behind.
//
// The classifier's own sign and the fuzzy signatures (which learning
// feeds) never count towards the spam decision, so a mistake of the
// classifier does not teach itself; messages decided by a list, GTUBE or
// any other sign that forces a status are not learned. Messages are
// learned in batches, in the global counts, off the scan's path.
package autolearn

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Config is the `autolearn` section.
type Config struct {
	// Enabled turns auto-learning on. It is off by default: learning from
	// its own verdicts lets a filter's mistakes compound, so a site decides.
	Enabled bool `yaml:"enabled"`
	// SpamScore is the score, without the classifier's and the fuzzy
	// signatures' signs, at or above which a message is learned as spam.
	// 6..100.
	SpamScore float64 `yaml:"spam_score"`
	// HamScore is the total score at or below which a message is learned
	// as ham, when its signs other than the classifier's add up to less
	// than one point: the classifier and the rest agree. −100..0.
	HamScore float64 `yaml:"ham_score"`
}

// DefaultConfig is off; when switched on, spam from 10 points without the
// classifier (beyond any level's threshold), ham from −3 points with it.
func DefaultConfig() Config {
	return Config{SpamScore: 10, HamScore: -3}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.SpamScore < 6 || c.SpamScore > 100 {
		errs = append(errs, conf.Errorf("spam_score", "must be 6..100 (above the spam threshold of every level), got %g", c.SpamScore))
	}
	if c.HamScore < -100 || c.HamScore > 0 {
		errs = append(errs, conf.Errorf("ham_score", "must be -100..0, got %g", c.HamScore))
	}
	return errs
}

// Store is where messages are learned: a *bayes.Store, local or shared
// through Redis. LearnNew leaves a message learned before as it is, so
// auto-learning never overrules what a person taught.
type Store interface {
	LearnNew(ctx context.Context, domain string, label bayes.Label, raw [][]byte) (bayes.LearnResult, error)
}

// hamOtherMax bounds what signs other than the classifier's may add to a
// message learned as ham: a trace of a sign (a common business phrase at
// half a point), never a real one.
const hamOtherMax = 1.0

// Bounds of the queue between the scans and the learning.
const (
	// maxPending is the most bytes of messages waiting; more are not
	// learned (auto-learning is a sample of the mail, not a record).
	maxPending = 32 << 20
	// flushEvery is how often waiting messages are learned, and flushBatch
	// how many make a batch learned at once.
	flushEvery = 10 * time.Second
	flushBatch = 200
	// learnTimeout bounds one batch's learning.
	learnTimeout = time.Minute
)

// Learner decides which scanned messages to learn and learns them in
// batches. Safe for concurrent use; it implements engine.Autolearner.
type Learner struct {
	cfg   Config
	store Store
	log   *slog.Logger

	mu      sync.Mutex
	pending map[bayes.Label][][]byte
	bytes   int
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	// messages counts the messages offered for learning by label and
	// outcome: learned, known (learned before), dropped (the queue was
	// full), failed (the store refused the batch).
	messages *prometheus.CounterVec
}

// New returns a Learner that learns into store until Close.
func New(cfg Config, store Store, log *slog.Logger) *Learner {
	if log == nil {
		log = slog.Default()
	}
	l := &Learner{cfg: cfg, store: store, log: log, pending: map[bayes.Label][][]byte{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_autolearn_messages_total",
			Help: "Messages auto-learning took up, by label (spam, ham) and result (learned, known, dropped, failed).",
		}, []string{"label", "result"})}
	go l.run()
	return l
}

// Register adds the learner's metrics to reg.
func (l *Learner) Register(reg prometheus.Registerer) error {
	if err := reg.Register(l.messages); err != nil {
		return fmt.Errorf("register autolearn metrics: %w", err)
	}
	return nil
}

// Label returns what a verdict teaches: LabelSpam, LabelHam, or ok false
// when the message is not to be learned. Every rated group must agree.
func (c Config) Label(v *engine.Verdict) (label bayes.Label, ok bool) {
	spam, ham, rated := true, true, false
	for _, g := range v.Groups {
		switch {
		case g.Info == verdict.NotProcessed:
			return 0, false
		case g.Info != verdict.InfoNone:
			continue // not rated for this group: not protected, no licence
		case g.Status != verdict.Spam && g.Status != verdict.ProbableSpam && g.Status != verdict.NotDetected:
			return 0, false // a list or a formal message decided
		}
		rated = true
		other := 0.0
		for _, s := range g.Signs {
			if s.Status != verdict.StatusNone {
				return 0, false // GTUBE and the like decide; they do not teach
			}
			if !strings.HasPrefix(s.Name, "BAYES_") && s.Method != "fuzzy" {
				other += s.Score
			}
		}
		spam = spam && other >= c.SpamScore
		ham = ham && other < hamOtherMax && g.Score <= c.HamScore
	}
	switch {
	case !rated:
		return 0, false
	case spam:
		return bayes.LabelSpam, true
	case ham:
		return bayes.LabelHam, true
	}
	return 0, false
}

// Offer queues the message for learning when its verdict is clear. It
// never blocks the scan: when too much waits, the message is left out.
func (l *Learner) Offer(raw []byte, v *engine.Verdict) {
	label, ok := l.cfg.Label(v)
	if !ok {
		return
	}
	l.mu.Lock()
	if l.bytes+len(raw) > maxPending {
		l.mu.Unlock()
		l.messages.WithLabelValues(label.String(), "dropped").Inc()
		return
	}
	l.pending[label] = append(l.pending[label], bytes.Clone(raw))
	l.bytes += len(raw)
	n := len(l.pending[label])
	l.mu.Unlock()
	if n >= flushBatch {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Close learns what is waiting and stops the learner.
func (l *Learner) Close() {
	close(l.stop)
	<-l.done
}

func (l *Learner) run() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.stop:
			l.flush()
			return
		}
		l.flush()
	}
}

// Flush learns what waits now, rather than at the next tick. The server
// leaves it to the timer; tools that replay mail call it to learn in step.
func (l *Learner) Flush() { l.flush() }

// flush learns the waiting messages, one batch per label.
func (l *Learner) flush() {
	l.mu.Lock()
	batches := l.pending
	l.pending, l.bytes = map[bayes.Label][][]byte{}, 0
	l.mu.Unlock()
	for _, label := range []bayes.Label{bayes.LabelSpam, bayes.LabelHam} {
		raw := batches[label]
		if len(raw) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), learnTimeout)
		res, err := l.store.LearnNew(ctx, "", label, raw)
		cancel()
		if err != nil {
			l.messages.WithLabelValues(label.String(), "failed").Add(float64(len(raw)))
			l.log.Warn("auto-learning failed", "label", label, "messages", len(raw), "err", err)
			continue
		}
		l.messages.WithLabelValues(label.String(), "learned").Add(float64(res.Learned))
		l.messages.WithLabelValues(label.String(), "known").Add(float64(res.Unchanged))
		l.log.Info("auto-learned", "label", label, "learned", res.Learned, "known", res.Unchanged)
	}
}
