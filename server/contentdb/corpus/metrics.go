package corpus

import (
	"math"
	"sort"
)

// Scored is one message's label and score (higher = spammier).
type Scored struct {
	Spam  bool
	Score float64
}

// AUC is the ROC area: the Mann-Whitney statistic with ties counted as ½.
func AUC(s []Scored) float64 {
	sorted := append([]Scored(nil), s...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Score < sorted[j].Score })
	var nSpam, nHam float64
	for _, x := range sorted {
		if x.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	if nSpam == 0 || nHam == 0 {
		return math.NaN()
	}
	// Sum the ranks of the spam, averaging the ranks of ties.
	var rankSum float64
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Score == sorted[i].Score {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if sorted[k].Spam {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - nSpam*(nSpam+1)/2) / (nSpam * nHam)
}

// Operating is the best operating point under a ham false-positive limit.
type Operating struct {
	// Threshold: scores at or above it are spam.
	Threshold float64
	Recall    float64
	FP        int
	FPRate    float64
}

// RecallAtFP returns the lowest threshold (observed score) with a ham FP rate
// at most maxFP, and the recall there. Like the anchors' score.py it picks the
// threshold on the scored set itself: a best-achievable figure.
func RecallAtFP(s []Scored, maxFP float64) Operating {
	var hams, spams []float64
	for _, x := range s {
		if x.Spam {
			spams = append(spams, x.Score)
		} else {
			hams = append(hams, x.Score)
		}
	}
	sort.Float64s(hams)
	allowed := int(math.Floor(maxFP * float64(len(hams))))
	// The threshold must lie above the (allowed+1)-th highest ham.
	thr := math.Inf(-1)
	if allowed < len(hams) {
		thr = math.Nextafter(hams[len(hams)-1-allowed], math.Inf(1))
	}
	// Lower it to the lowest observed score not below thr.
	best := math.Inf(1)
	for _, v := range append(append([]float64(nil), spams...), hams...) {
		if v >= thr && v < best {
			best = v
		}
	}
	op := Operating{Threshold: best}
	for _, v := range spams {
		if v >= best {
			op.Recall++
		}
	}
	for _, v := range hams {
		if v >= best {
			op.FP++
		}
	}
	if len(spams) > 0 {
		op.Recall /= float64(len(spams))
	}
	if len(hams) > 0 {
		op.FPRate = float64(op.FP) / float64(len(hams))
	}
	return op
}
