package stats

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scilla-mail/scilla/server/shared"
)

// Cluster shares every server's hour totals, so that a query can add up
// the whole cluster's (DESIGN §9). node names the calling server.
type Cluster interface {
	// Put stores node's totals of the hours, encoded as in the file; a
	// later Put of an hour replaces the earlier one, so sending again is
	// harmless. known reports whether the cluster had this node's data
	// before: false after the shared store lost it.
	Put(ctx context.Context, node string, hours map[int64][]byte) (known bool, err error)
	// Others returns the other nodes' encoded totals of the hours in
	// [from, to), by node.
	Others(ctx context.Context, node string, from, to int64) (map[string]map[int64][]byte, error)
}

// Shared is the Cluster kept in Redis:
//
//	PREFIX stats:HOUR    hash: node id → that server's totals of the hour (the file's JSON)
//	PREFIX stats:nodes   hash: node id → when it last sent (Unix seconds)
//
// Each server writes only its own fields, whole, so a retry or two
// servers flushing at once never count anything twice. An hour's key
// expires when the retention has passed.
type Shared struct {
	c         *shared.Client
	retention time.Duration
}

// NewShared returns the Cluster in c's Redis, keeping hours for retention.
func NewShared(c *shared.Client, retention time.Duration) *Shared {
	return &Shared{c: c, retention: retention}
}

// putChunk bounds the hours of one transaction (a server's first sync
// sends every hour it keeps).
const putChunk = 100

// Put implements Cluster. Each command and each chunk of hours gets
// redis.timeout.
func (s *Shared) Put(ctx context.Context, node string, hours map[int64][]byte) (bool, error) {
	rdb := s.c.Redis()
	nodes := s.c.Key("stats", "nodes")
	cctx, cancel := s.c.Context(ctx)
	known, err := rdb.HExists(cctx, nodes, node).Result()
	cancel()
	keys := slices.Sorted(maps.Keys(hours))
	for len(keys) > 0 && err == nil {
		chunk := keys[:min(putChunk, len(keys))]
		keys = keys[len(chunk):]
		cctx, cancel := s.c.Context(ctx)
		_, err = rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
			for _, k := range chunk {
				key := s.hourKey(k)
				p.HSet(cctx, key, node, hours[k])
				p.ExpireAt(cctx, key, time.Unix(k, 0).Add(s.retention+time.Hour))
			}
			p.HSet(cctx, nodes, node, time.Now().Unix())
			return nil
		})
		cancel()
	}
	s.c.Report("stats", err)
	if err != nil {
		return false, fmt.Errorf("share statistics: %w", err)
	}
	return known, nil
}

// Others implements Cluster. Each chunk of hours gets redis.timeout.
func (s *Shared) Others(ctx context.Context, node string, from, to int64) (map[string]map[int64][]byte, error) {
	out := map[string]map[int64][]byte{}
	for start := from; start < to; start += putChunk * 3600 {
		end := min(to, start+putChunk*3600)
		cmds := map[int64]*redis.MapStringStringCmd{}
		cctx, cancel := s.c.Context(ctx)
		_, err := s.c.Redis().Pipelined(cctx, func(p redis.Pipeliner) error {
			for k := start; k < end; k += 3600 {
				cmds[k] = p.HGetAll(cctx, s.hourKey(k))
			}
			return nil
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("read shared statistics: %w", err)
		}
		for k, cmd := range cmds {
			for n, v := range cmd.Val() {
				if n == node {
					continue
				}
				if out[n] == nil {
					out[n] = map[int64][]byte{}
				}
				out[n][k] = []byte(v)
			}
		}
	}
	return out, nil
}

func (s *Shared) hourKey(k int64) string {
	return s.c.Key("stats", strconv.FormatInt(k, 10))
}
