package main

import (
	"flag"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
	"github.com/scilla-mail/scilla/server/message"
)

// runCV cross-validates the classifier (counts and linear model) on a
// training list: k folds by list position, each scored by a model built
// from the others. It is how the
// classifier's parameters are tuned without touching the test split.
func runCV(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cv", flag.ContinueOnError)
	train := fs.String("train", "", "labelled training list")
	root := fs.String("corpus", "", "corpus root (default: located automatically)")
	k := fs.Int("k", 5, "folds")
	s := fs.Float64("s", bayes.DefaultParams().S, "Robinson s")
	minDev := fs.Float64("mindev", bayes.DefaultParams().MinDev, "minimum deviation")
	maxClues := fs.Int("clues", bayes.DefaultParams().MaxClues, "max clues")
	verbose := fs.Bool("v", false, "list the worst-rated messages")
	tp := bayes.DefaultTrainParams()
	fs.IntVar(&tp.Epochs, "epochs", tp.Epochs, "linear model: passes over the training messages")
	fs.Float64Var(&tp.Rate, "rate", tp.Rate, "linear model: learning rate")
	fs.Float64Var(&tp.L2, "l2", tp.L2, "linear model: weight decay")
	explain := fs.String("explain", "", "print the strongest clues of this list entry")
	blocked := fs.Bool("blocked", false, blockedHelp)
	temporal := fs.Bool("temporal", false, "one split by time instead of k folds: train on the older -older % of spam (by Date) and 4/5 of ham, test on the newer spam and the rest of ham; measures how the classifier ages")
	older := fs.Int("older", 60, olderHelp)
	hamFold := fs.Int("hamfold", 0, hamFoldHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	items, err := loadItems(*root, *train)
	if err != nil {
		return err
	}
	toks := make([][]string, len(items))
	stems := bayes.NewStems()
	for i, it := range items {
		toks[i] = bayes.Tokens(message.Parse(it.Raw, message.DefaultLimits), stems)
	}
	p := bayes.DefaultParams()
	p.S, p.MinDev, p.MaxClues = *s, *minDev, *maxClues
	cl := bayes.NewClassifier(p)
	var scored, scoredLO, scoredLin []corpus.Scored
	var paths []string
	fold := foldsOf(items, *k, *blocked)
	inTest := func(f, i int) bool { return fold[i] == f }
	folds := *k
	if *temporal {
		folds = 1
		newer, newest := newerSpam(items, *older), newestHam(items)
		inTest = func(_, i int) bool { return heldOut(newer, newest, i, items[i].Spam, *hamFold) }
	}
	for f := 0; f < folds; f++ {
		b := bayes.NewBuilder()
		var trT [][]string
		var trY []bool
		for i, it := range items {
			if !inTest(f, i) {
				b.Add(it.Spam, toks[i])
				trT = append(trT, toks[i])
				trY = append(trY, it.Spam)
			}
		}
		m := b.Model(1)
		lin := bayes.TrainWeights(trT, trY, tp)
		for i, it := range items {
			if inTest(f, i) {
				r := cl.Classify(toks[i], m)
				if it.Path == *explain {
					fmt.Fprintf(out, "%s: prob %.5f logodds %.3f, %d tokens, %d clues\n", it.Path, r.Prob, r.LogOdds, len(toks[i]), len(r.Clues))
					for _, c := range r.Clues[:min(len(r.Clues), 40)] {
						k := m.Lookup(c.Token)
						fmt.Fprintf(out, "  %.4f %4d %4d %q\n", c.Prob, k.Spam, k.Ham, c.Token)
					}
				}
				scored = append(scored, corpus.Scored{Spam: it.Spam, Score: r.Prob})
				scoredLO = append(scoredLO, corpus.Scored{Spam: it.Spam, Score: r.LogOdds})
				scoredLin = append(scoredLin, corpus.Scored{Spam: it.Spam, Score: lin.Score(toks[i])})
				paths = append(paths, it.Path)
			}
		}
	}
	printMetrics(out, "bayes cv", scored)
	printMetrics(out, "bayes cv logodds", scoredLO)
	printMetrics(out, "linear cv", scoredLin)
	if *verbose {
		for i, sc := range scored {
			if (!sc.Spam && sc.Score > 0.9) || (sc.Spam && sc.Score < 0.5) {
				fmt.Fprintf(out, "%v %.4f %s\n", sc.Spam, sc.Score, paths[i])
			}
		}
	}
	return nil
}

func loadItems(root, list string) ([]corpus.Item, error) {
	if root == "" {
		r, err := corpus.Locate()
		if err != nil {
			return nil, err
		}
		root = r
	}
	return corpus.LoadList(root, list)
}

func printMetrics(out io.Writer, name string, s []corpus.Scored) {
	fmt.Fprintf(out, "%s: AUC %.5f", name, corpus.AUC(s))
	for _, fp := range []float64{0.001, 0.002, 0.005} {
		op := corpus.RecallAtFP(s, fp)
		fmt.Fprintf(out, "  recall@FP<=%.1f%% %.1f%% (thr %.4g, %d FP)", fp*100, op.Recall*100, op.Threshold, op.FP)
	}
	fmt.Fprintln(out)
}

// newerSpam returns the positions of the spam newer than the oldest
// olderPct % by Date: the held-out part of a temporal split, which measures how the content database
// ages (spam changes faster than ham, as between the corpus's two spam
// collections).
func newerSpam(items []corpus.Item, olderPct int) map[int]bool {
	spam := byDate(items, true)
	newer := map[int]bool{}
	for _, i := range spam[len(spam)*olderPct/100:] {
		newer[i] = true
	}
	return newer
}

// newestHam returns the positions of the newest fifth of the ham by Date.
func newestHam(items []corpus.Item) map[int]bool {
	ham := byDate(items, false)
	newest := map[int]bool{}
	for _, i := range ham[len(ham)*4/5:] {
		newest[i] = true
	}
	return newest
}

// chronological returns the items oldest first by the Date field (undated
// ones first, in list order), ham and spam together.
func chronological(items []corpus.Item) []corpus.Item {
	dates := make([]time.Time, len(items))
	order := make([]int, len(items))
	for i, it := range items {
		dates[i], _ = mail.ParseDate(message.Parse(it.Raw, message.DefaultLimits).Header.Get("Date"))
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return dates[order[a]].Before(dates[order[b]]) })
	out := make([]corpus.Item, len(items))
	for r, i := range order {
		out[r] = items[i]
	}
	return out
}

