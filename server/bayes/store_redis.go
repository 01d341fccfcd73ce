package bayes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/shared"
)

// ErrUnavailable is returned by Learn when the shared learning store
// (Redis) cannot be reached; scans go on with the tables last synced.
var ErrUnavailable = errors.New("bayes: the shared learning store (Redis) is unavailable")

// Shared learning in Redis (DESIGN §9), per domain ("*" is the global table):
//
//	PREFIX bayes:domains           set of domain names that have learned
//	PREFIX bayes:d:NAME:tokens     hash "S"+token / "H"+token → count, "#S"/"#H" → message totals
//	PREFIX bayes:d:NAME:msgs       hash message key → label byte + tokens joined by NUL
//	PREFIX bayes:d:NAME:fuzzy      hash message key → fuzzy signature of a message learned as spam
//	PREFIX bayes:d:NAME:version    counter, incremented by every learn that changed something
//	PREFIX bayes:changed           pub/sub channel: NAME after each change
//	PREFIX bayes:generation        random, set by the first server to sync (see remote.gen)
//
// One Lua script applies a Learn call atomically with the same rules as
// the bbolt store (the message key's recorded label decides add, skip or
// move). Every node keeps the tables in memory as with bbolt and reloads a
// domain's table when its version changes: polled every sync_interval and
// at once on a notification. Scans never touch Redis.
type remote struct {
	c    *shared.Client
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
	poke chan struct{}

	mu       sync.Mutex // serialises syncs; guards versions and gen
	versions map[string]int64
	// gen is the generation of the data in Redis, a random value the first
	// server to sync sets: a Redis that lost its data gets a new one, so
	// versions counted again from 1 are not taken for the old ones.
	gen string
}

// learnScript: KEYS tokens, msgs, version, domains, channel, fuzzy; ARGV
// label, domain name, then key, tokens and fuzzy signature ("" = none) per
// message. It returns learned, unchanged, relabelled, spam total, ham total.
var learnScript = redis.NewScript(`
local label = ARGV[1]
local function split(s)
  local out = {}
  local i = 1
  while i <= #s do
    local j = string.find(s, "\0", i, true)
    if not j then
      out[#out + 1] = string.sub(s, i)
      break
    end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
  return out
end
local function apply(toks, lab, sign)
  local f = 'H'
  if lab == '1' then f = 'S' end
  if redis.call('HINCRBY', KEYS[1], '#' .. f, sign) < 0 then
    redis.call('HSET', KEYS[1], '#' .. f, 0)
  end
  for _, t in ipairs(toks) do
    if redis.call('HINCRBY', KEYS[1], f .. t, sign) <= 0 then
      redis.call('HDEL', KEYS[1], f .. t)
    end
  end
end
local learned, unchanged, relabelled, sigs = 0, 0, 0, 0
for i = 4, #ARGV, 3 do
  local key, toks, sig = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local prev = redis.call('HGET', KEYS[2], key)
  local prevLabel = nil
  if prev then prevLabel = string.sub(prev, 1, 1) end
  if prev and ARGV[3] == 'keep' then
    unchanged = unchanged + 1
  else
    if label == '1' then
      if sig ~= '' then sigs = sigs + redis.call('HSETNX', KEYS[6], key, sig) end
    else
      sigs = sigs + redis.call('HDEL', KEYS[6], key)
    end
    if label == '3' then
      if not prev then
        unchanged = unchanged + 1
      else
        apply(split(string.sub(prev, 2)), prevLabel, -1)
        redis.call('HDEL', KEYS[2], key)
        learned = learned + 1
      end
    elseif prev and prevLabel == label then
      unchanged = unchanged + 1
    else
      if prev then
        apply(split(string.sub(prev, 2)), prevLabel, -1)
        relabelled = relabelled + 1
      else
        learned = learned + 1
      end
      apply(split(toks), label, 1)
      redis.call('HSET', KEYS[2], key, label .. toks)
    end
  end
end
if learned + relabelled + sigs > 0 then
  redis.call('INCR', KEYS[3])
  redis.call('SADD', KEYS[4], ARGV[2])
  redis.call('PUBLISH', KEYS[5], ARGV[2])
end
return {learned, unchanged, relabelled,
  tonumber(redis.call('HGET', KEYS[1], '#S') or '0'), tonumber(redis.call('HGET', KEYS[1], '#H') or '0')}
`)

