package engine

import (
	"reflect"
	"slices"
	"testing"

	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

func settings(l policy.Level, probable bool) *policy.Settings {
	return &policy.Settings{Detection: true, Level: l, ProbableSpam: probable}
}

func TestDecideThresholds(t *testing.T) {
	tests := []struct {
		score    float64
		level    policy.Level
		probable bool
		want     verdict.Status
	}{
		{0, policy.Standard, true, verdict.NotDetected},
		{4.49, policy.Standard, true, verdict.NotDetected},
		{4.5, policy.Standard, true, verdict.ProbableSpam},
		{5.99, policy.Standard, true, verdict.ProbableSpam},
		{6, policy.Standard, true, verdict.Spam},
		{5, policy.Standard, false, verdict.NotDetected}, // PROBABLE_SPAM off
		{6, policy.Standard, false, verdict.Spam},
		{6, policy.Minimum, true, verdict.NotDetected},
		{7, policy.Minimum, true, verdict.ProbableSpam},
		{9, policy.Minimum, true, verdict.Spam},
		{3.5, policy.High, true, verdict.ProbableSpam},
		{5, policy.High, true, verdict.Spam},
		{2.5, policy.Maximum, true, verdict.ProbableSpam},
		{4, policy.Maximum, true, verdict.Spam},
		{-3, policy.Maximum, true, verdict.NotDetected},
	}
	for _, tt := range tests {
		gv := &GroupVerdict{Signs: []Sign{{Name: "X", Score: tt.score, Method: "content"}}}
		decide(gv, settings(tt.level, tt.probable))
		if gv.Status != tt.want {
			t.Errorf("score %.2f at %s (probable %v): %s, want %s", tt.score, tt.level, tt.probable, gv.Status, tt.want)
		}
	}
}

// TestLevelsOrdered: every level's thresholds are at or below the previous
// level's, so raising the level never makes a status milder.
func TestLevelsOrdered(t *testing.T) {
	levels := []policy.Level{policy.Minimum, policy.Standard, policy.High, policy.Maximum}
	prevP, prevS := 1e9, 1e9
	for _, l := range levels {
		p, s := l.Thresholds()
		if p > prevP || s > prevS || p > s {
			t.Errorf("%s thresholds %.1f/%.1f break the order (previous %.1f/%.1f)", l, p, s, prevP, prevS)
		}
		prevP, prevS = p, s
	}
}

func TestDecidePrecedence(t *testing.T) {
	sign := func(name string, st verdict.Status, score float64) Sign {
		return Sign{Name: name, Status: st, Score: score, Method: name}
	}
	tests := []struct {
		name  string
		signs []Sign
		want  verdict.Status
		rate  int
	}{
		{"white beats black", []Sign{sign("black", verdict.Blacklisted, 0), sign("white", verdict.Trusted, 0)}, verdict.Trusted, 0},
		{"black beats gtube", []Sign{sign("gtube", verdict.Spam, 1000), sign("black", verdict.Blacklisted, 0)}, verdict.Blacklisted, 100},
		{"gtube beats formal", []Sign{sign("formal", verdict.Formal, 0), sign("gtube", verdict.Spam, 1000)}, verdict.Spam, 100},
		{"formal beats score", []Sign{sign("formal", verdict.Formal, 0), sign("content", verdict.StatusNone, 50)}, verdict.Formal, 0},
		{"score alone", []Sign{sign("content", verdict.StatusNone, 7)}, verdict.Spam, 100},
		{"ham signs lower the score", []Sign{sign("content", verdict.StatusNone, 7), sign("bayes", verdict.StatusNone, -5)}, verdict.NotDetected, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gv := &GroupVerdict{Signs: tt.signs}
			decide(gv, settings(policy.Standard, true))
			if gv.Status != tt.want || gv.Rate != tt.rate {
				t.Errorf("status %s rate %d, want %s rate %d", gv.Status, gv.Rate, tt.want, tt.rate)
			}
		})
	}
}

func TestDecideReport(t *testing.T) {
	gv := &GroupVerdict{Signs: []Sign{
		{Name: "SMALL", Score: 0.5, Method: "headers"},
		{Name: "PHARMA", Score: 3, Method: "content", Category: "pharma"},
		{Name: "BAYES", Score: 2.5, Method: "content"},
		{Name: "OBSCENE", Score: 0.3, Method: "content", Category: "obscene"},
		{Name: "PHARMA2", Score: 0.1, Method: "content", Category: "pharma"},
	}}
	decide(gv, settings(policy.Standard, true))
	if gv.Status != verdict.Spam || gv.Score != 6.4 || gv.Method != "content" {
		t.Errorf("status %s score %v method %q", gv.Status, gv.Score, gv.Method)
	}
	if want := []string{"pharma", "obscene"}; !reflect.DeepEqual(gv.Categories, want) {
		t.Errorf("categories %v, want %v", gv.Categories, want)
	}
	var names []string
	for _, s := range gv.Signs {
		names = append(names, s.Name)
	}
	if want := []string{"PHARMA", "BAYES", "SMALL", "OBSCENE", "PHARMA2"}; !reflect.DeepEqual(names, want) {
		t.Errorf("report order %v, want %v (by weight)", names, want)
	}
	if gv.Rate < 90 || gv.Rate > 100 {
		t.Errorf("rate %d for SPAM, want 90..100", gv.Rate)
	}
}

