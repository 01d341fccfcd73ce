package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/licensing"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/updater/update/updatetest"
)

// TestLicenceExpired: after a commercial key expired (no reserve), a
// database created before the expiry installs and one created after it is
// refused, the installed one staying current.
func TestLicenceExpired(t *testing.T) {
	seed := sha256.Sum256([]byte("scilla test issuer updater"))
	issuer := ed25519.NewKeyFromSeed(seed[:])
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	expiry := t0.AddDate(0, 1, 0)

	var mu sync.Mutex
	now := t0.Add(24 * time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := licensing.DefaultConfig()
	cfg.Trial = false
	cfg.Issuers = []string{licensing.FormatPublicKey(issuer.Public().(ed25519.PublicKey))}
	m, err := licensing.Open(filepath.Join(t.TempDir(), "state"), cfg, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key, err := licensing.Sign(licensing.Key{
		Product: licensing.Product, Serial: "SC-UPD-1", Type: licensing.Commercial, Licensee: "Example",
		Issued: t0, Expires: expiry,
	}, issuer)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Install(key); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = expiry.Add(10 * 24 * time.Hour)
	mu.Unlock()

	p := newPublisher(t)
	u, st := newUpdater(t, p.source(), m)
	pub := func(version string, created time.Time) {
		updatetest.Publish(t, p.dir, version, created, contentdbtest.Files(t, version), p.key)
	}

	pub("2026112201", expiry.Add(-time.Hour))
	mustRun(t, u)
	checkStore(t, st, "2026112201")

	pub("2026112202", expiry.Add(time.Hour))
	p.requests()
	if _, err := runOnce(t, u); !errors.Is(err, licensing.ErrUpdateAfterExpiry) {
		t.Errorf("database released after the expiry: %v", err)
	}
	checkStore(t, st, "2026112201")
	// Refused before any data file was fetched.
	if got := p.requests(); len(got) != 2 {
		t.Errorf("refused update fetched %v", got)
	}
}