// OpenShared returns a Store whose learning lives in Redis, shared by
// every server using the same Redis and key prefix. The local learning
// file is not used while Redis is on (see docs/cluster.md). It loads the
// tables now when Redis answers; when it does not, the server starts with
// empty tables and the sync loop retries. Close stops the loop.
func OpenShared(c *shared.Client, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &remote{
		c: c, log: log.With("subsystem", "bayes"), stop: cancel, done: make(chan struct{}),
		poke: make(chan struct{}, 1), versions: map[string]int64{},
	}
	s := &Store{remote: r, limits: message.DefaultLimits}
	c.Report("bayes", s.Sync(ctx))
	go r.run(ctx, s)
	return s
}

func (r *remote) key(name string, parts ...string) string {
	return r.c.Key(append([]string{"bayes", "d", name}, parts...)...)
}

// run polls every sync interval and on each change notification.
func (r *remote) run(ctx context.Context, s *Store) {
	defer close(r.done)
	sub := r.c.Redis().Subscribe(ctx, r.c.Key("bayes", "changed"))
	defer sub.Close()
	notes := sub.Channel()
	t := time.NewTicker(r.c.SyncInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-notes:
		case <-r.poke:
		}
		r.c.Report("bayes", s.Sync(ctx))
	}
}

// Sync reloads the tables of the domains whose version in Redis changed.
// The sync loop calls it; it returns at once for a local store.
func (s *Store) Sync(ctx context.Context) error {
	r := s.remote
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Each table is reloaded with a timeout of its own, after the listing.
	parent := ctx
	ctx, cancel := r.c.Context(parent)
	defer cancel()
	rdb := r.c.Redis()
	genKey := r.c.Key("bayes", "generation")
	var gen *redis.StringCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, genKey, rand.Text(), 0)
		gen = p.Get(ctx, genKey)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync learning: generation: %w", err)
	}
	if gen.Val() != r.gen {
		clear(r.versions) // reload everything
		r.gen = gen.Val()
	}
	names, err := rdb.SMembers(ctx, r.c.Key("bayes", "domains")).Result()
	if err != nil {
		return fmt.Errorf("sync learning: list domains: %w", err)
	}
	present := map[string]bool{}
	var changed []string
	if len(names) > 0 {
		keys := make([]string, len(names))
		for i, n := range names {
			keys[i] = r.key(n, "version")
		}
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("sync learning: read versions: %w", err)
		}
		for i, n := range names {
			present[n] = true
			v, _ := vals[i].(string)
			ver, _ := strconv.ParseInt(v, 10, 64)
			if old, ok := r.versions[n]; !ok || old != ver {
				changed = append(changed, n)
			}
		}
	}
	for _, n := range changed {
		rctx, cancel := r.c.Context(parent)
		err := s.reload(rctx, n)
		cancel()
		if err != nil {
			return err
		}
	}
	// A domain gone from Redis (flushed by hand, a Redis that lost its
	// data) is gone here too: Redis is the truth.
	s.tables.Range(func(k, v any) bool {
		if n := nameOf(k.(string)); !present[n] && v.(*atomic.Pointer[table]).Load() != nil {
			delete(r.versions, n)
			v.(*atomic.Pointer[table]).Store(nil)
		}
		return true
	})
	return nil
}

func nameOf(domain string) string {
	if domain == "" {
		return globalKey
	}
	return domain
}

func domainOf(name string) string {
	if name == globalKey {
		return ""
	}
	return name
}

