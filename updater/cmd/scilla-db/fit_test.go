package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb/build"
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
