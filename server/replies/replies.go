// Package replies remembers the Message-IDs of the mail protected users send
// (authenticated submissions), so that the answers to it are recognised: a
// message whose In-Reply-To or References names one of them continues a
// conversation a user started, the mail a filter must least of all lose.
// It remembers their names too (the From of their submissions, the To and
// Cc of the clean mail they receive), so that a stranger's mail in a
// colleague's or the boss's name is recognised, and the domains they write
// to, so that a stranger's domain made to be taken for a correspondent's
// (a supplier's name with a letter changed) is.
//
// Only a digest of each id and name is kept, with its expiry: in a bbolt
// file in the state directory on a single server, in Redis when several
// servers share state (a user may send through one and receive the answer
// through another).
package replies

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/lookalike"
	"github.com/scilla-mail/scilla/server/rules"
	"github.com/scilla-mail/scilla/server/shared"
)

// Config is the `replies` section.
type Config struct {
	// Enabled turns the remembering of sent mail, and so the REPLY_TO_SENT
	// sign, on.
	Enabled bool `yaml:"enabled"`
	// TTL is how long a sent message is remembered, 1h..8760h.
	TTL conf.Duration `yaml:"ttl"`
	// DomainTTL is how long a domain users wrote to is remembered,
	// 1h..8760h: suppliers that invoice once a quarter are correspondents
	// too.
	DomainTTL conf.Duration `yaml:"domain_ttl"`
	// File is the bbolt file, relative to server.state_dir (not used with
	// Redis).
	File string `yaml:"file"`
}

// DefaultConfig remembers sent mail for 30 days and the domains written to
// for a year, in STATE_DIR/replies.db.
func DefaultConfig() Config {
	return Config{Enabled: true, TTL: conf.Duration(720 * time.Hour), DomainTTL: conf.Duration(8760 * time.Hour), File: "replies.db"}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if t := c.TTL.D(); t < time.Hour || t > 8760*time.Hour {
		errs = append(errs, conf.Errorf("ttl", "must be 1h..8760h, got %s", t))
	}
	if t := c.DomainTTL.D(); t < time.Hour || t > 8760*time.Hour {
		errs = append(errs, conf.Errorf("domain_ttl", "must be 1h..8760h, got %s", t))
	}
	if c.File == "" {
		errs = append(errs, conf.Errorf("file", "must be set (a file name, relative to server.state_dir)"))
	}
	return errs
}

// Path is the file's path for a state directory.
func (c Config) Path(stateDir string) string { return conf.StatePath(stateDir, c.File) }

// Store keeps the ids of sent mail and the local users' names; both
// implementations are safe for concurrent use.
type Store interface {
	// Remember records a sent message's id.
	Remember(ctx context.Context, id string) error
	// Known reports whether any of ids was recorded and has not expired.
	Known(ctx context.Context, ids []string) (bool, error)
	// RememberNames records local users' display names, all in one write;
	// what is not a person's full name (nameKey) is not recorded.
	RememberNames(ctx context.Context, names ...string) error
	// KnownName reports whether a display name was recorded, as nameKey
	// compares names, and has not expired.
	KnownName(ctx context.Context, name string) (bool, error)
	// RememberDomains records domains users wrote to, all in one write.
	RememberDomains(ctx context.Context, domains ...string) error
	// Senders looks sender domains up (From, Reply-To), in one read of
	// the store: one Sender for each domain, in order.
	Senders(ctx context.Context, domains []string) ([]Sender, error)
	Close() error
}

// Sender is what the domains users wrote to say about a sender's domain.
type Sender struct {
	// Imitates: the domain is made to be taken for one users wrote to
	// (package lookalike) and is not itself one of them.
	Imitates bool
	// Stranger: users wrote to domains, but to none under the domain's
	// name (the domain itself or a sister under another suffix): a first
	// contact. A store that holds no domain (an engine that sees no
	// submissions) cannot tell and says false.
	Stranger bool
}

// nameKey returns the form a display name is remembered and looked up in:
// its words lower-cased, accents folded and in alphabetical order, so that
// "Kowalski, Jan", "JAN KOWALSKI" and "Jan Kowalski" are one name. It is ""
// for what is not a person's full name: fewer than two words of two letters
// or more (but for a Korean or Chinese name written as one, hanName), more
// than five, or an address.
func nameKey(name string) string {
	if strings.ContainsRune(name, '@') {
		return ""
	}
	words := strings.FieldsFunc(rules.Normalize(name), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '-' && r != '\''
	})
	words = slices.DeleteFunc(words, func(w string) bool {
		return utf8.RuneCountInString(strings.Trim(w, "-'")) < 2 || slices.Contains(titles, w)
	})
	if len(words) == 1 && hanName(words[0]) {
		return words[0]
	}
	if len(words) < 2 || len(words) > 5 {
		return ""
	}
	slices.Sort(words)
	return strings.Join(words, " ")
}

