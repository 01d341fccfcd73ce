package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb/build"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
)

// rewriteScores changes only the numbers of the fitted lines: rules and
// signs to tenths, the classifier's calibration to thousandths; a fitted
// name without a line is an error, not a silent loss.
func TestRewriteScores(t *testing.T) {
	dir := t.TempDir()
	rules := "# c\n[x]\nX_ONE   1.0 body: one -- One\nX_TWO 2.0 body: two -- Two\n"
	signs := "# s\nBAYES_CAL_LOGIT 0.354\nBAYES_CAL_CONST -0.429\nFORGED_MAILER 3.0\n"
	os.WriteFile(filepath.Join(dir, "x.rules"), []byte(rules), 0o644)
	os.WriteFile(filepath.Join(dir, build.ScoresSource), []byte(signs), 0o644)
	err := rewriteScores(dir, map[string]float64{"X_ONE": 1.25, "FORGED_MAILER": 2.5, "BAYES_CAL_LOGIT": 0.4567, "BAYES_CAL_CONST": -0.5})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "x.rules"))
	if want := "# c\n[x]\nX_ONE   1.2 body: one -- One\nX_TWO 2.0 body: two -- Two\n"; string(got) != want {
		t.Errorf("rules:\n%s\nwant:\n%s", got, want)
	}
	got, _ = os.ReadFile(filepath.Join(dir, build.ScoresSource))
	if want := "# s\nBAYES_CAL_LOGIT 0.457\nBAYES_CAL_CONST -0.500\nFORGED_MAILER 2.5\n"; string(got) != want {
		t.Errorf("sign scores:\n%s\nwant:\n%s", got, want)
	}
	if err := rewriteScores(dir, map[string]float64{"X_THREE": 1}); err == nil || !strings.Contains(err.Error(), "X_THREE") {
		t.Errorf("a fitted name without a line: %v", err)
	}
}

// readPriors reads fit.priors from the rule directory when it is there, an
// explicit file otherwise, and names the file and line of a bad entry.
func TestReadPriors(t *testing.T) {
	dir := t.TempDir()
	if p, err := readPriors("", dir); err != nil || p != nil {
		t.Fatalf("no priors file: %v, %v; want nil, nil", p, err)
	}
	os.WriteFile(filepath.Join(dir, priorsSource), []byte("# hand-set\nX_ONE 1.5\nFORGED_MAILER 3.0\n"), 0o644)
	p, err := readPriors("", dir)
	if err != nil || len(p) != 2 || p["X_ONE"] != 1.5 || p["FORGED_MAILER"] != 3 {
		t.Fatalf("priors %v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.priors")
	os.WriteFile(bad, []byte("X_ONE one\n"), 0o644)
	if _, err := readPriors(bad, dir); err == nil || !strings.Contains(err.Error(), "bad.priors:1") {
		t.Errorf("bad priors: %v, want an error naming bad.priors:1", err)
	}
	if _, err := readPriors(filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("a named priors file that is missing: no error")
	}
}

// TestFitRepeatable: a refit of the train split writes the same sources
// whatever calibration they held before, so it depends on the training
// mail and the priors only (the calibration once started from the last
// fit's values, and FAKE_REPLY, near a rounding edge, flipped between 0.6
// and 0.7 on every refit).
func TestFitRepeatable(t *testing.T) {
	root, err := corpus.Locate()
	if err != nil {
		t.Skipf("needs the corpus: %v", err)
	}
	listFile := "../../db-src/train.txt"
	rules := filepath.Join(t.TempDir(), "rules")
	if err := os.CopyFS(rules, os.DirFS("../../db-src/rules")); err != nil {
		t.Fatal(err)
	}
	fit := func() map[string]string {
		var out bytes.Buffer
		if err := run([]string{"fit", "-blocked", "-write", "-rules", rules, "-train", listFile, "-corpus", root}, &out); err != nil {
			t.Fatalf("fit: %v\n%s", err, out.String())
		}
		files := map[string]string{}
		entries, _ := os.ReadDir(rules)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(rules, e.Name()))
			files[e.Name()] = string(b)
		}
		return files
	}
	first := fit()
	// Another calibration in the sources, as a hand edit or an older fit
	// leaves it, must not change where the refit ends.
	scores := filepath.Join(rules, build.ScoresSource)
	moved := regexp.MustCompile(`(?m)^(BAYES_CAL_[A-Z]+) .*$`).ReplaceAllString(first[build.ScoresSource], "$1 1.5")
	if err := os.WriteFile(scores, []byte(moved), 0o644); err != nil {
		t.Fatal(err)
	}
	second := fit()
	for name, b := range first {
		if second[name] != b {
			t.Errorf("%s differs after a refit from another calibration", name)
		}
	}
}
