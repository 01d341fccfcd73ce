package bayes

import (
	"math"
	"testing"
)

// TestCalibrationFewClues: the classifier's logit and mean log-odds count in
// full from FullClues clues on and in proportion below; the linear model's
// log-odds never scale.
func TestCalibrationFewClues(t *testing.T) {
	c := Calibration{Logit: 1, LogOdds: 1, Linear: 1, Clamp: 8, FullClues: 30}
	clues := func(n int) []Clue { return make([]Clue, n) }
	full := math.Log(0.9 / 0.1)
	for _, tc := range []struct {
		clues          int
		logit, logOdds float64
	}{
		{30, full, 2},
		{60, full, 2},
		{15, full / 2, 1},
		{3, full / 10, 0.2},
		{0, 0, 0},
	} {
		x, y, z := c.Features(Result{Prob: 0.9, LogOdds: 2, Clues: clues(tc.clues)}, 3)
		if math.Abs(x-tc.logit) > 1e-9 || math.Abs(y-tc.logOdds) > 1e-9 || z != 3 {
			t.Errorf("%d clues: features %.4f %.4f %.4f, want %.4f %.4f 3", tc.clues, x, y, z, tc.logit, tc.logOdds)
		}
	}
	c.FullClues = 0
	if x, _, _ := c.Features(Result{Prob: 0.9, Clues: clues(1)}, 0); math.Abs(x-full) > 1e-9 {
		t.Errorf("FullClues 0: logit %.4f, want %.4f", x, full)
	}
}