// TestDecideForged: a sign saying the message is forged takes away the
// credit of the message's words (negative content scores); scores for
// spam and other methods' ham scores stay.
func TestDecideForged(t *testing.T) {
	signs := func(forged bool) []Sign {
		return []Sign{
			{Name: "LOOKALIKE_DOMAIN", Score: 4.5, Method: "headers", Forged: forged},
			{Name: "BAYES_05", Score: -2.8, Method: "content"},
			{Name: "BANK_DETAILS_CHANGE", Score: 1.5, Method: "content"},
			{Name: "REPLY_TO_SENT", Score: -3, Method: "headers"},
			{Name: "DKIM_VALID", Score: -0.2, Method: "DKIM"},
			{Name: "DMARC_PASS", Score: -0.2, Method: "DMARC"},
		}
	}
	for _, tc := range []struct {
		forged bool
		score  float64
	}{
		{false, -0.2},
		{true, 3},
	} {
		gv := &GroupVerdict{Signs: signs(tc.forged)}
		decide(gv, settings(policy.Standard, true))
		if gv.Score != tc.score {
			t.Errorf("forged %v: score %v, want %v (signs %v)", tc.forged, gv.Score, tc.score, gv.Signs)
		}
	}
}

// TestDecideAlone: a sign that may not flag by itself (the classifier's)
// counts at most its cap unless another sign adds toward spam.
func TestDecideAlone(t *testing.T) {
	bayes := Sign{Name: "BAYES_999", Score: 6.8, Method: "content", Alone: 4}
	for _, tc := range []struct {
		name   string
		others []Sign
		score  float64
		status verdict.Status
	}{
		{"alone", nil, 4, verdict.NotDetected},
		{"with zero-score style signs", []Sign{{Name: "STYLE_HTML_CENTER"}}, 4, verdict.NotDetected},
		{"with a ham sign", []Sign{{Name: "DKIM_VALID", Score: -0.2}}, 3.8, verdict.NotDetected},
		{"backed by a rule", []Sign{{Name: "BULK_DEAR", Score: 0.4}}, 7.2, verdict.Spam},
		{"backed by a header sign", []Sign{{Name: "FORGED_MAILER", Score: 1.5}}, 8.3, verdict.Spam},
	} {
		gv := &GroupVerdict{Signs: append([]Sign{bayes}, tc.others...)}
		decide(gv, settings(policy.Standard, true))
		if gv.Score != tc.score || gv.Status != tc.status {
			t.Errorf("%s: %s %v, want %s %v (signs %v)", tc.name, gv.Status, gv.Score, tc.status, tc.score, gv.Signs)
		}
	}
	low := &GroupVerdict{Signs: []Sign{{Name: "BAYES_80", Score: 2.5, Alone: 4}}}
	if decide(low, settings(policy.Standard, true)); low.Score != 2.5 {
		t.Errorf("a score under the cap changed: %v", low.Score)
	}
}

// TestDecideWith: a sign that only means something beside another counts
// with it and is dropped without it, or when the other adds nothing.
func TestDecideWith(t *testing.T) {
	stranger := Sign{Name: "STRANGER", Score: 2.5, Method: "headers", With: []string{"BANK_CHANGE", "PAYROLL"}}
	for _, tc := range []struct {
		name   string
		others []Sign
		score  float64
		kept   bool
	}{
		{"alone", nil, 0, false},
		{"beside an unrelated sign", []Sign{{Name: "HTML_ONLY", Score: 1.3}}, 1.3, false},
		{"beside the sign it needs", []Sign{{Name: "BANK_CHANGE", Score: 1.5}}, 4, true},
		{"beside the second it may need", []Sign{{Name: "PAYROLL", Score: 1.5}, {Name: "BAYES_50", Score: 0.5}}, 4.5, true},
		{"beside it re-weighted to nothing", []Sign{{Name: "BANK_CHANGE", Score: 0}}, 0, false},
	} {
		gv := &GroupVerdict{Signs: append([]Sign{stranger}, tc.others...)}
		decide(gv, settings(policy.Standard, true))
		kept := slices.ContainsFunc(gv.Signs, func(sg Sign) bool { return sg.Name == stranger.Name })
		if gv.Score != tc.score || kept != tc.kept {
			t.Errorf("%s: score %v kept %v, want %v %v (signs %v)", tc.name, gv.Score, kept, tc.score, tc.kept, gv.Signs)
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		score, spam float64
		want        int
	}{
		{0, 6, 0}, {-4, 6, 0}, {3, 6, 45}, {6, 6, 90}, {6.67, 6, 100}, {100, 6, 100}, {2, 4, 45},
	}
	for _, tt := range tests {
		if got := rate(tt.score, tt.spam); got != tt.want {
			t.Errorf("rate(%v, %v) = %d, want %d", tt.score, tt.spam, got, tt.want)
		}
	}
}

func TestFinal(t *testing.T) {
	if final([]Result{{Signs: []Sign{{Status: verdict.Spam}}}}) {
		t.Error("forced SPAM is final, but a later white list must still win")
	}
	if !final([]Result{{}, {Signs: []Sign{{Status: verdict.Trusted}}}}) {
		t.Error("TRUSTED is not final")
	}
}

func TestRescore(t *testing.T) {
	signs := []Sign{
		{Name: "FORGED_MAILER", Score: 1.5},
		{Name: "GTUBE", Score: 1000, Status: verdict.Spam},
		{Name: "OTHER", Score: 0.7},
	}
	rescore(signs, map[string]float64{"FORGED_MAILER": 3, "GTUBE": 1, "UNUSED": 9})
	want := []float64{3, 1000, 0.7} // forced signs keep their score
	for i, s := range signs {
		if s.Score != want[i] {
			t.Errorf("%s: score %.1f, want %.1f", s.Name, s.Score, want[i])
		}
	}
	rescore(signs, nil)
	if signs[0].Score != 3 {
		t.Error("nil scores changed a sign")
	}
}
