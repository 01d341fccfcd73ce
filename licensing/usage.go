package licensing

import (
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// windowDays is the mailbox counting window: a mailbox counts while it was
// seen in the last 30 days.
const windowDays = 30

const nShards = 64

// usage counts protected mailboxes and traffic in memory for the scan path.
// Reads take one shard's read lock; a shard's write lock is taken only the
// first time a mailbox is seen on a day. Changes are collected for the
// background flush, so the scan path never touches the disk.
type usage struct {
	salt   atomic.Pointer[[]byte]
	shards [nShards]shard
	// count is the number of mailboxes in the shards, plus extra.
	count atomic.Int64
	// extra is the number of mailboxes other servers sharing the usage
	// (Redis) counted that are not in the shards, as of the last sync. It
	// is changed only under the manager's flushMu.
	extra atomic.Int64
	today atomic.Pointer[dayCount]

	mu sync.Mutex // guards rolled
	// rolled are day counters replaced by a newer day, kept until flushed.
	rolled []*dayCount
}

type shard struct {
	mu    sync.RWMutex
	seen  map[mailbox]uint32 // day last seen
	dirty map[mailbox]uint32
	gone  []mailbox
	_     [64]byte // 64 bytes of fields + 64: neighbouring shards never share a cache line
}

type dayCount struct {
	day uint32
	// bytes is the day's traffic: this server's own plus foreign.
	bytes atomic.Uint64
	// foreign is what the other servers sharing the usage counted, as of
	// the last sync (changed only under the manager's flushMu).
	foreign atomic.Uint64
}

// own returns the traffic this server counted itself.
func (dc *dayCount) own() uint64 {
	b, f := dc.bytes.Load(), dc.foreign.Load()
	if f > b {
		return 0
	}
	return b - f
}

func newUsage(salt []byte, seen map[mailbox]uint32, day uint32, bytesToday uint64) *usage {
	u := &usage{}
	u.salt.Store(&salt)
	for i := range u.shards {
		u.shards[i].seen = map[mailbox]uint32{}
		u.shards[i].dirty = map[mailbox]uint32{}
	}
	for h, d := range seen {
		u.shards[h[0]%nShards].seen[h] = d
	}
	u.count.Store(int64(len(seen)))
	dc := &dayCount{day: day}
	dc.bytes.Store(bytesToday)
	u.today.Store(dc)
	return u
}

// dayNumber is the UTC day of t counted from the Unix epoch.
func dayNumber(t time.Time) uint32 { return uint32(t.Unix() / 86400) }

// hash returns the salted hash of an address; the local part and domain are
// compared case-insensitively so one mailbox is not counted twice.
func (u *usage) hash(addr string) mailbox {
	var buf [320]byte
	b := append(buf[:0], *u.salt.Load()...)
	addr = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">"))
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	sum := sha256.Sum256(b)
	return mailbox(sum[:16])
}

// admit records that h was seen on day and reports whether it may be
// filtered: a mailbox already counted always may; a new one only while
// fewer than limit mailboxes are counted (limit 0 is unlimited).
func (u *usage) admit(h mailbox, day uint32, limit uint64) bool {
	sh := &u.shards[h[0]%nShards]
	sh.mu.RLock()
	last, ok := sh.seen[h]
	sh.mu.RUnlock()
	if ok {
		if last != day {
			sh.mu.Lock()
			if sh.seen[h] < day {
				sh.seen[h] = day
				sh.dirty[h] = day
			}
			sh.mu.Unlock()
		}
		return true
	}
	// Reserve a slot first so concurrent scans can never overshoot the limit.
	for {
		c := u.count.Load()
		if limit > 0 && uint64(c) >= limit {
			return false
		}
		if u.count.CompareAndSwap(c, c+1) {
			break
		}
	}
	sh.mu.Lock()
	if _, raced := sh.seen[h]; raced {
		sh.mu.Unlock()
		u.count.Add(-1)
		return true
	}
	sh.seen[h] = day
	sh.dirty[h] = day
	sh.mu.Unlock()
	return true
}

