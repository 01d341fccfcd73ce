package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/build"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// runFit calibrates the content signs' scores on a training list. Every
// message is scanned by the engine with a database built from the other
// folds; then a logistic model is fitted over the classifier's outcome
// (clamped logit of the probability, mean log-odds, a constant, the linear
// model's log-odds) and the rules and re-weighted signs
// (contentdb.DB.Scores) that fired, with the other checks' scores as a
// fixed offset. Ham is weighted up (false positives cost more) and each
// rule's weight is pulled towards its hand-set score, so rules that never
// fire in training keep their prior. Weights are in score units; the
// threshold that gives the -fp rate is reported so the scale can be checked.
// With -write the rule sources are rewritten with the fitted scores.
func runFit(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	list := fs.String("train", "", "labelled training list")
	root := fs.String("corpus", "", "corpus root (default: located automatically)")
	k := fs.Int("cv", 5, "folds")
	rulesDir := fs.String("rules", "updater/db-src/rules", "rule sources")
	hamWeight := fs.Float64("hamweight", 8, "weight of a ham in the loss")
	lambda := fs.Float64("lambda", 1, "pull of each rule towards its prior")
	temp := fs.Float64("temp", 1.5, "score units per logit unit (the engine's scale)")
	maxRule := fs.Float64("max", 4, "largest score a rule may get")
	styleMax := fs.Float64("stylemax", 3, "largest score of a rule of the style category (presentation is cheap to copy and common in legitimate newsletters)")
	capList := fs.String("caps", "STYLE_FROM_FREEMAIL=0.5,SCAM_419_CONTEXT=0.5,STYLE_BODY_SHOUT=1.5,BULK_DEAR=1.5,SUBJ_NUMERIC_ID=1.0,MIME_HEADER_8BIT=1.0,COMM_TOLL_FREE_NUMBER=0.5,PHISH_CLICK_LOGIN=0.5,STYLE_SUBJ_FREE=1.5,FIN_DOLLAR_AMOUNTS=2.0,BULK_DEAR_CUSTOMER=0", "comma-separated NAME=MAX: largest score of single rules, set by judgment where the corpus over-rewards a sign")
	write := fs.Bool("write", false, "rewrite the rule sources with the fitted scores")
	blocked := fs.Bool("blocked", false, blockedHelp)
	temporal := fs.Bool("temporal", false, "fit on the training side of eval's -temporal split only, so that `eval -temporal -rules DIR` measures the fitted scores on spam they have not seen")
	older := fs.Int("older", 60, olderHelp)
	hamFold := fs.Int("hamfold", 0, hamFoldHelp)
	fixCal := fs.Bool("fixcal", false, "keep the classifier's calibration (BAYES_CAL_* in the sign scores) as it is and fit only the other signs")
	priorsFile := fs.String("priors", "", "file of the scores each rule and sign is pulled towards, NAME SCORE a line (default: "+priorsSource+" in -rules when it exists); a name without a line is pulled towards its current score")
	unsure := fs.Float64("unsure", 0, "weight of a copy of every message whose classifier outcome is replaced by \"no evidence\", so rules are fitted for the spam the classifier has not seen yet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	items, err := loadItems(*root, *list)
	if err != nil {
		return err
	}
	if *temporal {
		items, _ = temporalSplit(items, *older, *hamFold)
	}
	fold := foldsOf(items, *k, *blocked)
	dbs, err := foldDatabases(items, fold, *k, *rulesDir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cal := dbs[0].Calibration
	cl := bayes.NewClassifier(bayes.DefaultParams())
	mine := map[string]bool{}
	prior := map[string]float64{}
	caps := map[string]float64{}
	for _, r := range dbs[0].Rules.Rules() {
		prior[r.Name] = r.Score
		mine[r.Name] = true
		caps[r.Name] = *maxRule
		if r.Category == "style" {
			caps[r.Name] = min(*maxRule, *styleMax)
		}
	}
	// The signs of other checks that the database re-weights are fitted
	// like rules, from their current scores.
	for name, v := range dbs[0].Scores {
		prior[name] = v
		mine[name] = true
		caps[name] = max(*maxRule, v)
	}
	priors, err := readPriors(*priorsFile, *rulesDir)
	if err != nil {
		return err
	}
	for name, v := range priors {
		if _, ok := prior[name]; ok {
			prior[name] = v
		}
	}
	for _, c := range strings.Split(*capList, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(c), "=")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("fit: -caps %q: %w", c, err)
		}
		caps[name] = f
	}
	// Fixed features 0..3: the classifier's calibration inputs (logit,
	// mean log-odds, linear log-odds, constant), named as in the scores.
	const nfixed = 4
	calNames := contentdb.CalibrationNames()
	names := slices.Clone(calNames[:])
	index := map[string]int{}
	type row struct {
		dense  [nfixed]float64
		sparse []int
		offset float64
		spam   bool
		weight float64
	}
	var rows []row
	stems := bayes.NewStems()
	for f, d := range dbs {
		e := engine.New(engine.Options{Checks: check.All(check.Deps{Log: log}), Log: log},
			&engine.Snapshot{Policy: policy.Default(), DB: d})
		for i, it := range items {
			if fold[i] != f {
				continue
			}
			v, err := e.Scan(context.Background(), "fit", corpusEnvelope(), it.Raw)
			if err != nil {
				return err
			}
			gv := v.Groups[0]
			if gv.Status == verdict.Trusted || gv.Status == verdict.Formal {
				continue
			}
			r := row{spam: it.Spam, weight: 1}
			toks := bayes.Tokens(message.Parse(it.Raw, message.DefaultLimits), stems)
			x, y, z := cal.Features(cl.Classify(toks, d.Tokens), d.Weights.Score(toks))
			r.dense = [nfixed]float64{x, y, z, 1}
			for _, sg := range gv.Signs {
				switch {
				case strings.HasPrefix(sg.Name, "BAYES_"):
				case mine[sg.Name]:
					j, ok := index[sg.Name]
					if !ok {
						j = len(names)
						index[sg.Name] = j
						names = append(names, sg.Name)
					}
					r.sparse = append(r.sparse, j)
				default:
					r.offset += sg.Score
				}
			}
			rows = append(rows, r)
		}
	}
	// Spam changes faster than any training set: on new spam the classifier
	// is often unsure and the rules must carry the message. The copies say
	// so to the fit; the originals are kept, so ham stays protected.
	if *unsure > 0 {
		x, y, z := cal.Features(bayes.Result{Prob: 0.5}, 0)
		for i, n := 0, len(rows); i < n; i++ {
			r := rows[i]
			r.dense = [nfixed]float64{x, y, z, 1}
			r.weight = *unsure
			rows = append(rows, r)
		}
	}
	w := make([]float64, len(names))
	w0 := make([]float64, len(names))
	w[0], w[1], w[2], w[3] = cal.Logit, cal.LogOdds, cal.Linear, cal.Const
	// The calibration starts from its priors when the priors give them, so
	// that a refit depends on the training mail and the priors only: a
	// start from the last fit's values ends a little elsewhere each time,
	// and a score near a rounding edge flipped between two values on
	// every refit.
	for j, n := range calNames {
		if v, ok := priors[n]; ok {
			w[j] = v
		}
	}
	for j, n := range names[nfixed:] {
		w0[j+nfixed] = prior[n]
		w[j+nfixed] = prior[n]
	}
	// Full-batch Adam on the weighted logistic loss of score/temp; rule
	// weights stay in [0, their cap].
	m1 := make([]float64, len(w))
	m2 := make([]float64, len(w))
	grad := make([]float64, len(w))
	score := func(r row) float64 {
		z := r.offset
		for j := range nfixed {
			z += w[j] * r.dense[j]
		}
		for _, j := range r.sparse {
			z += w[j]
		}
		return z
	}
	const threshold = 5.0 // between probable (4.5) and spam (6) at Standard
	for it := 1; it <= 4000; it++ {
		clear(grad)
		for _, r := range rows {
			p := 1 / (1 + math.Exp(-(score(r)-threshold) / *temp))
			t, cw := 0.0, *hamWeight
			if r.spam {
				t, cw = 1, 1
			}
			g := r.weight * cw * (p - t) / *temp
			for j := range nfixed {
				grad[j] += g * r.dense[j]
			}
			for _, j := range r.sparse {
				grad[j] += g
			}
		}
		for j := range w {
			if *fixCal && j < nfixed {
				continue
			}
			grad[j] /= float64(len(rows))
			if j >= nfixed {
				grad[j] += *lambda * (w[j] - w0[j]) / float64(len(rows))
			}
			m1[j] = 0.9*m1[j] + 0.1*grad[j]
			m2[j] = 0.999*m2[j] + 0.001*grad[j]*grad[j]
			mh := m1[j] / (1 - math.Pow(0.9, float64(it)))
			vh := m2[j] / (1 - math.Pow(0.999, float64(it)))
			w[j] -= 0.02 * mh / (math.Sqrt(vh) + 1e-8)
			if j >= nfixed {
				hi, ok := caps[names[j]]
				if !ok {
					hi = *maxRule
				}
				w[j] = min(max(w[j], 0), hi)
			}
		}
	}
	var scored []corpus.Scored
	fpStd, recStd, nham, nspam := 0, 0, 0, 0
	for _, r := range rows {
		if r.weight != 1 {
			continue
		}
		s := math.Round(score(r)*10) / 10
		scored = append(scored, corpus.Scored{Spam: r.spam, Score: s})
		if r.spam {
			nspam++
			if s >= 4.5 {
				recStd++
			}
		} else {
			nham++
			if s >= 4.5 {
				fpStd++
			}
		}
	}
	printMetrics(out, "fitted score (cv)", scored)
	fmt.Fprintf(out, "at 4.5: recall %.1f%%, ham FP %d of %d\n", 100*float64(recStd)/float64(nspam), fpStd, nham)
	scores := map[string]float64{}
	fmt.Fprint(out, "classifier calibration:")
	for j, n := range calNames {
		fmt.Fprintf(out, " %s %.3f", n, w[j])
		if !*fixCal {
			scores[n] = math.Round(w[j]*1000) / 1000
		}
	}
	fmt.Fprintln(out)
	order := slices.Clone(names[nfixed:])
	slices.Sort(order)
	for _, n := range order {
		s := math.Round(w[index[n]]*10) / 10
		scores[n] = s
		if s != prior[n] {
			fmt.Fprintf(out, "%-26s %5.1f (prior %.1f)\n", n, s, prior[n])
		}
	}
	if *write {
		return rewriteScores(*rulesDir, scores)
	}
	return nil
}

