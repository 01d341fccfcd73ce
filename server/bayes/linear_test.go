package bayes

import (
	"bytes"
	"testing"
)

func TestWeightsSeparateAndRoundTrip(t *testing.T) {
	spam, ham := toks(t, "spam1.eml"), toks(t, "ham1.eml")
	set := [][]string{spam, ham, spam, ham}
	labels := []bool{true, false, true, false}
	w := TrainWeights(set, labels, DefaultTrainParams())
	if s, h := w.Score(spam), w.Score(ham); s <= 0 || h >= 0 {
		t.Errorf("trained spam %.3f, ham %.3f: want positive and negative", s, h)
	}
	// A token seen in neither class has no weight; a nil model says nothing.
	if w.Score([]string{"never-seen"}) != w.Score(nil) {
		t.Error("unknown token changed the score")
	}
	if (*Weights)(nil).Score(spam) != 0 {
		t.Error("nil model scored")
	}
	enc, _ := w.MarshalBinary()
	enc2, _ := TrainWeights(set, labels, DefaultTrainParams()).MarshalBinary()
	if !bytes.Equal(enc, enc2) {
		t.Fatal("training or encoding is not deterministic")
	}
	got, err := UnmarshalWeights(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != w.Len() || got.Score(spam) != w.Score(spam) || got.Score(ham) != w.Score(ham) {
		t.Errorf("round trip differs: %d/%d weights, spam %v/%v", got.Len(), w.Len(), got.Score(spam), w.Score(spam))
	}
	for _, bad := range [][]byte{nil, []byte(weightsMagic), enc[:len(enc)-1], append(append([]byte{}, enc...), 0)} {
		if _, err := UnmarshalWeights(bad); err == nil {
			t.Errorf("accepted %d bad bytes", len(bad))
		}
	}
	// One class only: nothing to separate, an empty model.
	if n := TrainWeights(set[:1], labels[:1], DefaultTrainParams()).Len(); n != 0 {
		t.Errorf("one-class training gave %d weights", n)
	}
}

func FuzzUnmarshalWeights(f *testing.F) {
	enc, _ := TrainWeights([][]string{{"a", "bb"}, {"bb", "ccc"}}, []bool{true, false}, DefaultTrainParams()).MarshalBinary()
	f.Add(enc)
	f.Add([]byte(weightsMagic + "\x02\x01\x01a\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := UnmarshalWeights(data)
		if err != nil {
			return
		}
		again, _ := w.MarshalBinary()
		if !bytes.Equal(again, data) {
			t.Errorf("accepted input does not re-encode identically")
		}
	})
}