// day returns the counter of day, rolling the current one over when day is
// newer.
func (u *usage) day(day uint32) *dayCount {
	for {
		dc := u.today.Load()
		if dc.day >= day {
			return dc
		}
		next := &dayCount{day: day}
		if u.today.CompareAndSwap(dc, next) {
			u.mu.Lock()
			u.rolled = append(u.rolled, dc)
			u.mu.Unlock()
			return next
		}
	}
}

// prune forgets mailboxes last seen before minDay.
func (u *usage) prune(minDay uint32) {
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for h, d := range sh.seen {
			if d < minDay {
				delete(sh.seen, h)
				delete(sh.dirty, h)
				sh.gone = append(sh.gone, h)
				u.count.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}

// changes is what a flush writes.
type changes struct {
	seen    map[mailbox]uint32
	gone    []mailbox
	traffic map[uint32]uint64
}

// take collects the changes since the last take.
func (u *usage) take() changes {
	c := changes{seen: map[mailbox]uint32{}, traffic: map[uint32]uint64{}}
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		if len(sh.dirty) > 0 {
			for h, d := range sh.dirty {
				c.seen[h] = d
			}
			sh.dirty = map[mailbox]uint32{}
		}
		c.gone = append(c.gone, sh.gone...)
		sh.gone = nil
		sh.mu.Unlock()
	}
	u.mu.Lock()
	for _, dc := range u.rolled {
		c.traffic[dc.day] = dc.own()
	}
	u.rolled = nil
	u.mu.Unlock()
	dc := u.today.Load()
	c.traffic[dc.day] = dc.own()
	return c
}

// giveBack returns changes that could not be written, so the next flush
// retries them; newer changes win.
func (u *usage) giveBack(c changes) {
	for h, d := range c.seen {
		sh := &u.shards[h[0]%nShards]
		sh.mu.Lock()
		if cur, ok := sh.seen[h]; ok && cur == d {
			if _, newer := sh.dirty[h]; !newer {
				sh.dirty[h] = d
			}
		}
		sh.mu.Unlock()
	}
	for _, h := range c.gone {
		sh := &u.shards[h[0]%nShards]
		sh.mu.Lock()
		if _, back := sh.seen[h]; !back {
			sh.gone = append(sh.gone, h)
		}
		sh.mu.Unlock()
	}
	today := u.today.Load().day
	u.mu.Lock()
	for day, n := range c.traffic {
		if day != today {
			dc := &dayCount{day: day}
			dc.bytes.Store(n)
			u.rolled = append(u.rolled, dc)
		}
	}
	u.mu.Unlock()
}

// reset forgets every mailbox and hashes with salt from now on: mailboxes
// hashed with another salt cannot be matched (joining a cluster whose salt
// differs).
func (u *usage) reset(salt []byte) {
	u.salt.Store(&salt)
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		sh.seen, sh.dirty, sh.gone = map[mailbox]uint32{}, map[mailbox]uint32{}, nil
		sh.mu.Unlock()
	}
	u.count.Store(0)
	u.extra.Store(0)
}

// all returns every counted mailbox with its day.
func (u *usage) all() map[mailbox]uint32 {
	out := map[mailbox]uint32{}
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.RLock()
		for h, d := range sh.seen {
			out[h] = d
		}
		sh.mu.RUnlock()
	}
	return out
}

// setExtra sets how many mailboxes counted elsewhere are not in the
// shards. Under the manager's flushMu.
func (u *usage) setExtra(n int64) {
	old := u.extra.Swap(n)
	u.count.Add(n - old)
}

// setForeign sets the traffic the other servers counted on dc's day.
// Under the manager's flushMu.
func (u *usage) setForeign(dc *dayCount, n uint64) {
	old := dc.foreign.Load()
	if n >= old {
		dc.bytes.Add(n - old)
	} else {
		dc.bytes.Add(^(old - n - 1)) // subtract
	}
	dc.foreign.Store(n)
}

// merge adds mailboxes counted by other servers (not marked for the local
// flush: they are already in the shared count) and moves known ones to a
// newer day.
func (u *usage) merge(in map[mailbox]uint32) {
	for h, d := range in {
		sh := &u.shards[h[0]%nShards]
		sh.mu.Lock()
		if cur, ok := sh.seen[h]; !ok {
			sh.seen[h] = d
			u.count.Add(1)
		} else if cur < d {
			sh.seen[h] = d
		}
		sh.mu.Unlock()
	}
}
