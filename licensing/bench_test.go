package licensing

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAdmitParallel8 measures the licence check on the scan path with
// eight concurrent scanners, each message to two protected recipients out of
// 5,000 mailboxes, against a 10,000-mailbox key with a traffic limit (every
// check runs). The bar is under 2 µs per check: see ns/op.
func BenchmarkAdmitParallel8(b *testing.B) {
	iss := testIssuer("bench")
	cfg := DefaultConfig()
	cfg.Trial = false
	cfg.Issuers = []string{FormatPublicKey(iss.Public().(ed25519.PublicKey))}
	now := time.Now()
	m, err := Open(b.TempDir(), cfg, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	k := baseKey()
	k.Issued, k.Expires, k.MaxMailboxes, k.MaxDailyBytes = now.Add(-time.Hour), now.AddDate(1, 0, 0), 10000, 1<<60
	if _, _, err := m.Install(mustSign(b, k, iss)); err != nil {
		b.Fatal(err)
	}
	addrs := make([]string, 5000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("mailbox%d@customer%d.example.com", i, i%40)
		m.Admit(addrs[i:i+1], 1)
	}
	var next atomic.Uint64
	b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i += 2
			m.Admit([]string{addrs[i%len(addrs)], addrs[(i+1)%len(addrs)]}, 20000)
		}
	})
}
