package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb/corpus"
)

// dated returns an item whose Date field is day d of September 2002.
func dated(spam bool, d int) corpus.Item {
	raw := fmt.Sprintf("From: a@example.com\r\nDate: %d Sep 2002 10:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n", d)
	return corpus.Item{Spam: spam, Raw: []byte(raw)}
}

func TestFoldsOf(t *testing.T) {
	// Spam listed newest first, ham interleaved.
	items := []corpus.Item{
		dated(true, 30), dated(false, 1), dated(true, 20), dated(false, 2),
		dated(true, 10), dated(false, 3), dated(true, 5), dated(false, 4),
	}
	tests := []struct {
		name    string
		blocked bool
		want    []int
	}{
		{"by position", false, []int{0, 1, 0, 1, 0, 1, 0, 1}},
		// Spam by date: days 5 and 10 in fold 0, 20 and 30 in fold 1; ham
		// keeps its position folds.
		{"blocked", true, []int{1, 1, 1, 1, 0, 1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := foldsOf(items, 2, tt.blocked)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("folds %v, want %v", got, tt.want)
			}
		})
	}
	splits := []struct {
		hamFold int
		want    string // the days of the held-out items, in list order
	}{
		// The newer 40 % of four spams is the newest two (days 20 and 30);
		// ham at positions divisible by 5 (position 5: the ham of day 3).
		{0, "[30 20 3]"},
		// The newest fifth of the four hams: the ham of day 4.
		{5, "[30 20 4]"},
	}
	for _, sp := range splits {
		train, test := temporalSplit(items, 60, sp.hamFold)
		var days []int
		for _, it := range test {
			var d int
			fmt.Sscanf(strings.SplitN(string(it.Raw), "Date: ", 2)[1], "%d", &d)
			days = append(days, d)
		}
		if fmt.Sprint(days) != sp.want || len(train)+len(test) != len(items) {
			t.Errorf("temporal split, ham fold %d: held out days %v (%d trained), want %s", sp.hamFold, days, len(train), sp.want)
		}
	}
}

// TestChronological: ham and spam together, oldest first by Date, undated
// first and in list order.
func TestChronological(t *testing.T) {
	undated := corpus.Item{Raw: []byte("Subject: no date\r\n\r\nbody\r\n")}
	items := []corpus.Item{dated(true, 30), dated(false, 2), undated, dated(true, 5), dated(false, 12)}
	var days []int
	for _, it := range chronological(items) {
		d := 0
		if _, rest, ok := strings.Cut(string(it.Raw), "Date: "); ok {
			fmt.Sscanf(rest, "%d", &d)
		}
		days = append(days, d)
	}
	if fmt.Sprint(days) != "[0 2 5 12 30]" {
		t.Errorf("days in order %v, want [0 2 5 12 30]", days)
	}
}