// reload reads one domain's table and version in one transaction. r.mu is held.
func (s *Store) reload(ctx context.Context, name string) error {
	r := s.remote
	var ver *redis.StringCmd
	var all, fz *redis.MapStringStringCmd
	_, err := r.c.Redis().TxPipelined(ctx, func(p redis.Pipeliner) error {
		ver = p.Get(ctx, r.key(name, "version"))
		all = p.HGetAll(ctx, r.key(name, "tokens"))
		fz = p.HGetAll(ctx, r.key(name, "fuzzy"))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("sync learning: load %q: %w", name, err)
	}
	v, _ := ver.Int64()
	t := &table{tokens: make(map[string]Counts, len(all.Val())/2)}
	for f, val := range all.Val() {
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil || f == "" {
			continue
		}
		switch f {
		case "#S":
			t.spam = uint32(n)
			continue
		case "#H":
			t.ham = uint32(n)
			continue
		}
		c := t.tokens[f[1:]]
		switch f[0] {
		case 'S':
			c.Spam = uint32(n)
		case 'H':
			c.Ham = uint32(n)
		default:
			continue
		}
		t.tokens[f[1:]] = c
	}
	sigs := make(map[[32]byte]fuzzy.Signature, len(fz.Val()))
	for k, v := range fz.Val() {
		if sig, ok := decodeSig([]byte(v)); ok && len(k) == 32 {
			sigs[[32]byte([]byte(k))] = sig
		}
	}
	t.withSigs(sigs)
	s.ptr(domainOf(name)).Store(t)
	r.versions[name] = v
	return nil
}

type learnItem struct {
	key    [32]byte
	toks   []string
	sig    fuzzy.Signature // the text's fuzzy signature, when hasSig
	hasSig bool
}

// learnShared applies one Learn call to Redis atomically, then reloads the
// domain's table here (the other nodes follow through the notification).
func (s *Store) learnShared(ctx context.Context, domain string, label Label, items []learnItem, relabel bool) (LearnResult, error) {
	r := s.remote
	name := domain
	if name == "" {
		name = globalKey
	}
	mode := "keep"
	if relabel {
		mode = "relabel"
	}
	args := make([]any, 0, 3+3*len(items))
	args = append(args, strconv.Itoa(int(label)), name, mode)
	for _, it := range items {
		var b strings.Builder
		n := 0
		for _, t := range it.toks {
			if t == "" || strings.IndexByte(t, 0) >= 0 {
				continue // NUL separates tokens in Redis
			}
			if n > 0 {
				b.WriteByte(0)
			}
			b.WriteString(t)
			n++
		}
		var sig string
		if it.hasSig {
			sig = string(encodeSig(&it.sig))
		}
		args = append(args, string(it.key[:]), b.String(), sig)
	}
	keys := []string{r.key(name, "tokens"), r.key(name, "msgs"), r.key(name, "version"),
		r.c.Key("bayes", "domains"), r.c.Key("bayes", "changed"), r.key(name, "fuzzy")}
	// A big batch runs longer than one plain command.
	lctx, cancel := context.WithTimeout(ctx, r.c.Timeout()+time.Duration(len(items))*time.Millisecond)
	defer cancel()
	vals, err := learnScript.Run(lctx, r.c.Redis(), keys, args...).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return LearnResult{}, fmt.Errorf("learn %s for %q: %w", label, domain, ctx.Err())
		}
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return LearnResult{}, fmt.Errorf("learn %s for %q in Redis: %w", label, domain, err)
		}
		return LearnResult{}, fmt.Errorf("learn %s for %q: %w: %w", label, domain, ErrUnavailable, err)
	}
	if len(vals) != 5 {
		return LearnResult{}, fmt.Errorf("learn %s for %q in Redis: unexpected reply %v", label, domain, vals)
	}
	res := LearnResult{Learned: int(vals[0]), Unchanged: int(vals[1]), Relabelled: int(vals[2]),
		SpamTotal: uint64(vals[3]), HamTotal: uint64(vals[4])}
	rctx, rcancel := r.c.Context(ctx)
	r.mu.Lock()
	err = s.reload(rctx, name)
	r.mu.Unlock()
	rcancel()
	if err != nil {
		// Learned all the same; the next sync brings the table.
		r.log.Warn("learned in Redis but could not reload the table; the next sync will", "domain", domain, "err", err)
		select {
		case r.poke <- struct{}{}:
		default:
		}
	}
	return res, nil
}

// close stops the sync loop.
func (r *remote) close() {
	r.stop()
	<-r.done
}
