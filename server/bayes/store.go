package bayes

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/message"
)

// Label is a training label. The values match scillav1.Label.
type Label int

// Labels.
const (
	LabelSpam Label = 1
	LabelHam  Label = 2
	// LabelForget removes a message's earlier training.
	LabelForget Label = 3
)

// String returns the label's name.
func (l Label) String() string {
	switch l {
	case LabelSpam:
		return "spam"
	case LabelHam:
		return "ham"
	case LabelForget:
		return "forget"
	}
	return fmt.Sprintf("Label(%d)", int(l))
}

// LearnResult says what one Learn call changed.
type LearnResult struct {
	// Learned counts messages whose counts changed (added, or forgotten).
	Learned int
	// Unchanged counts messages already learned with this label (or, for
	// LabelForget, never learned).
	Unchanged int
	// Relabelled counts messages moved from the other label.
	Relabelled int
	// SpamTotal and HamTotal are the domain's learned message totals after the call.
	SpamTotal, HamTotal uint64
}

// ErrLabel is returned for a label Learn does not know.
var ErrLabel = errors.New("bayes: unknown label")

// Store holds learned token counts, per protected domain ("" is the global
// table every scan uses), persisted in a bbolt file (OpenStore) or, for
// several servers, kept in Redis and shared by them (OpenShared). Learning the same
// message twice does not count twice (messages are keyed by a hash of their
// identifying fields and body) and learning it with the other label moves its
// counts. Reads at scan time come from immutable in-memory snapshots, so
// learning never blocks a scan.
type Store struct {
	db     *bolt.DB   // nil when remote is set
	remote *remote    // learning shared through Redis; nil = local only
	mu     sync.Mutex // serialises Learn
	tables sync.Map   // domain → *atomic.Pointer[table]
	limits message.Limits
}

// table is an immutable snapshot of one domain's learned counts and the
// fuzzy signatures of the messages learned as spam.
type table struct {
	spam, ham uint32
	tokens    map[string]Counts
	sigs      map[[32]byte]fuzzy.Signature // by message key
	fuzzy     *fuzzy.Index                 // over sigs; nil when empty
}

// withSigs sets t's signatures and indexes them.
func (t *table) withSigs(sigs map[[32]byte]fuzzy.Signature) {
	t.sigs, t.fuzzy = sigs, nil
	if len(sigs) > 0 {
		t.fuzzy = fuzzy.NewIndex(slices.Collect(maps.Values(sigs)))
	}
}

// Totals implements Source.
func (t *table) Totals() (uint32, uint32) {
	if t == nil {
		return 0, 0
	}
	return t.spam, t.ham
}

// Lookup implements Source.
func (t *table) Lookup(tok string) Counts {
	if t == nil {
		return Counts{}
	}
	return t.tokens[tok]
}

var (
	bucketDomains = []byte("domains")
	bucketTokens  = []byte("tokens")
	bucketMsgs    = []byte("msgs")
	bucketFuzzy   = []byte("fuzzy")
	keyTotals     = []byte("totals")
)

// globalKey names the global table in the file (bbolt names cannot be empty).
const globalKey = "*"

// OpenStore opens (creating if needed) the learning store at path and loads
// its counts into memory.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open learning store %s: %w", path, err)
	}
	s := &Store{db: db, limits: message.DefaultLimits}
	err = db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(bucketDomains)
		if err != nil {
			return err
		}
		return root.ForEachBucket(func(name []byte) error {
			t, err := readTable(root.Bucket(name))
			if err != nil {
				return fmt.Errorf("domain %q: %w", name, err)
			}
			dom := string(name)
			if dom == globalKey {
				dom = ""
			}
			s.ptr(dom).Store(t)
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load learning store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file, or stops the Redis sync loop of a shared store
// (the Redis client is the caller's to close).
func (s *Store) Close() error {
	if s.remote != nil {
		s.remote.close()
		return nil
	}
	return s.db.Close()
}

func (s *Store) ptr(domain string) *atomic.Pointer[table] {
	if p, ok := s.tables.Load(domain); ok {
		return p.(*atomic.Pointer[table])
	}
	p, _ := s.tables.LoadOrStore(domain, new(atomic.Pointer[table]))
	return p.(*atomic.Pointer[table])
}

func readTable(b *bolt.Bucket) (*table, error) {
	t := &table{tokens: map[string]Counts{}}
	if v := b.Get(keyTotals); len(v) == 8 {
		t.spam, t.ham = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
	}
	if fb := b.Bucket(bucketFuzzy); fb != nil {
		sigs := map[[32]byte]fuzzy.Signature{}
		err := fb.ForEach(func(k, v []byte) error {
			sig, ok := decodeSig(v)
			if len(k) != 32 || !ok {
				return fmt.Errorf("fuzzy signature %x: bad value", k)
			}
			sigs[[32]byte(k)] = sig
			return nil
		})
		if err != nil {
			return nil, err
		}
		t.withSigs(sigs)
	}
	tb := b.Bucket(bucketTokens)
	if tb == nil {
		return t, nil
	}
	err := tb.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("token %q: bad value", k)
		}
		t.tokens[string(k)] = Counts{Spam: binary.BigEndian.Uint32(v), Ham: binary.BigEndian.Uint32(v[4:])}
		return nil
	})
	return t, err
}

