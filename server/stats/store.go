package stats

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/engine"
)

// Config is the `stats` section.
type Config struct {
	// Retention is how long hour buckets are kept, 1h..8760h.
	Retention conf.Duration `yaml:"retention"`
	// File is the bbolt file, relative to server.state_dir.
	File string `yaml:"file"`
}

// DefaultConfig keeps 90 days in STATE_DIR/stats.db.
func DefaultConfig() Config {
	return Config{Retention: conf.Duration(2160 * time.Hour), File: "stats.db"}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if r := c.Retention.D(); r < time.Hour || r > 8760*time.Hour {
		errs = append(errs, conf.Errorf("retention", "must be 1h..8760h, got %s", r))
	}
	if c.File == "" {
		errs = append(errs, conf.Errorf("file", "must be set (a file name, relative to server.state_dir)"))
	}
	return errs
}

// Path is the file's path for a state directory.
func (c Config) Path(stateDir string) string { return conf.StatePath(stateDir, c.File) }

// FlushInterval is how often Run writes the counts to the file.
const FlushInterval = time.Minute

// Options are what Open needs besides the file.
type Options struct {
	// Retention is how long hours are kept.
	Retention time.Duration
	Log       *slog.Logger
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Cluster, when set, receives this server's hours at every flush, and
	// queries can add up every server's (Query.Cluster).
	Cluster Cluster
}

var (
	hoursBucket = []byte("hours")
	metaBucket  = []byte("meta")
	nodeIDKey   = []byte("node")
)

// clusterTimeout bounds one exchange with the cluster, however many chunks
// it takes (each command also has redis.timeout).
const clusterTimeout = 30 * time.Second

// Store records scans and answers queries over the hours kept in its file.
// Its methods are safe for concurrent use. A nil *Store records nothing.
type Store struct {
	db        *bolt.DB
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration

	// flushMu orders Flush and Query, so a query never misses a delta
	// that is being written. It also guards the cluster fields.
	flushMu sync.Mutex

	cluster Cluster
	node    string // this server's name in the cluster
	// unsynced are hours written to the file and not yet to the cluster,
	// encoded; pushAll sends every hour of the file at the next flush (at
	// the start, and when the cluster lost this server's data).
	unsynced map[int64][]byte
	pushAll  bool

	mu      sync.Mutex // guards the fields below
	curKey  int64      // the hour cur counts, Unix seconds
	cur     *Hour      // pending[curKey], the common case of Record
	pending map[int64]*Hour
	spare   map[int64]*Hour // the other pending map, swapped on Flush
	free    []*Hour         // emptied hours kept for reuse
}

// Open opens (or creates) the statistics file.
func Open(path string, o Options) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open statistics %s: %w", path, err)
	}
	var node string
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(hoursBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if node = string(meta.Get(nodeIDKey)); node == "" {
			b := make([]byte, 8)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			node = hex.EncodeToString(b)
			return meta.Put(nodeIDKey, []byte(node))
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare statistics %s: %w", path, err)
	}
	s := &Store{db: db, log: o.Log, now: o.Now, retention: o.Retention,
		pending: map[int64]*Hour{}, spare: map[int64]*Hour{}, curKey: -1,
		cluster: o.Cluster, node: node, unsynced: map[int64][]byte{}, pushAll: true}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Record counts one scan: its verdict and the message size in bytes.
func (s *Store) Record(v *engine.Verdict, bytes int) {
	if s == nil || v == nil {
		return
	}
	key := hourOf(s.now())
	s.mu.Lock()
	if key != s.curKey || s.cur == nil {
		s.cur = s.pending[key]
		if s.cur == nil {
			s.cur = s.newHourLocked()
			s.pending[key] = s.cur
		}
		s.curKey = key
	}
	s.cur.record(v, bytes)
	s.mu.Unlock()
}

func (s *Store) newHourLocked() *Hour {
	if n := len(s.free); n > 0 {
		h := s.free[n-1]
		s.free = s.free[:n-1]
		return h
	}
	return newHour()
}

// Flush adds what was recorded since the last flush to the file and prunes
// the hours older than the retention. On error the counts stay pending for
// the next flush.
func (s *Store) Flush() error {
	if s == nil {
		return nil
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	delta := s.pending
	s.pending, s.spare = s.spare, nil
	s.cur, s.curKey = nil, -1
	s.mu.Unlock()

	oldest := hourOf(s.now().Add(-s.retention))
	written := map[int64][]byte{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(hoursBucket)
		for key, h := range delta {
			if key < oldest || h.Messages == 0 {
				continue
			}
			k := hourKey(key)
			disk := newHour()
			if old := b.Get(k); old != nil {
				var err error
				if disk, err = decodeHour(old); err != nil {
					return fmt.Errorf("hour %s: %w", time.Unix(key, 0).UTC().Format(time.RFC3339), err)
				}
			}
			disk.merge(h)
			buf, err := json.Marshal(disk)
			if err != nil {
				return fmt.Errorf("encode hour: %w", err)
			}
			if err := b.Put(k, buf); err != nil {
				return err
			}
			written[key] = buf
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < oldest; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Keep the counts: add them back to what was recorded meanwhile.
		for key, h := range delta {
			if p := s.pending[key]; p != nil {
				p.merge(h)
			} else {
				s.pending[key] = h
				delete(delta, key)
			}
		}
		s.cur, s.curKey = nil, -1
	}
	for key, h := range delta {
		h.reset()
		s.free = append(s.free, h)
		delete(delta, key)
	}
	s.spare = delta
	if err != nil {
		return fmt.Errorf("flush statistics: %w", err)
	}
	if s.cluster != nil {
		s.share(written, oldest)
	}
	return nil
}

// share sends the hours just written, and those a failed share left, to
// the cluster. A failure keeps them for the next flush; the cluster
// client reports it. flushMu is held.
func (s *Store) share(written map[int64][]byte, oldest int64) {
	maps.Copy(s.unsynced, written)
	full := s.pushAll
	if full {
		err := s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(hoursBucket).ForEach(func(k, v []byte) error {
				if key := int64(binary.BigEndian.Uint64(k)); s.unsynced[key] == nil {
					s.unsynced[key] = slices.Clone(v)
				}
				return nil
			})
		})
		if err != nil {
			s.log.Warn("statistics not shared: reading the file", "err", err)
			return
		}
		s.pushAll = false
	}
	for key := range s.unsynced {
		if key < oldest {
			delete(s.unsynced, key)
		}
	}
	if len(s.unsynced) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	known, err := s.cluster.Put(ctx, s.node, s.unsynced)
	if err != nil {
		return
	}
	clear(s.unsynced)
	// A cluster that did not know this server lost what it had sent
	// before: send everything again next time.
	s.pushAll = !known && !full
}

// Run flushes every FlushInterval until ctx is done.
func (s *Store) Run(ctx context.Context) {
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.log.Warn("statistics not saved, kept for the next flush", "err", err)
			}
		}
	}
}

// Close flushes and closes the file.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	err := s.Flush()
	return errors.Join(err, s.db.Close())
}

func hourKey(key int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(key))
	return k[:]
}

func decodeHour(b []byte) (*Hour, error) {
	h := newHour()
	if err := json.Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	h.decoded()
	return h, nil
}
