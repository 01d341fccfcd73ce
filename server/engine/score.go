package engine

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Precedence lists forced statuses from strongest to weakest: a white list
// beats a black list, which beats GTUBE and forced spam, which beats FORMAL.
var Precedence = []verdict.Status{verdict.Trusted, verdict.Blacklisted, verdict.Spam, verdict.Formal}

// final reports whether a result forces a status nothing later can override.
func final(results []Result) bool {
	for _, r := range results {
		for _, s := range r.Signs {
			if s.Status == verdict.Trusted {
				return true
			}
		}
	}
	return false
}

// rescore replaces the scores of the signs the content database re-weights
// (contentdb.DB.Scores): header and structure signs are fitted with the
// rules, and a database update can change them without a new binary.
func rescore(signs []Sign, scores map[string]float64) {
	if len(scores) == 0 {
		return
	}
	for i := range signs {
		if v, ok := scores[signs[i].Name]; ok && signs[i].Status == verdict.StatusNone {
			signs[i].Score = v
		}
	}
}

// dropUnbacked removes the signs whose With names no other sign of the
// message that adds toward spam.
func dropUnbacked(signs []Sign) []Sign {
	backed := func(sg Sign) bool {
		return sg.With == nil || slices.ContainsFunc(signs, func(o Sign) bool { return o.Score > 0 && slices.Contains(sg.With, o.Name) })
	}
	if !slices.ContainsFunc(signs, func(sg Sign) bool { return !backed(sg) }) {
		return signs
	}
	var kept []Sign
	for _, sg := range signs {
		if backed(sg) {
			kept = append(kept, sg)
		}
	}
	return kept
}

// capAlone lowers each sign with Sign.Alone to that cap when no other sign
// of the message adds toward spam.
func capAlone(signs []Sign) {
	for _, o := range signs {
		if o.Score > 0 && o.Alone == 0 {
			return
		}
	}
	for i := range signs {
		if sg := &signs[i]; sg.Alone > 0 && sg.Score > sg.Alone {
			sg.Desc += fmt.Sprintf(" (counted %.1f of %.2f: no other sign of spam)", sg.Alone, sg.Score)
			sg.Score = sg.Alone
		}
	}
}

// decide sets status, score, rate, method and categories from the signs.
// A sign that means something only beside another (Sign.With) is dropped
// without it. When a sign says the message is forged (Sign.Forged), the
// negative scores of the content and of the sender's authentication count
// zero first: the forger writes ordinary business words and owns the
// look-alike or free mail domain that passes DKIM and DMARC. A sign that
// may not flag a message by itself (Sign.Alone) is then capped unless
// others back it.
func decide(gv *GroupVerdict, s *policy.Settings) {
	gv.Signs = dropUnbacked(gv.Signs)
	if slices.ContainsFunc(gv.Signs, func(sg Sign) bool { return sg.Forged }) {
		for i := range gv.Signs {
			if sg := &gv.Signs[i]; (sg.Method == "content" || sg.Method == "DKIM" || sg.Method == "DMARC") && sg.Score < 0 {
				sg.Desc += fmt.Sprintf(" (%.2f not counted: the message is forged)", sg.Score)
				sg.Score = 0
			}
		}
	}
	capAlone(gv.Signs)
	sort.SliceStable(gv.Signs, func(i, j int) bool { return math.Abs(gv.Signs[i].Score) > math.Abs(gv.Signs[j].Score) })
	var forced *Sign
	rank := len(Precedence)
	methodScore := map[string]float64{}
	for i := range gv.Signs {
		sg := &gv.Signs[i]
		gv.Score += sg.Score
		// Categories say what the message is; a sign that adds nothing
		// toward spam (a zero or ham score) does not name one.
		if sg.Category != "" && (sg.Score > 0 || sg.Status != verdict.StatusNone) && !slices.Contains(gv.Categories, sg.Category) {
			gv.Categories = append(gv.Categories, sg.Category)
		}
		if sg.Method != "" {
			methodScore[sg.Method] += sg.Score
		}
		if r := slices.Index(Precedence, sg.Status); r >= 0 && r < rank {
			rank, forced = r, sg
		}
	}
	gv.Score = math.Round(gv.Score*100) / 100
	probable, spam := s.Level.Thresholds()
	switch {
	case forced != nil:
		gv.Status, gv.Method = forced.Status, forced.Method
	case gv.Score >= spam:
		gv.Status = verdict.Spam
	case gv.Score >= probable && s.ProbableSpam:
		gv.Status = verdict.ProbableSpam
	default:
		gv.Status = verdict.NotDetected
	}
	if gv.Method == "" && (gv.Status == verdict.Spam || gv.Status == verdict.ProbableSpam) {
		best := 0.0
		for m, sc := range methodScore {
			if sc > best || (sc == best && m < gv.Method) {
				best, gv.Method = sc, m
			}
		}
	}
	switch gv.Status {
	case verdict.Spam, verdict.Blacklisted:
		gv.Rate = max(rate(gv.Score, spam), 90)
		if forced != nil {
			gv.Rate = 100
		}
	case verdict.Trusted, verdict.Formal:
		gv.Rate = 0
	default:
		gv.Rate = rate(gv.Score, spam)
	}
}

// rate maps a score onto 0..100 with the spam threshold at 90.
func rate(score, spam float64) int {
	r := int(math.Round(score / spam * 90))
	return min(max(r, 0), 100)
}
