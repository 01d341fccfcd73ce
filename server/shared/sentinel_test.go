package shared_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/shared"
	"github.com/scilla-mail/scilla/server/shared/sharedtest"
)

// TestSentinelFailover: with redis.sentinel the client finds the master
// through a real Redis Sentinel, and when the master dies it goes on with
// the replica the sentinel promotes, with the data written before.
func TestSentinelFailover(t *testing.T) {
	master := sharedtest.Start(t)
	replica := sharedtest.StartReplica(t, master)
	sentinel := sharedtest.StartSentinel(t, "scilla-test", master)

	cfg := shared.DefaultConfig()
	cfg.Sentinel = shared.Sentinel{Master: "scilla-test", Addresses: []string{sentinel.Addr()}}
	cfg.Timeout = conf.Duration(500 * time.Millisecond)
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := shared.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rdb := c.Redis()
	ctx := context.Background()

	port := func() string {
		t.Helper()
		info, err := rdb.ConfigGet(ctx, "port").Result()
		if err != nil {
			t.Fatal(err)
		}
		return info["port"]
	}
	if got := port(); got != strconv.Itoa(master.Port) {
		t.Fatalf("connected to port %s, want the master's %d", got, master.Port)
	}
	key := c.Key("test", "k")
	if err := rdb.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("replication: %d replicas acknowledged, %v", n, err)
	}

	master.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := rdb.Set(ctx, c.Key("test", "after"), "1", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no master 30 s after the old one died: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := port(); got != strconv.Itoa(replica.Port) {
		t.Errorf("after the failover connected to port %s, want the promoted replica's %d", got, replica.Port)
	}
	if v, err := rdb.Get(ctx, key).Result(); err != nil || v != "before" {
		t.Errorf("data written before the failover: %q, %v", v, err)
	}
}
