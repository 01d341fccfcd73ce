// Package replies remembers the Message-IDs of the mail protected users send
// (authenticated submissions), so that the answers to it are recognised: a
// message whose In-Reply-To or References names one of them continues a
// conversation a user started, the mail a filter must least of all lose.
// It remembers their names too (the From of their submissions, the To and
// Cc of the clean mail they receive), so that a stranger's mail in a
// colleague's or the boss's name is recognised.
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
	// File is the bbolt file, relative to server.state_dir (not used with
	// Redis).
	File string `yaml:"file"`
}

// DefaultConfig remembers sent mail for 30 days in STATE_DIR/replies.db.
func DefaultConfig() Config {
	return Config{Enabled: true, TTL: conf.Duration(720 * time.Hour), File: "replies.db"}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if t := c.TTL.D(); t < time.Hour || t > 8760*time.Hour {
		errs = append(errs, conf.Errorf("ttl", "must be 1h..8760h, got %s", t))
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
	Close() error
}

// nameKey returns the form a display name is remembered and looked up in:
// its words lower-cased, accents folded and in alphabetical order, so that
// "Kowalski, Jan", "JAN KOWALSKI" and "Jan Kowalski" are one name. It is ""
// for what is not a person's full name: fewer than two words of two letters
// or more, more than five, or an address.
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
	if len(words) < 2 || len(words) > 5 {
		return ""
	}
	slices.Sort(words)
	return strings.Join(words, " ")
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

// The buckets of a Local file: sent-message ids and sender names.
var (
	sentBucket  = []byte("sent")
	namesBucket = []byte("names")
)

// pruneEvery is how often Local drops expired ids, at the next Remember.
const pruneEvery = time.Hour

// Local is the Store of a single server: a bbolt file.
type Local struct {
	db  *bolt.DB
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

// OpenLocal opens (or creates) the file; now nil is time.Now.
func OpenLocal(path string, ttl time.Duration, now func() time.Time) (*Local, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open sent-mail ids %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(sentBucket); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(namesBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sent-mail ids %s: %w", path, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Local{db: db, ttl: ttl, now: now}, nil
}

// Remember implements Store.
func (l *Local) Remember(_ context.Context, id string) error {
	if err := l.put(sentBucket, id); err != nil {
		return fmt.Errorf("remember sent message: %w", err)
	}
	return nil
}

// RememberNames implements Store.
func (l *Local) RememberNames(_ context.Context, names ...string) error {
	// Most mail comes under names written before: one that still has more
	// than half its time to live costs a read, not a write.
	keys, err := l.stale(namesBucket, nameKeys(names), l.now().Add(l.ttl/2))
	if err != nil {
		return fmt.Errorf("remember names: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	if err := l.put(namesBucket, keys...); err != nil {
		return fmt.Errorf("remember names: %w", err)
	}
	return nil
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

// put records a key's digest in a bucket with its expiry, dropping the
// expired keys of both buckets once every pruneEvery.
func (l *Local) put(bucket []byte, keys ...string) error {
	now := l.now()
	l.mu.Lock()
	prune := now.Sub(l.lastPrune) >= pruneEvery
	if prune {
		l.lastPrune = now
	}
	l.mu.Unlock()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(now.Add(l.ttl).Unix()))
	// Batch: concurrent submissions share one write and one sync.
	return l.db.Batch(func(tx *bolt.Tx) error {
		if prune {
			for _, name := range [][]byte{sentBucket, namesBucket} {
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

// has reports whether any of keys is in the bucket and has not expired.
func (l *Local) has(bucket []byte, keys []string) (bool, error) {
	stale, err := l.stale(bucket, keys, l.now())
	return len(stale) < len(keys), err
}

// Close closes the file.
func (l *Local) Close() error { return l.db.Close() }

// Shared is the Store of servers that share state through Redis: one key
// per id (sent:DIGEST) and per name (sentname:DIGEST), expiring by itself.
type Shared struct {
	c   *shared.Client
	ttl time.Duration
}

// NewShared returns the Store on c.
func NewShared(c *shared.Client, ttl time.Duration) *Shared { return &Shared{c: c, ttl: ttl} }

// key is the Redis key of an id ("sent") or a name ("sentname").
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
	keys := nameKeys(names)
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	if _, err := s.c.Redis().Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, s.key("sentname", k), 1, s.ttl)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("remember names in redis: %w", err)
	}
	return nil
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
