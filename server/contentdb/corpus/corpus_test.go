package corpus

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestAUC(t *testing.T) {
	cases := []struct {
		s    []Scored
		want float64
	}{
		{[]Scored{{true, 2}, {false, 1}}, 1},
		{[]Scored{{true, 1}, {false, 2}}, 0},
		{[]Scored{{true, 1}, {false, 1}}, 0.5},
		{[]Scored{{true, 3}, {true, 1}, {false, 2}, {false, 0}}, 0.75},
	}
	for _, c := range cases {
		if got := AUC(c.s); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v: got %v, want %v", c.s, got, c.want)
		}
	}
	if !math.IsNaN(AUC([]Scored{{true, 1}})) {
		t.Error("AUC without ham must be NaN")
	}
}

func TestRecallAtFP(t *testing.T) {
	// 10 hams 0..9, spams at 5..14: with 1 FP allowed the threshold is 9.
	var s []Scored
	for i := 0; i < 10; i++ {
		s = append(s, Scored{false, float64(i)}, Scored{true, float64(i + 5)})
	}
	op := RecallAtFP(s, 0.1)
	if op.Threshold != 9 || op.FP != 1 || op.Recall != 0.6 {
		t.Errorf("got %+v", op)
	}
	op = RecallAtFP(s, 0)
	if op.Threshold != 10 || op.FP != 0 || op.Recall != 0.5 {
		t.Errorf("zero FP: got %+v", op)
	}
}

func TestListAndLoad(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "spam-a"), 0o755)
	os.MkdirAll(filepath.Join(dir, "ham-a"), 0o755)
	os.WriteFile(filepath.Join(dir, "spam-a", "1.txt"), []byte("From x Mon\nSubject: s\n\nbody"), 0o644)
	os.WriteFile(filepath.Join(dir, "ham-a", "1.txt"), []byte("Subject: h\n\nbody"), 0o644)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# comment\nspam-a/1.txt\n\nham-a/1.txt\n"), 0o644)
	items, err := LoadList(dir, list)
	if err != nil || len(items) != 2 {
		t.Fatalf("%v %v", items, err)
	}
	if !items[0].Spam || items[1].Spam || string(items[0].Raw) != "Subject: s\n\nbody" {
		t.Errorf("got %+v", items)
	}
	os.WriteFile(list, []byte("../etc/passwd\n"), 0o644)
	if _, err := ReadList(list); err == nil {
		t.Error("path escaping the root accepted")
	}
}
