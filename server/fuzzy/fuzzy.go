// Package fuzzy makes and matches fuzzy signatures of message text: min-hash
// over word shingles of the normalised text, so that a known spam still
// matches after the sender changes, adds or removes a few words. Signatures
// of known spam come from the content database; an Index finds the closest
// one through locality-sensitive hashing (bands of the signature), so a
// lookup costs a few map probes however many signatures there are.
package fuzzy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Signature parameters. 64 min-hashes in 16 bands of 4 find pairs with
// Jaccard similarity above about 0.5 with high probability.
const (
	K         = 64
	bands     = 16
	rows      = K / bands
	shingle   = 3
	minWords  = 20
	maxWords  = 4000
	maxWordLn = 30
)

// Signature is the min-hash of a text's shingles.
type Signature [K]uint32

// mix holds the per-hash multipliers and offsets, fixed forever: changing
// them invalidates every published signature.
var mix = func() (m [K][2]uint64) {
	x := uint64(0x5c111a5eed)
	next := func() uint64 { // splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	for i := range m {
		m[i] = [2]uint64{next() | 1, next()}
	}
	return m
}()

// Sign computes the signature of a text; ok is false when the text is too
// short to say anything (fewer than minWords words).
func Sign(text string) (sig Signature, ok bool) {
	words := normalise(text)
	if len(words) < minWords {
		return sig, false
	}
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	for i := 0; i+shingle <= len(words); i++ {
		h := uint64(14695981039346656037)
		for _, w := range words[i : i+shingle] {
			h ^= w
			h *= 1099511628211
		}
		for j := range sig {
			v := uint32((h*mix[j][0] + mix[j][1]) >> 32)
			if v < sig[j] {
				sig[j] = v
			}
		}
	}
	return sig, true
}

// normalise returns hashes of the text's words: lower-case letters and digits
// only, numbers folded to one word (so changed prices and ids do not count).
func normalise(text string) []uint64 {
	out := make([]uint64, 0, 256)
	var h uint64
	n := 0
	digits := true
	flush := func() {
		if n >= 2 {
			if digits {
				h = 0x9ae16a3b2f90404f // every number is the same word
			}
			out = append(out, h)
		}
		h, n, digits = 14695981039346656037, 0, true
	}
	flush()
	for i := 0; i < len(text) && len(out) < maxWords; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if n < maxWordLn {
				r = unicode.ToLower(r)
				h ^= uint64(r)
				h *= 1099511628211
				if !unicode.IsDigit(r) {
					digits = false
				}
			}
			n++
			continue
		}
		flush()
	}
	flush()
	return out
}

// Similarity estimates the Jaccard similarity of the two shingle sets.
func Similarity(a, b *Signature) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / K
}

// Index finds signatures similar to a query.
type Index struct {
	sigs  []Signature
	bands map[uint64][]int32
}

// NewIndex indexes the signatures.
func NewIndex(sigs []Signature) *Index {
	ix := &Index{sigs: sigs, bands: make(map[uint64][]int32, len(sigs)*bands)}
	for id := range sigs {
		for b := 0; b < bands; b++ {
			k := bandKey(&sigs[id], b)
			ix.bands[k] = append(ix.bands[k], int32(id))
		}
	}
	return ix
}

func bandKey(s *Signature, b int) uint64 {
	h := uint64(b) * 0x9e3779b97f4a7c15
	for _, v := range s[b*rows : (b+1)*rows] {
		h ^= uint64(v)
		h *= 0x100000001b3
		h ^= h >> 29
	}
	return h
}

// Len returns the number of signatures.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.sigs)
}

// Best returns the highest similarity of a known signature sharing a band
// with sig, and its position; 0, -1 when none shares a band.
func (ix *Index) Best(sig *Signature) (sim float64, id int) {
	id = -1
	if ix == nil {
		return 0, -1
	}
	seen := map[int32]bool{}
	for b := 0; b < bands; b++ {
		for _, c := range ix.bands[bandKey(sig, b)] {
			if seen[c] {
				continue
			}
			seen[c] = true
			if s := Similarity(sig, &ix.sigs[c]); s > sim {
				sim, id = s, int(c)
			}
		}
	}
	return sim, id
}

// magic opens an encoded signature list; the digit is the encoding version.
const magic = "SCFUZZY1"

// ErrFormat is returned for an encoded list that cannot be read.
var ErrFormat = errors.New("fuzzy: bad signature list")

// Marshal encodes signatures sorted and deduplicated, so the same set
// always gives the same bytes.
func Marshal(sigs []Signature) []byte {
	s := slices.Clone(sigs)
	slices.SortFunc(s, func(a, b Signature) int { return slices.Compare(a[:], b[:]) })
	s = slices.Compact(s)
	var buf bytes.Buffer
	buf.WriteString(magic)
	binary.Write(&buf, binary.BigEndian, uint32(len(s)))
	for i := range s {
		binary.Write(&buf, binary.BigEndian, s[i][:])
	}
	return buf.Bytes()
}

// Unmarshal decodes a list written by Marshal.
func Unmarshal(b []byte) ([]Signature, error) {
	if !strings.HasPrefix(string(b[:min(len(b), len(magic))]), magic) || len(b) < len(magic)+4 {
		return nil, fmt.Errorf("%w: missing header", ErrFormat)
	}
	b = b[len(magic):]
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(n)*K*4 {
		return nil, fmt.Errorf("%w: %d bytes for %d signatures", ErrFormat, len(b), n)
	}
	sigs := make([]Signature, n)
	for i := range sigs {
		for j := range sigs[i] {
			sigs[i][j] = binary.BigEndian.Uint32(b)
			b = b[4:]
		}
	}
	return sigs, nil
}