// hanName reports a word of two to four Hangul syllables or Han
// characters: a Korean or Chinese full name, family name first, written
// without a space (김도현, 王小明).
func hanName(w string) bool {
	n := utf8.RuneCountInString(w)
	if n < 2 || n > 4 {
		return false
	}
	for _, r := range w {
		if !unicode.Is(unicode.Hangul, r) && !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

// titles are the forms of address and degrees display names carry, or not,
// before or after the name ("Dr. Katharina Berger", "Dott.ssa Giulia Neri",
// "mgr inż. Jan Nowak", "John Smith Jr."), lower-cased and without accents
// or dots; they are not part of the name.
var titles = []string{
	"mr", "mrs", "ms", "mx", "miss", "sir", "dr", "prof", "rev", "jr", "ii", "iii", "phd", "msc", "bsc", "mba",
	"herr", "frau", "dipl", "ing", "mag", "mme", "mlle", "dott", "ssa", "avv", "sr", "sra", "lic", "arq",
	"dhr", "mevr", "ir", "drs", "mgr", "inz",
}

// maxIDs bounds the ids of one message that are looked up: In-Reply-To and
// the newest References, which name the message answered.
const maxIDs = 10

// IDs returns the message ids in header values ("<a@b> <c@d>"), newest
// last as References lists them, at most the last maxIDs. An id is what
// lies between angle brackets, compared without case.
func IDs(values ...string) []string {
	var ids []string
	for _, v := range values {
		for {
			open := strings.IndexByte(v, '<')
			if open < 0 {
				break
			}
			end := strings.IndexByte(v[open:], '>')
			if end < 0 {
				break
			}
			if id := strings.TrimSpace(v[open+1 : open+end]); id != "" && strings.Contains(id, "@") {
				ids = append(ids, strings.ToLower(id))
			}
			v = v[open+end+1:]
		}
	}
	if len(ids) > maxIDs {
		ids = ids[len(ids)-maxIDs:]
	}
	return ids
}

// digest is the key an id is kept under: the store holds no addresses.
func digest(id string) [16]byte {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Trim(strings.TrimSpace(id), "<>"))))
	return [16]byte(sum[:16])
}

// The buckets of a Local file: sent-message ids, sender names and the keys
// of the domains written to.
var (
	sentBucket    = []byte("sent")
	namesBucket   = []byte("names")
	domainsBucket = []byte("domains")
	buckets       = [][]byte{sentBucket, namesBucket, domainsBucket}
)

// pruneEvery is how often Local drops expired ids, at the next Remember.
const pruneEvery = time.Hour

