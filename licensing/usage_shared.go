package licensing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scilla-mail/scilla/server/shared"
)

// Usage shared by several servers through Redis (DESIGN §9):
//
//	PREFIX license:salt          the salt every server hashes mailboxes with (first server's wins)
//	PREFIX license:mailboxes     sorted set: mailbox hash → last day seen (ZADD GT keeps the newest)
//	PREFIX license:traffic:DAY   hash: server id → its own protected traffic that day in bytes
//
// Each flush sends this server's changes since the last successful one in
// one MULTI/EXEC and reads the cluster totals back; every write is
// idempotent (ZADD GT, HSET of a total), so a flush that timed out after
// Redis applied it does no harm when it is sent again: the number of
// mailboxes seen in the window and today's traffic. The limit checks stay
// in memory: when other servers counted mailboxes this one has not seen,
// the set is fetched and merged (so such a mailbox is not refused here as
// new at the limit; usage.extra covers the ones counted since), and the
// other servers' traffic is added to the day's bytes (dayCount.foreign). While Redis is unreachable the changes pile up here
// and the checks use the last totals plus this server's own counting.
type sharedUsage struct {
	c *shared.Client
	// pushAll: send every mailbox counted here at the next sync (after the
	// start, when Redis may not have what was counted offline, and when
	// Redis lost its data).
	pushAll bool
	// seen are mailbox changes not yet in Redis.
	seen map[mailbox]uint32
	// traffic is this server's own traffic per day, to send.
	traffic map[uint32]uint64
	// node names this server in the traffic hashes.
	node string
}

// sharedTrafficTTL keeps a day's shared traffic a little longer than the window.
const sharedTrafficTTL = (windowDays + 2) * 24 * time.Hour

func newSharedUsage(c *shared.Client, node string) *sharedUsage {
	return &sharedUsage{c: c, node: node, pushAll: true, seen: map[mailbox]uint32{}, traffic: map[uint32]uint64{}}
}

func (sh *sharedUsage) trafficKey(day uint32) string {
	return sh.c.Key("license", "traffic", strconv.FormatUint(uint64(day), 10))
}

// syncShared sends the changes c (and any left from failed syncs) to
// Redis and applies the cluster totals. m.flushMu is held.
func (m *Manager) syncShared(c changes, today uint32) error {
	sh := m.shared
	for h, d := range c.seen {
		if sh.seen[h] < d {
			sh.seen[h] = d
		}
	}
	for day, n := range c.traffic {
		sh.traffic[day] = n
	}
	ctx, cancel := sh.c.Context(context.Background())
	defer cancel()
	rdb := sh.c.Redis()
	// The salt is checked at every sync: a Redis that lost its data gets
	// this server's (the cluster's) salt back.
	mine := *m.usage.salt.Load()
	saltKey := sh.c.Key("license", "salt")
	var salt *redis.StringCmd
	var set *redis.BoolCmd
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.SetNX(ctx, saltKey, mine, 0)
		salt = p.Get(ctx, saltKey)
		return nil
	}); err != nil {
		return fmt.Errorf("sync licence usage: the shared salt: %w", err)
	}
	cluster, _ := salt.Bytes()
	if len(cluster) < 16 {
		return fmt.Errorf("sync licence usage: the shared salt in %s is too short (%d bytes)", saltKey, len(cluster))
	}
	if set.Val() {
		// A new or emptied Redis: it gets everything counted here.
		sh.pushAll = true
	}
	if !bytes.Equal(cluster, mine) {
		// Hashes made with another salt cannot be matched: this server's
		// own earlier mailboxes are dropped, the cluster's count stands.
		if err := m.store.adoptSalt(cluster); err != nil {
			return err
		}
		m.usage.reset(cluster)
		clear(sh.seen)
		clear(c.seen) // not saved locally either
		m.log.Info("licence usage joins the shared count in Redis: mailboxes counted only here before are dropped")
	}
	if sh.pushAll {
		for h, d := range m.usage.all() {
			if sh.seen[h] < d {
				sh.seen[h] = d
			}
		}
	}
	minDay := today - (windowDays - 1)
	mbKey := sh.c.Key("license", "mailboxes")
	counted := m.usage.count.Load() - m.usage.extra.Load()
	var cnt *redis.IntCmd
	var tot *redis.MapStringStringCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(sh.seen) > 0 {
			zs := make([]redis.Z, 0, len(sh.seen))
			for h, d := range sh.seen {
				zs = append(zs, redis.Z{Score: float64(d), Member: string(h[:])})
			}
			p.ZAddGT(ctx, mbKey, zs...)
		}
		for day, n := range sh.traffic {
			p.HSet(ctx, sh.trafficKey(day), sh.node, n)
			p.Expire(ctx, sh.trafficKey(day), sharedTrafficTTL)
		}
		p.ZRemRangeByScore(ctx, mbKey, "-inf", "("+strconv.FormatUint(uint64(minDay), 10))
		cnt = p.ZCount(ctx, mbKey, strconv.FormatUint(uint64(minDay), 10), "+inf")
		tot = p.HGetAll(ctx, sh.trafficKey(today))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("sync licence usage with Redis: %w", err)
	}
	clear(sh.seen)
	sh.pushAll = false
	for day := range sh.traffic {
		if day < today {
			delete(sh.traffic, day)
		}
	}
	if cnt.Val() > counted {
		// Other servers counted mailboxes this one has not seen: fetch the
		// set, so a mailbox counted elsewhere is not refused here as new
		// when the limit is reached.
		zs, err := rdb.ZRangeByScoreWithScores(ctx, mbKey, &redis.ZRangeBy{Min: strconv.FormatUint(uint64(minDay), 10), Max: "+inf"}).Result()
		if err != nil {
			return fmt.Errorf("sync licence usage: read the shared mailboxes: %w", err)
		}
		in := make(map[mailbox]uint32, len(zs))
		for _, z := range zs {
			if s, ok := z.Member.(string); ok && len(s) == len(mailbox{}) {
				in[mailbox([]byte(s))] = uint32(z.Score)
			}
		}
		m.usage.merge(in)
		counted = m.usage.count.Load() - m.usage.extra.Load()
	}
	m.usage.setExtra(max(0, cnt.Val()-counted))
	if dc := m.usage.day(today); dc.day == today {
		var foreign uint64
		for node, v := range tot.Val() {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil && node != sh.node {
				foreign += n
			}
		}
		m.usage.setForeign(dc, foreign)
	}
	return nil
}