// priorsSource is the file of hand-set priors in a rule source directory.
const priorsSource = "fit.priors"

// readPriors reads the hand-set priors: the named file, else priorsSource
// in the rule directory when there is one (nil without).
func readPriors(file, rulesDir string) (map[string]float64, error) {
	if file == "" {
		file = filepath.Join(rulesDir, priorsSource)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("fit: priors: %w", err)
	}
	return contentdb.ParseScores(file, b)
}

var ruleLine = regexp.MustCompile(`^([A-Z][A-Z0-9_]+)(\s+)(-?[0-9.]+)(\s|$)`)

// rewriteScores replaces the score of every fitted rule and sign, and the
// classifier's calibration, in the sources (the *.rules files and the sign
// scores), leaving the rest of each line as written.
func rewriteScores(dir string, scores map[string]float64) error {
	written := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(dir, "*.rules"))
	if err != nil {
		return err
	}
	files = append(files, filepath.Join(dir, build.ScoresSource))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			m := ruleLine.FindStringSubmatchIndex(l)
			if m == nil {
				continue
			}
			name := l[m[2]:m[3]]
			s, ok := scores[name]
			if !ok {
				continue
			}
			prec := 1
			if strings.HasPrefix(name, "BAYES_CAL_") {
				prec = 3
			}
			lines[i] = l[:m[6]] + strconv.FormatFloat(s, 'f', prec, 64) + l[m[7]:]
			written[name] = true
		}
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			return err
		}
	}
	for n := range scores {
		if !written[n] {
			return fmt.Errorf("fit: %s has no line in %s to rewrite", n, dir)
		}
	}
	return nil
}
