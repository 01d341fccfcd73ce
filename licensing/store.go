package licensing

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrStateBusy means another process (normally a running scillad) holds the
// licence state database.
var ErrStateBusy = errors.New("licensing: licence state is in use by another process (is scillad running? then use its LicenseService)")

// Buckets and keys of the usage database.
var (
	bMeta        = []byte("meta")
	bActivations = []byte("activations")
	bMailboxes   = []byte("mailboxes")
	bTraffic     = []byte("traffic")

	kSalt         = []byte("salt")
	kTrialStarted = []byte("trial_started")
	kKeyInstalled = []byte("key_installed")
	kNodeID       = []byte("node_id")
)

// store is the persistent licence state: the salt for mailbox hashes, when
// each key was activated, whether the trial ran, and usage counts. Mailboxes
// are stored only as salted hashes with the day last seen.
type store struct {
	db *bolt.DB
}

func openStore(path string, wait time.Duration) (*store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open licence state: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: wait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open licence state %s: %w", path, ErrStateBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("open licence state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bActivations, bMailboxes, bTraffic} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if meta.Get(kSalt) == nil {
			salt := make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return err
			}
			return meta.Put(kSalt, salt)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise licence state %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) salt() []byte {
	var salt []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		salt = append(salt, tx.Bucket(bMeta).Get(kSalt)...)
		return nil
	})
	return salt
}

func (s *store) getTime(bucket, key []byte) (time.Time, bool) {
	var t time.Time
	var ok bool
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get(key); v != nil {
			ok = t.UnmarshalText(v) == nil
		}
		return nil
	})
	return t, ok
}

func (s *store) putTime(bucket, key []byte, t time.Time) error {
	v, _ := t.UTC().MarshalText()
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, v) }); err != nil {
		return fmt.Errorf("record %s %s: %w", bucket, key, err)
	}
	return nil
}

// firstTime returns the time stored under key, storing t when there is none.
func (s *store) firstTime(bucket, key []byte, t time.Time) (time.Time, error) {
	t = t.UTC().Truncate(time.Second)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if v := b.Get(key); v != nil {
			var old time.Time
			if old.UnmarshalText(v) == nil {
				t = old
				return nil
			}
		}
		v, _ := t.UTC().MarshalText()
		return b.Put(key, v)
	})
	if err != nil {
		return t, fmt.Errorf("record %s %s: %w", bucket, key, err)
	}
	return t, nil
}

// mailbox is the salted hash identifying one protected recipient.
type mailbox [16]byte

// loadMailboxes returns every mailbox seen on or after minDay and deletes
// older ones.
func (s *store) loadMailboxes(minDay uint32) (map[mailbox]uint32, error) {
	out := map[mailbox]uint32{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMailboxes)
		var stale [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if len(k) != len(mailbox{}) || len(v) != 4 || binary.BigEndian.Uint32(v) < minDay {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			out[mailbox(k)] = binary.BigEndian.Uint32(v)
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load mailbox usage: %w", err)
	}
	return out, nil
}

func (s *store) trafficOn(day uint32) uint64 {
	var n uint64
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bTraffic).Get(dayKey(day)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return n
}

// save writes changed mailboxes, deletes pruned ones and sets the traffic
// totals of the given days, in one transaction. Traffic older than
// keepDays before the newest day written is dropped.
func (s *store) save(seen map[mailbox]uint32, gone []mailbox, traffic map[uint32]uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bMailboxes)
		for h, day := range seen {
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], day)
			if err := mb.Put(h[:], v[:]); err != nil {
				return err
			}
		}
		for _, h := range gone {
			if err := mb.Delete(h[:]); err != nil {
				return err
			}
		}
		tb := tx.Bucket(bTraffic)
		var newest uint32
		for day, n := range traffic {
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], n)
			if err := tb.Put(dayKey(day), v[:]); err != nil {
				return err
			}
			newest = max(newest, day)
		}
		if newest > windowDays {
			var old [][]byte
			c := tb.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint32(k) < newest-windowDays; k, _ = c.Next() {
				old = append(old, append([]byte(nil), k...))
			}
			for _, k := range old {
				if err := tb.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save licence usage: %w", err)
	}
	return nil
}

func dayKey(day uint32) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], day)
	return k[:]
}

// adoptSalt replaces the salt with a cluster's and forgets the mailboxes
// hashed with the old one, in one transaction.
func (s *store) adoptSalt(salt []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bMeta).Put(kSalt, salt); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bMailboxes); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bMailboxes)
		return err
	})
	if err != nil {
		return fmt.Errorf("adopt the shared mailbox salt: %w", err)
	}
	return nil
}

// nodeID returns this server's name in shared usage, made once.
func (s *store) nodeID() (string, error) {
	var id string
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if v := meta.Get(kNodeID); len(v) > 0 {
			id = string(v)
			return nil
		}
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		id = hex.EncodeToString(b)
		return meta.Put(kNodeID, []byte(id))
	})
	if err != nil {
		return "", fmt.Errorf("licence state: node id: %w", err)
	}
	return id, nil
}
