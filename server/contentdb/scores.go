package contentdb

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/scilla-mail/scilla/server/bayes"
)

// maxSignScore bounds a score in the scores file: a sign is evidence, not a
// verdict (forced statuses such as GTUBE's are not scores).
const maxSignScore = 20

// ParseScores reads a scores file: one "SIGN_NAME SCORE" a line, '#'
// comments and blank lines ignored. The scores replace the built-in scores
// of the named signs of the checks that are not rules (header and MIME
// structure signs, fuzzy signatures), so a database update can re-weight
// them the way it re-weights rules. The BAYES_CAL_* entries are the
// classifier's calibration instead (see takeCalibration). Errors name the
// file and line.
func ParseScores(name string, src []byte) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"SIGN_NAME SCORE\", got %q", name, n, line)
		}
		if !signName(f[0]) {
			return nil, fmt.Errorf("%s:%d: %q is not a sign name (A-Z, 0-9 and _, starting with a letter)", name, n, f[0])
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.Abs(v) > maxSignScore {
			return nil, fmt.Errorf("%s:%d: %s: score %q is not a number in [-%d, %d]", name, n, f[0], f[1], maxSignScore, maxSignScore)
		}
		if _, dup := out[f[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", name, n, f[0])
		}
		out[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func signName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// FormatScores writes scores in the form ParseScores reads, sorted by name,
// so the same scores always give the same bytes.
func FormatScores(scores map[string]float64) []byte {
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, strconv.FormatFloat(scores[n], 'f', -1, 64))
	}
	return b.Bytes()
}

// CalibrationNames returns the scores file's names for the coefficients of
// bayes.Calibration, in the order Logit, LogOdds, Linear, Const (the clamp
// is fixed): the bayes sign's score is a function of the classifier's
// outcome, and these are its coefficients.
func CalibrationNames() [4]string {
	return [4]string{"BAYES_CAL_LOGIT", "BAYES_CAL_LOGODDS", "BAYES_CAL_LINEAR", "BAYES_CAL_CONST"}
}

// takeCalibration removes the BAYES_CAL_* entries from scores and returns
// the calibration they give: all four or none (the default calibration).
func takeCalibration(scores map[string]float64) (bayes.Calibration, error) {
	cal := bayes.DefaultCalibration()
	fields := []*float64{&cal.Logit, &cal.LogOdds, &cal.Linear, &cal.Const}
	names := CalibrationNames()
	found := 0
	for i, n := range names {
		if v, ok := scores[n]; ok {
			*fields[i] = v
			delete(scores, n)
			found++
		}
	}
	if found != 0 && found != len(names) {
		return bayes.Calibration{}, fmt.Errorf("the classifier's calibration needs all of %s, or none", strings.Join(names[:], ", "))
	}
	return cal, nil
}
