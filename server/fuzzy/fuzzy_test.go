package fuzzy

import (
	"bytes"
	"strings"
	"testing"
)

const spam = `Dear friend, we are pleased to inform you that you have been selected to
receive a special offer on our premium vitamins and herbal supplements. Our
products are made from all natural ingredients and are shipped directly to
your door within three business days. Order today and receive a second bottle
absolutely free of charge. This limited time offer expires at the end of the
month so do not delay. Call our toll free number or visit our website to place
your order now. Satisfaction guaranteed or your money back, no questions asked.`

// change replaces every n-th word, as spammers do to dodge exact checksums.
func change(s string, n int) string {
	w := strings.Fields(s)
	for i := n / 2; i < len(w); i += n {
		w[i] = "zz" + w[i] + "q"
	}
	return strings.Join(w, " ")
}

func TestSpamWithWordsChangedMatches(t *testing.T) {
	known, ok := Sign(spam)
	if !ok {
		t.Fatal("no signature for the spam")
	}
	ix := NewIndex([]Signature{known})
	cases := []struct {
		name    string
		text    string
		min     float64
		matches bool
	}{
		{"identical", spam, 1, true},
		{"prices changed", strings.ReplaceAll(spam, "three", "3"), 0.85, true},
		{"every 15th word changed", change(spam, 15), 0.5, true},
		{"every 25th word changed", change(spam, 25), 0.65, true},
		{"reflowed and shouted", strings.ToUpper(strings.Join(strings.Fields(spam), "\n  ")), 1, true},
		{"unrelated text", strings.Repeat("the build failed on the new compiler so I reverted the linker flags and ran the tests again ", 3), 0, false},
	}
	for _, c := range cases {
		sig, ok := Sign(c.text)
		if !ok {
			t.Fatalf("%s: no signature", c.name)
		}
		sim, id := ix.Best(&sig)
		if c.matches && (id != 0 || sim < c.min) {
			t.Errorf("%s: similarity %.2f id %d, want ≥ %.2f", c.name, sim, id, c.min)
		}
		if !c.matches && sim >= 0.5 {
			t.Errorf("%s: similarity %.2f, want no match", c.name, sim)
		}
	}
	if _, ok := Sign("too short to sign"); ok {
		t.Error("short text signed")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	a, _ := Sign(spam)
	b, _ := Sign(change(spam, 5))
	enc := Marshal([]Signature{b, a, a})
	if !bytes.Equal(enc, Marshal([]Signature{a, b})) {
		t.Error("encoding not canonical")
	}
	got, err := Unmarshal(enc)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	for _, bad := range [][]byte{nil, []byte(magic), enc[:len(enc)-3]} {
		if _, err := Unmarshal(bad); err == nil {
			t.Errorf("accepted %d bad bytes", len(bad))
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	a, _ := Sign(spam)
	f.Add(Marshal([]Signature{a}))
	f.Fuzz(func(t *testing.T, b []byte) {
		sigs, err := Unmarshal(b)
		if err == nil {
			NewIndex(sigs)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	text := strings.Repeat(spam+" ", 5)
	for b.Loop() {
		Sign(text)
	}
}