// byDate returns the positions of the spam (or ham) in items, oldest first
// by the Date field (undated ones first, in list order).
func byDate(items []corpus.Item, wantSpam bool) []int {
	type dated struct {
		i int
		t time.Time
	}
	var list []dated
	for i, it := range items {
		if it.Spam == wantSpam {
			d, _ := mail.ParseDate(message.Parse(it.Raw, message.DefaultLimits).Header.Get("Date"))
			list = append(list, dated{i, d})
		}
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].t.Before(list[b].t) })
	out := make([]int, len(list))
	for r, d := range list {
		out[r] = d.i
	}
	return out
}

// heldOut reports whether list entry i is on the test side of a temporal
// split: newer spam, and the hamFold-th of every five ham (hamFold 5: the
// newest ham).
func heldOut(newer, newest map[int]bool, i int, spam bool, hamFold int) bool {
	if spam {
		return newer[i]
	}
	if hamFold == 5 {
		return newest[i]
	}
	return i%5 == hamFold
}

// temporalSplit splits a list as newerSpam describes: training items (older
// spam, four fifths of ham) and held-out items (newer spam, the other fifth
// of ham).
func temporalSplit(items []corpus.Item, olderPct, hamFold int) (train, test []corpus.Item) {
	newer := newerSpam(items, olderPct)
	newest := newestHam(items)
	for i, it := range items {
		if heldOut(newer, newest, i, it.Spam, hamFold) {
			test = append(test, it)
		} else {
			train = append(train, it)
		}
	}
	return train, test
}

const olderHelp = "with -temporal: the percentage of spam (oldest first) trained on"

const hamFoldHelp = "with -temporal: which fifth of the ham (0-4) is held out, running all five scans every ham once; 5 holds out the newest fifth by Date, so both classes are newer than what trained them"

const blockedHelp = "fold the spam by date (each fold a period of time) instead of by list position, so no campaign is on both sides of a fold"

// foldsOf assigns each item to one of k folds: by list position, or with
// blocked, spam by date (the f-th fold holds the f-th fifth of the spam in
// time) and ham by position. Blocked folds keep a spam campaign, which
// arrives within days, on one side of every split, so cross-validation
// measures what a database does on campaigns it has not seen (random folds
// put copies of one campaign on both sides and flatter the classifier).
func foldsOf(items []corpus.Item, k int, blocked bool) []int {
	fold := make([]int, len(items))
	for i := range items {
		fold[i] = i % k
	}
	if !blocked {
		return fold
	}
	spam := byDate(items, true)
	for r, i := range spam {
		fold[i] = r * k / len(spam)
	}
	return fold
}
