// Package replies remembers the Message-IDs of the mail protected users send
// (authenticated submissions), so that the answers to it are recognised: a
// message whose In-Reply-To or References names one of them continues a
// conversation a user started, the mail a filter must least of all lose.
//
// Only a digest of each id is kept, with its expiry: in a bbolt file in the
// state directory on a single server, in Redis when several servers share
// state (a user may send through one and receive the answer through
// another).
package replies

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scilla-mail/scilla/internal/conf"
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

// Store keeps the ids of sent mail; both implementations are safe for
// concurrent use.
type Store interface {
	// Remember records a sent message's id.
	Remember(ctx context.Context, id string) error
	// Known reports whether any of ids was recorded and has not expired.
	Known(ctx context.Context, ids []string) (bool, error)
	Close() error
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

var sentBucket = []byte("sent")

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
		_, err := tx.CreateBucketIfNotExists(sentBucket)
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
	now := l.now()
	l.mu.Lock()
	prune := now.Sub(l.lastPrune) >= pruneEvery
	if prune {
		l.lastPrune = now
	}
	l.mu.Unlock()
	key := digest(id)
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(now.Add(l.ttl).Unix()))
	// Batch: concurrent submissions share one write and one sync.
	err := l.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(sentBucket)
		if prune {
			if err := dropExpired(b, now); err != nil {
				return err
			}
		}
		return b.Put(key[:], exp[:])
	})
	if err != nil {
		return fmt.Errorf("remember sent message: %w", err)
	}
	return nil
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
	now := l.now().Unix()
	found := false
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(sentBucket)
		for _, id := range ids {
			key := digest(id)
			if v := b.Get(key[:]); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now {
				found = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("look up sent messages: %w", err)
	}
	return found, nil
}

// Close closes the file.
func (l *Local) Close() error { return l.db.Close() }

// Shared is the Store of servers that share state through Redis: one key
// per id, expiring by itself.
type Shared struct {
	c   *shared.Client
	ttl time.Duration
}

// NewShared returns the Store on c.
func NewShared(c *shared.Client, ttl time.Duration) *Shared { return &Shared{c: c, ttl: ttl} }

func (s *Shared) key(id string) string {
	d := digest(id)
	return s.c.Key("sent", fmt.Sprintf("%x", d))
}

// Remember implements Store.
func (s *Shared) Remember(ctx context.Context, id string) error {
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	if err := s.c.Redis().Set(ctx, s.key(id), 1, s.ttl).Err(); err != nil {
		return fmt.Errorf("remember sent message in redis: %w", err)
	}
	return nil
}

// Known implements Store.
func (s *Shared) Known(ctx context.Context, ids []string) (bool, error) {
	if len(ids) == 0 {
		return false, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key(id)
	}
	ctx, cancel := s.c.Context(ctx)
	defer cancel()
	n, err := s.c.Redis().Exists(ctx, keys...).Result()
	if err != nil {
		return false, fmt.Errorf("look up sent messages in redis: %w", err)
	}
	return n > 0, nil
}

// Close implements Store; the connection belongs to the caller.
func (*Shared) Close() error { return nil }
