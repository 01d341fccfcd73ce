package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scilla-mail/scilla/server/autolearn"
	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/build"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
	"github.com/scilla-mail/scilla/updater/bundle"
)

// runEval scans a labelled list through the real engine (every registered
// check, the default policy at each detection level) and prints recall and
// ham false positives per level, recall at FP ≤ 0.5 % and ≤ 0.1 %, and ROC
// AUC. With -bench it instead times scans of the whole list with -workers
// goroutines and prints messages per second and peak RSS.
func runEval(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	dbDir := fs.String("db", "", "database bundle directory (default: the embedded database)")
	list := fs.String("list", "", "labelled list to scan (e.g. ../shared/corpus/test.txt)")
	root := fs.String("corpus", "", "corpus root (default: located automatically)")
	bench := fs.Bool("bench", false, "measure throughput instead of accuracy")
	workers := fs.Int("workers", 2, "concurrent scans in -bench mode")
	rounds := fs.Int("rounds", 3, "passes over the list in -bench mode (the median is printed)")
	verbose := fs.Bool("v", false, "list misclassified messages at Standard with their signs")
	scoresOut := fs.String("scores", "", "write path<TAB>label<TAB>score per message to this file")
	cv := fs.Int("cv", 0, "cross-validate: k folds of -list, each scanned with a database built from the other folds")
	rulesDir := fs.String("rules", "updater/db-src/rules", "rule sources for -cv and -temporal")
	blocked := fs.Bool("blocked", false, "with -cv: "+blockedHelp)
	temporal := fs.Bool("temporal", false, "scan the spam newer than the oldest -older % (by Date) and a fifth of ham with a database built from the rest: how the database ages")
	older := fs.Int("older", 60, olderHelp)
	hamFold := fs.Int("hamfold", 0, hamFoldHelp)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of -bench to this file")
	autolearnOn := fs.Bool("autolearn", false, "scan the messages oldest first by Date, each level with a fresh learning store that auto-learns as it goes (server/autolearn, default thresholds, learned every 50 messages): how far auto-learning follows new spam")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *autolearnOn && (*cv > 1 || *bench) {
		return fmt.Errorf("eval: -autolearn goes with a single database, not -cv or -bench")
	}
	if *list == "" {
		return fmt.Errorf("eval: -list is required")
	}
	items, err := loadItems(*root, *list)
	if err != nil {
		return err
	}
	var db *contentdb.DB
	var foldDBs []*contentdb.DB
	var fold []int
	if *temporal {
		var train []corpus.Item
		train, items = temporalSplit(items, *older, *hamFold)
		db, err = buildDB("temporal", train, *rulesDir)
	} else if *cv > 1 {
		fold = foldsOf(items, *cv, *blocked)
		foldDBs, err = foldDatabases(items, fold, *cv, *rulesDir)
		if err != nil {
			return err
		}
		db = foldDBs[0]
	} else if *dbDir == "" {
		db, err = contentdb.Default()
	} else {
		db, err = contentdb.LoadDir(*dbDir, nil)
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// learning, when set, is a level's learning store and its learner.
	type learning struct {
		store   *bayes.Store
		learner *autolearn.Learner
	}
	newEngine := func(level policy.Level, db *contentdb.DB, l *learning) *engine.Engine {
		p := policy.Default()
		for _, g := range p.Groups {
			st := *g.Settings
			st.Level = level
			g.Settings = &st
		}
		opts := engine.Options{Checks: check.All(check.Deps{Log: log}), Log: log}
		if l != nil {
			opts.Checks = check.All(check.Deps{Log: log, Learned: l.store})
			opts.Autolearn = l.learner
		}
		return engine.New(opts, &engine.Snapshot{Policy: p, DB: db})
	}
	var tmp string
	if *autolearnOn {
		items = chronological(items)
		if tmp, err = os.MkdirTemp("", "scilla-eval-"); err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
	}
	if *bench && *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *bench {
		return benchScan(out, newEngine(policy.Standard, db, nil), items, *workers, *rounds, db.Version)
	}

	fmt.Fprintf(out, "database %s, %d messages from %s\n", db.Version, len(items), *list)
	nSpam, nHam := 0, 0
	for _, it := range items {
		if it.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	var scored []corpus.Scored
	var sb strings.Builder
	for _, level := range []policy.Level{policy.Minimum, policy.Standard, policy.High, policy.Maximum} {
		var l *learning
		if *autolearnOn {
			store, err := bayes.OpenStore(filepath.Join(tmp, level.String()+".db"))
			if err != nil {
				return err
			}
			cfg := autolearn.DefaultConfig()
			cfg.Enabled = true
			l = &learning{store, autolearn.New(cfg, store, log)}
		}
		engines := []*engine.Engine{newEngine(level, db, l)}
		for _, d := range foldDBs[min(1, len(foldDBs)):] {
			engines = append(engines, newEngine(level, d, nil))
		}
		var spamHit, probHit, hamSpam, hamProb int
		for i, it := range items {
			e := engines[0]
			if len(foldDBs) > 0 {
				e = engines[fold[i]]
			}
			v, err := e.Scan(context.Background(), fmt.Sprintf("eval-%d", i), corpusEnvelope(), it.Raw)
			if err != nil {
				return fmt.Errorf("scan %s: %w", it.Path, err)
			}
			if l != nil && i%50 == 49 {
				l.learner.Flush()
			}
			gv := v.Groups[0]
			switch {
			case gv.Status == verdict.Spam || gv.Status == verdict.Blacklisted:
				if it.Spam {
					spamHit++
				} else {
					hamSpam++
				}
			case gv.Status == verdict.ProbableSpam:
				if it.Spam {
					probHit++
				} else {
					hamProb++
				}
			}
			if level == policy.Standard {
				s := gv.Score
				switch gv.Status {
				case verdict.Trusted, verdict.Formal:
					s -= 1000
				}
				if gv.Info == verdict.InfoNone && (gv.Status == verdict.Spam || gv.Status == verdict.Blacklisted) && gv.Score < 6 {
					s += 1000 // forced
				}
				scored = append(scored, corpus.Scored{Spam: it.Spam, Score: s})
				if *scoresOut != "" {
					fmt.Fprintf(&sb, "%s\t%v\t%.2f\n", it.Path, it.Spam, s)
				}
				detected := gv.Status == verdict.Spam || gv.Status == verdict.ProbableSpam || gv.Status == verdict.Blacklisted
				if *verbose && detected != it.Spam {
					fmt.Fprintf(out, "  miss spam=%v %s %.2f %s:", it.Spam, gv.Status, gv.Score, it.Path)
					for _, sg := range gv.Signs {
						fmt.Fprintf(out, " %s=%.2f", sg.Name, sg.Score)
					}
					fmt.Fprintln(out)
				}
			}
		}
		if l != nil {
			l.learner.Close()
			sp, h := l.store.Totals("")
			fmt.Fprintf(out, "%-8s auto-learned %d spam, %d ham\n", level, sp, h)
			if err := l.store.Close(); err != nil {
				return err
			}
		}
		pct := func(n, d int) float64 { return 100 * float64(n) / float64(max(d, 1)) }
		fmt.Fprintf(out, "%-8s SPAM: recall %5.1f%%  ham FP %d (%.2f%%) | SPAM+PROBABLE: recall %5.1f%%  ham FP %d (%.2f%%)\n",
			level, pct(spamHit, nSpam), hamSpam, pct(hamSpam, nHam),
			pct(spamHit+probHit, nSpam), hamSpam+hamProb, pct(hamSpam+hamProb, nHam))
	}
	printMetrics(out, "score (Standard)", scored)
	if *scoresOut != "" {
		if err := os.WriteFile(*scoresOut, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func benchScan(out io.Writer, e *engine.Engine, items []corpus.Item, workers, rounds int, version string) error {
	var rates []float64
	cpu0 := cpuTime()
	for r := 0; r < rounds; r++ {
		runtime.GC()
		next := make(chan int)
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if _, err := e.Scan(context.Background(), "bench", corpusEnvelope(), items[i].Raw); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			}()
		}
		for i := range items {
			next <- i
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		rates = append(rates, float64(len(items))/time.Since(start).Seconds())
	}
	cpu := cpuTime() - cpu0
	for i := range rates { // tiny sort for the median
		for j := i + 1; j < len(rates); j++ {
			if rates[j] < rates[i] {
				rates[i], rates[j] = rates[j], rates[i]
			}
		}
	}
	fmt.Fprintf(out, "bench-content: database %s, %d messages, %d workers, GOMAXPROCS %d: %.0f messages/s (median of %d; min %.0f, max %.0f), %.0f messages per CPU-second, peak RSS %s\n",
		version, len(items), workers, runtime.GOMAXPROCS(0), rates[len(rates)/2], len(rates), rates[0], rates[len(rates)-1],
		float64(len(items)*rounds)/cpu.Seconds(), peakRSS())
	return nil
}

// peakRSS reads VmHWM from /proc (Linux); "n/a" elsewhere.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}

// foldDatabases builds k in-memory databases, the f-th from every list item
// not in fold f.
func foldDatabases(items []corpus.Item, fold []int, k int, rulesDir string) ([]*contentdb.DB, error) {
	var dbs []*contentdb.DB
	for f := 0; f < k; f++ {
		var train []corpus.Item
		for i, it := range items {
			if fold[i] != f {
				train = append(train, it)
			}
		}
		d, err := buildDB(fmt.Sprintf("cv%d", f), train, rulesDir)
		if err != nil {
			return nil, err
		}
		dbs = append(dbs, d)
	}
	return dbs, nil
}

// buildDB builds an in-memory database from the rule sources and the items.
func buildDB(version string, train []corpus.Item, rulesDir string) (*contentdb.DB, error) {
	files, err := build.Files(rulesDir, train)
	if err != nil {
		return nil, err
	}
	m, err := bundle.Build(version, time.Unix(0, 0), files)
	if err != nil {
		return nil, err
	}
	return contentdb.Decode(&bundle.Verified{Manifest: m, Files: files})
}

// cpuTime is the process's user+system CPU time, so a busy machine does not
// hide the cost per message.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpusEnvelope is the envelope of every corpus message scanned by eval,
// fit and score: one recipient and no envelope sender, since the corpus
// does not record them. It is what the anchor benchmark's HTTP driver sends
// too, so all the figures are measured alike.
func corpusEnvelope() *engine.Envelope {
	return &engine.Envelope{Rcpts: []string{"user@example.com"}}
}
