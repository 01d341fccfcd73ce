// Package bayes is Scilla's statistical classifier: a tokenizer that turns a
// parsed message into prefixed tokens, token counts (shipped in the content
// database and learned locally), and Robinson–Fisher combining of the token
// probabilities as in SpamBayes and bogofilter.
//
// The database's counts are immutable (a *Model); local learning lives in a
// Store (bbolt in the server's state directory) whose counts are added to the
// database's at scan time. The package does not score or decide: the bayes
// check turns the probability into signs.
package bayes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Counts are the number of spam and ham training messages a token was seen in.
type Counts struct {
	Spam, Ham uint32
}

// Model is an immutable table of token counts, e.g. from the content database.
type Model struct {
	// Spam and Ham are the numbers of training messages.
	Spam, Ham uint32
	tokens    map[string]Counts
}

// Len returns the number of distinct tokens.
func (m *Model) Len() int { return len(m.tokens) }

// Lookup returns a token's counts.
func (m *Model) Lookup(tok string) Counts {
	if m == nil {
		return Counts{}
	}
	return m.tokens[tok]
}

// Builder accumulates training messages into a Model.
type Builder struct {
	spam, ham uint32
	tokens    map[string]Counts
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{tokens: map[string]Counts{}} }

// Add counts one message's distinct tokens under the label.
func (b *Builder) Add(spam bool, toks []string) {
	if spam {
		b.spam++
	} else {
		b.ham++
	}
	for _, t := range toks {
		c := b.tokens[t]
		if spam {
			c.Spam++
		} else {
			c.Ham++
		}
		b.tokens[t] = c
	}
}

// Model returns the counts so far, dropping tokens seen in fewer than
// minCount messages (1 keeps everything). The builder stays usable.
func (b *Builder) Model(minCount uint32) *Model {
	m := &Model{Spam: b.spam, Ham: b.ham, tokens: make(map[string]Counts, len(b.tokens))}
	for t, c := range b.tokens {
		if c.Spam+c.Ham >= minCount {
			m.tokens[t] = c
		}
	}
	return m
}

// magic opens the encoded model; the digit is the encoding version.
const magic = "SCBAYES1"

// MarshalBinary encodes the model deterministically: a header with the
// message counts, then the tokens sorted, each as a length-prefixed string and
// two uvarint counts.
func (m *Model) MarshalBinary() ([]byte, error) {
	keys := make([]string, 0, len(m.tokens))
	for t := range m.tokens {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.WriteString(magic)
	var tmp [binary.MaxVarintLen64]byte
	put := func(v uint64) { buf.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	put(uint64(m.Spam))
	put(uint64(m.Ham))
	put(uint64(len(keys)))
	for _, k := range keys {
		c := m.tokens[k]
		put(uint64(len(k)))
		buf.WriteString(k)
		put(uint64(c.Spam))
		put(uint64(c.Ham))
	}
	return buf.Bytes(), nil
}

// ErrFormat is returned for an encoded model that cannot be read.
var ErrFormat = errors.New("bayes: bad token table")

// UnmarshalModel decodes a model written by MarshalBinary.
func UnmarshalModel(b []byte) (*Model, error) {
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, fmt.Errorf("%w: missing %s header", ErrFormat, magic)
	}
	rest := b[len(magic):]
	// get reads one uvarint, refusing overlong encodings so that every
	// accepted table has exactly one encoding.
	get := func(what string, limit uint64) (uint64, error) {
		v, n := binary.Uvarint(rest)
		if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
			return 0, fmt.Errorf("%w: reading %s", ErrFormat, what)
		}
		if v > limit {
			return 0, fmt.Errorf("%w: %s %d out of range", ErrFormat, what, v)
		}
		rest = rest[n:]
		return v, nil
	}
	const maxCount = 1<<32 - 1
	spam, err := get("spam total", maxCount)
	if err != nil {
		return nil, err
	}
	ham, err := get("ham total", maxCount)
	if err != nil {
		return nil, err
	}
	n, err := get("token count", uint64(len(b)))
	if err != nil {
		return nil, err
	}
	m := &Model{Spam: uint32(spam), Ham: uint32(ham), tokens: make(map[string]Counts, min(n, 1<<20))}
	var prev string
	for i := uint64(0); i < n; i++ {
		l, err := get("token length", 1024)
		if err != nil {
			return nil, err
		}
		if uint64(len(rest)) < l {
			return nil, fmt.Errorf("%w: token cut short", ErrFormat)
		}
		tb := rest[:l]
		rest = rest[l:]
		s, err := get("spam count", spam)
		if err != nil {
			return nil, err
		}
		h, err := get("ham count", ham)
		if err != nil {
			return nil, err
		}
		tok := string(tb)
		if i > 0 && tok <= prev {
			return nil, fmt.Errorf("%w: tokens out of order at %q", ErrFormat, tok)
		}
		prev = tok
		m.tokens[tok] = Counts{Spam: uint32(s), Ham: uint32(h)}
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing bytes", ErrFormat)
	}
	return m, nil
}