// encodeSig and decodeSig store a fuzzy signature as 4·K big-endian bytes.
func encodeSig(sig *fuzzy.Signature) []byte {
	b := make([]byte, 0, 4*fuzzy.K)
	for _, v := range sig {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func decodeSig(b []byte) (sig fuzzy.Signature, ok bool) {
	if len(b) != 4*fuzzy.K {
		return sig, false
	}
	for i := range sig {
		sig[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return sig, true
}

// FuzzyBest returns the highest similarity of sig to the fuzzy signature
// of a message learned as spam, globally or for the domain (0 when none is
// close). Like Source it reads immutable snapshots only.
func (s *Store) FuzzyBest(domain string, sig *fuzzy.Signature) float64 {
	if s == nil {
		return 0
	}
	best, _ := s.ptr("").Load().fuzzyIndex().Best(sig)
	if domain = strings.ToLower(domain); domain != "" {
		if d, _ := s.ptr(domain).Load().fuzzyIndex().Best(sig); d > best {
			best = d
		}
	}
	return best
}

// HasFuzzy reports whether a fuzzy signature is learned globally or for
// the domain.
func (s *Store) HasFuzzy(domain string) bool {
	if s == nil {
		return false
	}
	if s.ptr("").Load().fuzzyIndex().Len() > 0 {
		return true
	}
	domain = strings.ToLower(domain)
	return domain != "" && s.ptr(domain).Load().fuzzyIndex().Len() > 0
}

func (t *table) fuzzyIndex() *fuzzy.Index {
	if t == nil {
		return nil
	}
	return t.fuzzy
}

// Source returns the learned counts a scan for the domain uses: the global
// table plus the domain's own. The result is an immutable snapshot.
func (s *Store) Source(domain string) Source {
	if s == nil {
		return nil
	}
	g := s.ptr("").Load()
	domain = strings.ToLower(domain)
	if domain == "" {
		return g
	}
	d := s.ptr(domain).Load()
	if d == nil {
		return g
	}
	return pair{g, d}
}

// pair adds two tables.
type pair struct{ a, b *table }

func (p pair) Totals() (uint32, uint32) {
	s1, h1 := p.a.Totals()
	s2, h2 := p.b.Totals()
	return s1 + s2, h1 + h2
}

func (p pair) Lookup(tok string) Counts {
	x, y := p.a.Lookup(tok), p.b.Lookup(tok)
	return Counts{Spam: x.Spam + y.Spam, Ham: x.Ham + y.Ham}
}

// Totals returns the domain's learned spam and ham message counts.
func (s *Store) Totals(domain string) (spam, ham uint64) {
	sp, h := s.ptr(strings.ToLower(domain)).Load().Totals()
	return uint64(sp), uint64(h)
}

// MessageKey identifies a message for learning: a hash of the fields that
// stay the same when a message is delivered or forwarded again (Message-ID,
// Date, From, Subject) and of its body. Trace fields added in transit, such
// as Received or our own X-Spamtest headers, do not change it.
func MessageKey(m *message.Message) [32]byte {
	h := sha256.New()
	for _, f := range []string{"Message-ID", "Date", "From", "Subject"} {
		h.Write([]byte(f + ":" + strings.TrimSpace(m.Header.Get(f)) + "\n"))
	}
	h.Write(m.Body)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Learn trains the domain's table ("" = global) with messages of a label,
// in one transaction: either all messages are learned or none. A message
// learned before with the other label is relabelled.
func (s *Store) Learn(ctx context.Context, domain string, label Label, raw [][]byte) (LearnResult, error) {
	return s.learn(ctx, domain, label, raw, true)
}

// LearnNew is Learn for messages never learned before: one already
// learned, with either label, is left as it is (Unchanged). Auto-learning
// uses it, so that what a person taught is never overruled.
func (s *Store) LearnNew(ctx context.Context, domain string, label Label, raw [][]byte) (LearnResult, error) {
	return s.learn(ctx, domain, label, raw, false)
}

func (s *Store) learn(ctx context.Context, domain string, label Label, raw [][]byte, relabel bool) (LearnResult, error) {
	if label != LabelSpam && label != LabelHam && label != LabelForget {
		return LearnResult{}, fmt.Errorf("%w %d", ErrLabel, label)
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	items := make([]learnItem, 0, len(raw))
	stems := NewStems()
	for _, r := range raw {
		if err := ctx.Err(); err != nil {
			return LearnResult{}, fmt.Errorf("learn: %w", err)
		}
		m := message.Parse(r, s.limits)
		it := learnItem{key: MessageKey(m), toks: Tokens(m, stems)}
		it.sig, it.hasSig = fuzzy.Sign(m.Text)
		items = append(items, it)
	}
	if s.remote != nil {
		return s.learnShared(ctx, domain, label, items, relabel)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ptr(domain)
	old := p.Load()
	next := &table{tokens: map[string]Counts{}}
	sigs := map[[32]byte]fuzzy.Signature{}
	if old != nil {
		next.spam, next.ham = old.spam, old.ham
		next.tokens = maps.Clone(old.tokens)
		sigs = maps.Clone(old.sigs)
		if sigs == nil {
			sigs = map[[32]byte]fuzzy.Signature{}
		}
	}
	sigsChanged := false
	var res LearnResult
	changed := map[string]struct{}{}
	apply := func(toks []string, spam bool, sign int) {
		if spam {
			next.spam = addU(next.spam, sign)
		} else {
			next.ham = addU(next.ham, sign)
		}
		for _, t := range toks {
			c := next.tokens[t]
			if spam {
				c.Spam = addU(c.Spam, sign)
			} else {
				c.Ham = addU(c.Ham, sign)
			}
			if c == (Counts{}) {
				delete(next.tokens, t)
			} else {
				next.tokens[t] = c
			}
			changed[t] = struct{}{}
		}
	}
	name := domain
	if name == "" {
		name = globalKey
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		db, err := tx.Bucket(bucketDomains).CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		msgs, err := db.CreateBucketIfNotExists(bucketMsgs)
		if err != nil {
			return err
		}
		toksB, err := db.CreateBucketIfNotExists(bucketTokens)
		if err != nil {
			return err
		}
		fuzzB, err := db.CreateBucketIfNotExists(bucketFuzzy)
		if err != nil {
			return err
		}
		// A message learned as spam keeps its fuzzy signature; ham and
		// forget drop it.
		setSig := func(it learnItem, keep bool) error {
			_, had := sigs[it.key]
			switch {
			case keep && it.hasSig && !had:
				sigs[it.key], sigsChanged = it.sig, true
				return fuzzB.Put(it.key[:], encodeSig(&it.sig))
			case !keep && had:
				delete(sigs, it.key)
				sigsChanged = true
				return fuzzB.Delete(it.key[:])
			}
			return nil
		}
		for _, it := range items {
			prev := msgs.Get(it.key[:])
			if prev != nil && !relabel {
				res.Unchanged++
				continue
			}
			if err := setSig(it, label == LabelSpam); err != nil {
				return err
			}
			var prevLabel Label
			var prevToks []string
			if len(prev) > 0 {
				prevLabel = Label(prev[0])
				if prevToks, err = decodeToks(prev[1:]); err != nil {
					return fmt.Errorf("stored message %x: %w", it.key[:8], err)
				}
			}
			switch {
			case label == LabelForget && prev == nil:
				res.Unchanged++
				continue
			case label == LabelForget:
				apply(prevToks, prevLabel == LabelSpam, -1)
				res.Learned++
				if err := msgs.Delete(it.key[:]); err != nil {
					return err
				}
				continue
			case prev != nil && prevLabel == label:
				res.Unchanged++
				continue
			case prev != nil:
				apply(prevToks, prevLabel == LabelSpam, -1)
				res.Relabelled++
			default:
				res.Learned++
			}
			apply(it.toks, label == LabelSpam, +1)
			if err := msgs.Put(it.key[:], append([]byte{byte(label)}, encodeToks(it.toks)...)); err != nil {
				return err
			}
		}
		for t := range changed {
			c, ok := next.tokens[t]
			if !ok {
				if err := toksB.Delete([]byte(t)); err != nil {
					return err
				}
				continue
			}
			var v [8]byte
			binary.BigEndian.PutUint32(v[:], c.Spam)
			binary.BigEndian.PutUint32(v[4:], c.Ham)
			if err := toksB.Put([]byte(t), v[:]); err != nil {
				return err
			}
		}
		var v [8]byte
		binary.BigEndian.PutUint32(v[:], next.spam)
		binary.BigEndian.PutUint32(v[4:], next.ham)
		return db.Put(keyTotals, v[:])
	})
	if err != nil {
		return LearnResult{}, fmt.Errorf("learn %s for %q: %w", label, domain, err)
	}
	if sigsChanged || old == nil {
		next.withSigs(sigs)
	} else {
		next.sigs, next.fuzzy = old.sigs, old.fuzzy
	}
	p.Store(next)
	res.SpamTotal, res.HamTotal = uint64(next.spam), uint64(next.ham)
	return res, nil
}

func addU(v uint32, d int) uint32 {
	if d < 0 && v == 0 {
		return 0
	}
	return uint32(int64(v) + int64(d))
}

func encodeToks(toks []string) []byte {
	var b []byte
	for _, t := range toks {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return b
}

func decodeToks(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, errors.New("bad token list")
		}
		out = append(out, string(b[n:n+int(l)]))
		b = b[n+int(l):]
	}
	return out, nil
}