// Local is the Store of a single server: a bbolt file.
type Local struct {
	db        *bolt.DB
	ttl       time.Duration
	domainTTL time.Duration
	now       func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

// OpenLocal opens (or creates) the file, keeping ids and names for ttl and
// domains for domainTTL; now nil is time.Now.
func OpenLocal(path string, ttl, domainTTL time.Duration, now func() time.Time) (*Local, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open sent-mail ids %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sent-mail ids %s: %w", path, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Local{db: db, ttl: ttl, domainTTL: domainTTL, now: now}, nil
}

// Remember implements Store.
func (l *Local) Remember(_ context.Context, id string) error {
	if err := l.put(sentBucket, l.ttl, id); err != nil {
		return fmt.Errorf("remember sent message: %w", err)
	}
	return nil
}

// RememberNames implements Store.
func (l *Local) RememberNames(_ context.Context, names ...string) error {
	if err := l.refresh(namesBucket, nameKeys(names), l.ttl); err != nil {
		return fmt.Errorf("remember names: %w", err)
	}
	return nil
}

// RememberDomains implements Store.
func (l *Local) RememberDomains(_ context.Context, domains ...string) error {
	if err := l.refresh(domainsBucket, domainKeys(domains), l.domainTTL, anyDomain); err != nil {
		return fmt.Errorf("remember domains: %w", err)
	}
	return nil
}

// refresh records the keys that are not in the bucket or have less than
// half of ttl left to live, in one write, and the keys along when it
// writes at all. Most mail comes under names and goes to domains seen
// before: such a key costs a read, not a write.
func (l *Local) refresh(bucket []byte, keys []string, ttl time.Duration, along ...string) error {
	stale, err := l.stale(bucket, keys, l.now().Add(ttl/2))
	if err != nil || len(stale) == 0 {
		return err
	}
	return l.put(bucket, ttl, append(stale, along...)...)
}

// anyDomain is the key written with every domain's keys, so it expires
// last: the store has learnt where users write to (Stranger).
const anyDomain = "*"

// domainKeys returns the keys of the domains (lookalike.Keys), each once.
func domainKeys(domains []string) []string {
	var keys []string
	for _, d := range domains {
		for _, k := range lookalike.Keys(d) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// nameKeys returns the names' keys (nameKey), each once, without those
// that are not names.
func nameKeys(names []string) []string {
	var keys []string
	for _, n := range names {
		if k := nameKey(n); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// stale returns the keys that are not in the bucket or expire by t.
func (l *Local) stale(bucket []byte, keys []string, t time.Time) ([]string, error) {
	var out []string
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, k := range keys {
			d := digest(k)
			if v := b.Get(d[:]); len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= t.Unix() {
				out = append(out, k)
			}
		}
		return nil
	})
	return out, err
}

// put records a key's digest in a bucket, to expire after ttl, dropping
// the expired keys of all buckets once every pruneEvery.
func (l *Local) put(bucket []byte, ttl time.Duration, keys ...string) error {
	now := l.now()
	l.mu.Lock()
	prune := now.Sub(l.lastPrune) >= pruneEvery
	if prune {
		l.lastPrune = now
	}
	l.mu.Unlock()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(now.Add(ttl).Unix()))
	// Batch: concurrent submissions share one write and one sync.
	return l.db.Batch(func(tx *bolt.Tx) error {
		if prune {
			for _, name := range buckets {
				if err := dropExpired(tx.Bucket(name), now); err != nil {
					return err
				}
			}
		}
		b := tx.Bucket(bucket)
		for _, k := range keys {
			d := digest(k)
			if err := b.Put(d[:], exp[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropExpired deletes the ids whose expiry has passed.
func dropExpired(b *bolt.Bucket, now time.Time) error {
	var old [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now.Unix() {
			old = append(old, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Known implements Store.
func (l *Local) Known(_ context.Context, ids []string) (bool, error) {
	found, err := l.has(sentBucket, ids)
	if err != nil {
		return false, fmt.Errorf("look up sent messages: %w", err)
	}
	return found, nil
}

// KnownName implements Store.
func (l *Local) KnownName(_ context.Context, name string) (bool, error) {
	key := nameKey(name)
	if key == "" {
		return false, nil
	}
	found, err := l.has(namesBucket, []string{key})
	if err != nil {
		return false, fmt.Errorf("look up sender name: %w", err)
	}
	return found, nil
}

// Senders implements Store.
func (l *Local) Senders(_ context.Context, domains []string) ([]Sender, error) {
	return senders(domains, func(keys ...string) (bool, error) { return l.has(domainsBucket, keys) })
}

// senders answers Senders with a store's lookup of keys (has: any of them
// held). A sender's domain imitates one users write to when no domain is
// kept under its own label but one is under a key it reduces to; it is a
// stranger when anyDomain is held and its own label is not. Every write of
// a domain's keys writes anyDomain too, so it outlives each of them.
func senders(domains []string, has func(keys ...string) (bool, error)) ([]Sender, error) {
	out := make([]Sender, len(domains))
	for i, d := range domains {
		own, probes := lookalike.Probes(d)
		if own == "" {
			continue
		}
		mine, err := has(own)
		if err != nil {
			return nil, fmt.Errorf("look up domains written to: %w", err)
		}
		var s Sender
		switch swap, self := lookalike.CoProbes(d); {
		case !mine:
			if s.Stranger, err = has(anyDomain); err == nil {
				s.Imitates, err = has(probes...)
			}
		case swap != "":
			// Users write to a domain of the sender's name, and the sender
			// is under .co: it imitates one under another suffix, unless
			// users write to it too.
			var theirs bool
			if s.Imitates, err = has(swap); s.Imitates && err == nil {
				theirs, err = has(self)
				s.Imitates = !theirs
			}
		}
		if err != nil {
			return nil, fmt.Errorf("look up domains written to: %w", err)
		}
		out[i] = s
	}
	return out, nil
}

// has reports whether any of keys is in the bucket and has not expired.
func (l *Local) has(bucket []byte, keys []string) (bool, error) {
	stale, err := l.stale(bucket, keys, l.now())
	return len(stale) < len(keys), err
}

// Close closes the file.
func (l *Local) Close() error { return l.db.Close() }

// Shared is the Store of servers that share state through Redis: one key
// per id (sent:DIGEST), per name (sentname:DIGEST) and per key of a domain
// written to (sentdomain:DIGEST), expiring by itself.
type Shared struct {
	c         *shared.Client
	ttl       time.Duration
	domainTTL time.Duration
}

// NewShared returns the Store on c, keeping ids and names for ttl and
// domains for domainTTL.
func NewShared(c *shared.Client, ttl, domainTTL time.Duration) *Shared {
	return &Shared{c: c, ttl: ttl, domainTTL: domainTTL}
}

// key is the Redis key of an id ("sent"), a name ("sentname") or a
// domain's key ("sentdomain").
func (s *Shared) key(kind, k string) string {
	d := digest(k)
	return s.c.Key(kind, fmt.Sprintf("%x", d))
}

// Remember implements Store.
func (s *Shared) Remember(ctx context.Context, id string) error {
	if err := s.set(ctx, s.key("sent", id)); err != nil {
		return fmt.Errorf("remember sent message in redis: %w", err)
	}
	return nil
}

// RememberNames implements Store.
func (s *Shared) RememberNames(ctx context.Context, names ...string) error {
	if err := s.setAll(ctx, "sentname", nameKeys(names), s.ttl); err != nil {
		return fmt.Errorf("remember names in redis: %w", err)
	}
	return nil
}

// RememberDomains implements Store.
func (s *Shared) RememberDomains(ctx context.Context, domains ...string) error {
	keys := domainKeys(domains)
	if len(keys) > 0 {
		keys = append(keys, anyDomain)
	}
	if err := s.setAll(ctx, "sentdomain", keys, s.domainTTL); err != nil {
		return fmt.Errorf("remember domains in redis: %w", err)
	}
	return nil
}

// setAll sets the keys of one kind in one round trip.
func (s *Shared) setAll(ctx context.Context, kind string, keys []string, ttl time.Duration) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	_, err := s.c.Redis().Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, s.key(kind, k), 1, ttl)
		}
		return nil
	})
	return err
}

func (s *Shared) set(ctx context.Context, key string) error {
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	return s.c.Redis().Set(ctx, key, 1, s.ttl).Err()
}

// Known implements Store.
func (s *Shared) Known(ctx context.Context, ids []string) (bool, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key("sent", id)
	}
	found, err := s.exists(ctx, keys)
	if err != nil {
		return false, fmt.Errorf("look up sent messages in redis: %w", err)
	}
	return found, nil
}

// KnownName implements Store.
func (s *Shared) KnownName(ctx context.Context, name string) (bool, error) {
	key := nameKey(name)
	if key == "" {
		return false, nil
	}
	found, err := s.exists(ctx, []string{s.key("sentname", key)})
	if err != nil {
		return false, fmt.Errorf("look up sender name in redis: %w", err)
	}
	return found, nil
}

// Senders implements Store: every key the domains may be looked up under
// is read in one round trip, then senders looks them up in what came back.
func (s *Shared) Senders(ctx context.Context, domains []string) ([]Sender, error) {
	if len(domains) == 0 {
		return nil, nil
	}
	keys := []string{anyDomain}
	for _, d := range domains {
		own, probes := lookalike.Probes(d)
		swap, self := lookalike.CoProbes(d)
		for _, k := range append(probes, own, swap, self) {
			if k != "" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = s.key("sentdomain", k)
	}
	rctx, cancel := s.c.Context(ctx)
	defer cancel()
	vals, err := s.c.Redis().MGet(rctx, rkeys...).Result()
	if err != nil {
		return nil, fmt.Errorf("look up domains written to in redis: %w", err)
	}
	held := make(map[string]bool, len(keys))
	for i, v := range vals {
		held[keys[i]] = v != nil
	}
	return senders(domains, func(keys ...string) (bool, error) {
		return slices.ContainsFunc(keys, func(k string) bool { return held[k] }), nil
	})
}

// exists reports whether Redis holds any of keys.
func (s *Shared) exists(ctx context.Context, keys []string) (bool, error) {
	if len(keys) == 0 {
		return false, nil
	}
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	n, err := s.c.Redis().Exists(ctx, keys...).Result()
	return n > 0, err
}

// Close implements Store; the connection belongs to the caller.
func (*Shared) Close() error { return nil }
