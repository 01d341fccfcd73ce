package bayes

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Weights is a logistic-regression model over the same tokens as the
// counts: a bias and one weight per token, trained discriminatively. It
// complements Robinson–Fisher combining, which treats every token as
// independent evidence: a word merely absent from the (usually smaller)
// spam training set makes the counts call new spam ham, while the linear
// model only gives a token the weight it needs to separate the training
// messages. Weights are immutable once built; local learning changes the
// counts, not the weights.
type Weights struct {
	bias float64
	w    map[string]float64
}

// Len returns the number of tokens with a weight.
func (w *Weights) Len() int { return len(w.w) }

// Score returns the model's log-odds for the tokens (0 for a nil model).
func (w *Weights) Score(toks []string) float64 {
	if w == nil {
		return 0
	}
	z := w.bias
	for _, t := range toks {
		z += w.w[t]
	}
	return z
}

// TrainParams tune TrainWeights. The defaults were chosen by
// cross-validation on the training split only (see docs/content.md).
type TrainParams struct {
	// Epochs is the number of passes over the training messages.
	Epochs int
	// Rate is the learning rate of stochastic gradient descent.
	Rate float64
	// L2 shrinks every weight of a message's tokens towards zero on each
	// update.
	L2 float64
}

// DefaultTrainParams returns the tuned training parameters.
func DefaultTrainParams() TrainParams {
	return TrainParams{Epochs: 20, Rate: 0.02, L2: 1e-5}
}

// weightScale is the fixed-point scale of encoded weights: 1e-4 resolution,
// and weights smaller than that are not stored.
const weightScale = 1e4

// TrainWeights fits the linear model by stochastic gradient descent on the
// logistic loss, spam and ham weighted so that each class counts the same.
// The message order is shuffled with a fixed seed and the weights are
// rounded to the encoding's resolution, so the same input always gives the
// same model.
func TrainWeights(toks [][]string, spam []bool, p TrainParams) *Weights {
	var ns, nh float64
	for _, s := range spam {
		if s {
			ns++
		} else {
			nh++
		}
	}
	m := &Weights{w: map[string]float64{}}
	if ns == 0 || nh == 0 {
		return m
	}
	// Tokens become dense indices so the passes are slice arithmetic.
	index := map[string]int{}
	var names []string
	ids := make([][]int, len(toks))
	for i, ts := range toks {
		ids[i] = make([]int, 0, len(ts))
		for _, t := range ts {
			if strings.HasPrefix(t, LanguagePrefix) {
				continue
			}
			k, ok := index[t]
			if !ok {
				k = len(names)
				index[t] = k
				names = append(names, t)
			}
			ids[i] = append(ids[i], k)
		}
	}
	w := make([]float64, len(names))
	var bias float64
	ws, wh := (ns+nh)/(2*ns), (ns+nh)/(2*nh)
	order := make([]int, len(toks))
	for i := range order {
		order[i] = i
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range p.Epochs {
		rnd.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			z := bias
			for _, k := range ids[i] {
				z += w[k]
			}
			y, cw := 0.0, wh
			if spam[i] {
				y, cw = 1, ws
			}
			g := (y - 1/(1+math.Exp(-z))) * cw * p.Rate
			for _, k := range ids[i] {
				w[k] += g - p.L2*w[k]
			}
			bias += g
		}
	}
	for k, v := range w {
		if q := math.Round(v * weightScale); q != 0 {
			m.w[names[k]] = q / weightScale
		}
	}
	m.bias = math.Round(bias*weightScale) / weightScale
	return m
}

// weightsMagic opens the encoded weights; the digit is the encoding version.
const weightsMagic = "SCLINR1\n"

// MarshalBinary encodes the weights deterministically: the magic, the
// bias, the number of tokens, then the tokens sorted, each as a
// length-prefixed string and a zig-zag varint of the weight in 1e-4 units.
func (w *Weights) MarshalBinary() ([]byte, error) {
	keys := make([]string, 0, len(w.w))
	for t := range w.w {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.WriteString(weightsMagic)
	buf.Write(binary.AppendVarint(nil, int64(math.Round(w.bias*weightScale))))
	buf.Write(binary.AppendUvarint(nil, uint64(len(keys))))
	for _, k := range keys {
		buf.Write(binary.AppendUvarint(nil, uint64(len(k))))
		buf.WriteString(k)
		buf.Write(binary.AppendVarint(nil, int64(math.Round(w.w[k]*weightScale))))
	}
	return buf.Bytes(), nil
}

// maxWeight bounds a decoded weight (in 1e-4 units): no trained token
// comes near 100 log-odds units, and a bound keeps a hostile file from
// producing infinities.
const maxWeight = 100 * weightScale

// UnmarshalWeights decodes weights written by MarshalBinary.
func UnmarshalWeights(b []byte) (*Weights, error) {
	if !bytes.HasPrefix(b, []byte(weightsMagic)) {
		return nil, fmt.Errorf("%w: missing weights header", ErrFormat)
	}
	rest := b[len(weightsMagic):]
	sval := func(what string) (float64, error) {
		v, n := binary.Varint(rest)
		if n <= 0 || n != len(binary.AppendVarint(nil, v)) || v > maxWeight || v < -maxWeight {
			return 0, fmt.Errorf("%w: reading %s", ErrFormat, what)
		}
		rest = rest[n:]
		return float64(v) / weightScale, nil
	}
	uval := func(what string, limit uint64) (uint64, error) {
		v, n := binary.Uvarint(rest)
		if n <= 0 || n != len(binary.AppendUvarint(nil, v)) || v > limit {
			return 0, fmt.Errorf("%w: reading %s", ErrFormat, what)
		}
		rest = rest[n:]
		return v, nil
	}
	bias, err := sval("bias")
	if err != nil {
		return nil, err
	}
	n, err := uval("token count", uint64(len(b)))
	if err != nil {
		return nil, err
	}
	w := &Weights{bias: bias, w: make(map[string]float64, n)}
	var prev string
	for i := uint64(0); i < n; i++ {
		l, err := uval("token length", 1024)
		if err != nil {
			return nil, err
		}
		if uint64(len(rest)) < l {
			return nil, fmt.Errorf("%w: token cut short", ErrFormat)
		}
		tok := string(rest[:l])
		rest = rest[l:]
		if i > 0 && tok <= prev {
			return nil, fmt.Errorf("%w: tokens out of order at %q", ErrFormat, tok)
		}
		prev = tok
		v, err := sval("weight")
		if err != nil {
			return nil, err
		}
		if v == 0 {
			return nil, fmt.Errorf("%w: zero weight for %q", ErrFormat, tok)
		}
		w.w[tok] = v
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing bytes", ErrFormat)
	}
	return w, nil
}
