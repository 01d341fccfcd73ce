package licensing

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scilla-mail/scilla/server/verdict"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t; the manager's background loop reads it concurrently.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is one state directory with an issuer the config trusts.
type env struct {
	t     *testing.T
	dir   string
	cfg   Config
	clock *clock
	iss   ed25519.PrivateKey
}

func newEnv(t *testing.T, trial bool) *env {
	iss := testIssuer("manager")
	cfg := DefaultConfig()
	cfg.Trial = trial
	cfg.Issuers = []string{FormatPublicKey(iss.Public().(ed25519.PublicKey))}
	return &env{t: t, dir: t.TempDir(), cfg: cfg, clock: &clock{t: t0.Add(10 * 24 * time.Hour)}, iss: iss}
}

func (e *env) open() *Manager {
	e.t.Helper()
	m, err := Open(e.dir, e.cfg, e.clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { m.Close() })
	return m
}

// key signs a commercial key valid from t0 with the given mailbox limit and
// validity: an absolute expiry (expires) or a period in days.
func (e *env) key(serial string, mailboxes uint64, expires time.Time, periodDays int) []byte {
	k := baseKey()
	k.Serial, k.MaxMailboxes, k.MaxDailyBytes, k.Expires = serial, mailboxes, 0, expires
	if periodDays > 0 {
		k.Expires, k.Period = time.Time{}, time.Duration(periodDays)*24*time.Hour
	}
	return mustSign(e.t, k, e.iss)
}

// settle brings m's snapshot up to the clock's time as Manager.current
// does, but waits for the lock. A scan never waits for it, so a scan that
// meets the background loop holding it (its first warnings log on a busy
// machine, a flush) uses the previous snapshot until the next scan; a test
// that reads a change of state right after moving the clock settles first
// rather than depend on that race.
func settle(m *Manager) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.snap.Load(); !s.until.IsZero() && !m.clock().Before(s.until) {
		m.reloadLocked(m.clock())
	}
}

func install(t *testing.T, m *Manager, data []byte, want Slot) *KeyStatus {
	t.Helper()
	slot, ks, err := m.Install(data)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if slot != want {
		t.Fatalf("installed as %v, want %v", slot, want)
	}
	return ks
}

func rcpts(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("user%d@example.com", i))
	}
	return out
}

func count(infos []verdict.Info, want verdict.Info) int {
	n := 0
	for _, i := range infos {
		if i == want {
			n++
		}
	}
	return n
}

func TestNoLicensePassThrough(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	got := m.Admit([]string{"a@example.com", "b@example.com"}, 1000)
	if count(got, verdict.NoLicense) != 2 {
		t.Fatalf("Admit = %v, want NoLicense for both", got)
	}
	if st := m.State(); !strings.HasPrefix(st, "no licence: no key installed") || !strings.Contains(st, "X-Spamtest-Info: No License") {
		t.Errorf("State = %q", st)
	}
	if len(m.Warnings()) == 0 {
		t.Error("no warning without a licence")
	}
	if err := m.AllowsDatabase(e.clock.Now()); !errors.Is(err, ErrNoLicense) {
		t.Errorf("AllowsDatabase = %v, want ErrNoLicense", err)
	}
	if info := m.Info(); info.MailboxesUsed != 0 || info.BytesToday != 0 {
		t.Errorf("usage counted without a licence: %+v", info)
	}
}

func TestTrialActivatesExactlyOnce(t *testing.T) {
	e := newEnv(t, true)
	m := e.open()
	start := e.clock.Now()
	info := m.Info()
	if info.Active == nil || !info.Active.Builtin || !info.Active.Activated.Equal(start) {
		t.Fatalf("first start: active = %+v, want the built-in trial from %v", info.Active, start)
	}
	if !strings.HasPrefix(info.State, "trial: built-in 30-day trial, 30 days left") || !strings.Contains(info.State, "up to 50 protected mailboxes") {
		t.Errorf("State = %q", info.State)
	}
	if w := strings.Join(info.Warnings, "\n"); !strings.Contains(w, "the built-in trial ends in 30 days") {
		t.Errorf("Warnings = %q", w)
	}
	if got := m.Admit(rcpts(0, 51), 10); count(got, verdict.InfoNone) != 50 || got[50] != verdict.LicenseLimitExceeded {
		t.Errorf("trial admitted %d of 51 mailboxes, want 50", count(got, verdict.InfoNone))
	}
	m.Close()

	// A restart ten days later continues the same trial.
	e.clock.Add(10 * 24 * time.Hour)
	m = e.open()
	if a := m.Info().Active; a == nil || !a.Activated.Equal(start) {
		t.Fatalf("after restart: active = %+v, want the trial started %v", a, start)
	}
	if st := m.State(); !strings.Contains(st, "20 days left") {
		t.Errorf("State = %q, want 20 days left", st)
	}

	// It ends after 30 days, and neither time nor a restart starts a new one.
	e.clock.Add(20 * 24 * time.Hour)
	settle(m)
	if got := m.Admit([]string{"user1@example.com"}, 10); got[0] != verdict.NoLicense {
		t.Errorf("after the trial: %v, want NoLicense", got)
	}
	m.Close()
	e.clock.Add(24 * time.Hour)
	m = e.open()
	if got := m.Admit([]string{"user1@example.com"}, 10); got[0] != verdict.NoLicense {
		t.Errorf("after restart past the trial: %v, want NoLicense", got)
	}
	if st := m.State(); !strings.HasPrefix(st, "no licence: the built-in trial ended on") {
		t.Errorf("State = %q", st)
	}
}

func TestNoTrialAfterOfflineInstall(t *testing.T) {
	e := newEnv(t, true)
	off, err := OpenOffline(e.dir, e.cfg, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	install(t, off, e.key("SC-1", 0, t0.AddDate(0, 0, 20), 0), SlotActive)
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	m := e.open()
	if a := m.Info().Active; a == nil || a.Builtin || a.Key.Serial != "SC-1" {
		t.Fatalf("active = %+v, want SC-1", a)
	}
	if _, err := m.Remove(true); err != nil {
		t.Fatal(err)
	}
	if a := m.Info().Active; a != nil {
		t.Errorf("after removing the only key: active = %+v, want none (no trial once a key was installed)", a)
	}
}

func TestOfflineRefusedWhileServerRuns(t *testing.T) {
	e := newEnv(t, false)
	e.open()
	if _, err := OpenOffline(e.dir, e.cfg, e.clock.Now); !errors.Is(err, ErrStateBusy) {
		t.Fatalf("OpenOffline while the server runs: %v, want ErrStateBusy", err)
	}
}

func TestInstallSlots(t *testing.T) {
	e := newEnv(t, true)
	m := e.open()
	end := t0.AddDate(1, 0, 0)
	// The first key replaces the trial at once.
	a := install(t, m, e.key("SC-A", 100, end, 0), SlotActive)
	if a.State != "active" || !a.Expires.Equal(end) {
		t.Errorf("active = %+v", a)
	}
	r := install(t, m, e.key("SC-B", 100, time.Time{}, 365), SlotReserve)
	if r.State != "reserve" || !r.Expires.IsZero() {
		t.Errorf("reserve = %+v", r)
	}
	if _, _, err := m.Install(e.key("SC-C", 100, end, 0)); !errors.Is(err, ErrReserveOccupied) {
		t.Errorf("third key: %v, want ErrReserveOccupied", err)
	}
	if _, _, err := m.Install(e.key("SC-B", 100, end, 0)); !errors.Is(err, ErrAlreadyInstalled) {
		t.Errorf("same serial: %v, want ErrAlreadyInstalled", err)
	}
	if _, _, err := m.Install([]byte("junk")); !errors.Is(err, ErrMalformed) {
		t.Errorf("junk: %v, want ErrMalformed", err)
	}
	if n, err := m.Remove(false); err != nil || n != 1 {
		t.Fatalf("remove reserve: %d, %v", n, err)
	}
	if info := m.Info(); info.Reserve != nil || info.Active.Key.Serial != "SC-A" {
		t.Errorf("after remove --reserve: %+v", info)
	}
	if n, err := m.Remove(true); err != nil || n != 1 {
		t.Fatalf("remove all: %d, %v", n, err)
	}
	if got := m.Admit([]string{"x@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Errorf("after removing all keys within the trial's 30 days: %v, want the trial to filter", got)
	}
}

func TestReservePromotedAtExpiry(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	end := e.clock.Now().Add(5 * 24 * time.Hour)
	install(t, m, e.key("SC-A", 10, end, 0), SlotActive)
	install(t, m, e.key("SC-B", 20, time.Time{}, 30), SlotReserve)
	if w := strings.Join(m.Warnings(), "\n"); strings.Contains(w, "expires in") {
		t.Errorf("expiry warned about although a reserve key is installed: %s", w)
	}

	e.clock.Add(5*24*time.Hour - time.Second)
	settle(m)
	if a := m.Info().Active; a.Key.Serial != "SC-A" {
		t.Fatalf("a second before expiry the active key is %s", a.Key.Serial)
	}
	e.clock.Add(time.Second)
	settle(m)
	if got := m.Admit([]string{"a@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Fatalf("at the expiry instant: %v, want filtered by the reserve key", got)
	}
	info := m.Info()
	if info.Active.Key.Serial != "SC-B" || info.Reserve != nil {
		t.Fatalf("after expiry: active %v reserve %v, want SC-B and none", info.Active.Key.Serial, info.Reserve)
	}
	if !info.Active.Activated.Equal(end) || !info.Active.Expires.Equal(end.Add(30*24*time.Hour)) {
		t.Errorf("SC-B activated %v expires %v, want its 30 days to start at %v", info.Active.Activated, info.Active.Expires, end)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "license", reserveFile)); !os.IsNotExist(err) {
		t.Errorf("reserve.key still exists after promotion: %v", err)
	}

	// A restart keeps the promoted key's activation date.
	m.Close()
	e.clock.Add(3 * 24 * time.Hour)
	m = e.open()
	if a := m.Info().Active; a.Key.Serial != "SC-B" || !a.Activated.Equal(end) {
		t.Errorf("after restart: %+v", a)
	}
}

func TestReservePromotedWhileStopped(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	end := e.clock.Now().Add(24 * time.Hour)
	install(t, m, e.key("SC-A", 10, end, 0), SlotActive)
	install(t, m, e.key("SC-B", 20, time.Time{}, 30), SlotReserve)
	m.Close()
	e.clock.Add(10 * 24 * time.Hour) // down over the expiry
	m = e.open()
	if a := m.Info().Active; a.Key.Serial != "SC-B" || !a.Activated.Equal(end) {
		t.Errorf("active = %+v, want SC-B activated at the old expiry %v", a, end)
	}
}

func TestExpiredWithoutReserve(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	end := e.clock.Now().Add(20 * 24 * time.Hour)
	install(t, m, e.key("SC-A", 10, end, 0), SlotActive)
	if w := strings.Join(m.Warnings(), "\n"); !strings.Contains(w, "licence expires in 20 days") {
		t.Errorf("warnings = %q, want the 30-day expiry warning", w)
	}
	e.clock.Add(21 * 24 * time.Hour)
	settle(m)
	if got := m.Admit([]string{"a@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Errorf("after expiry: %v, want filtering to continue", got)
	}
	if st := m.State(); !strings.HasPrefix(st, "expired: key SC-A expired on") {
		t.Errorf("State = %q", st)
	}
	if err := m.AllowsDatabase(end.Add(-time.Minute)); err != nil {
		t.Errorf("database released before expiry refused: %v", err)
	}
	if err := m.AllowsDatabase(end.Add(time.Minute)); !errors.Is(err, ErrUpdateAfterExpiry) {
		t.Errorf("database released after expiry: %v, want ErrUpdateAfterExpiry", err)
	}
	// A new key replaces the expired one and lifts the rule.
	install(t, m, e.key("SC-NEW", 10, end.AddDate(1, 0, 0), 0), SlotActive)
	if err := m.AllowsDatabase(e.clock.Now()); err != nil {
		t.Errorf("with a new key: %v", err)
	}
}

func TestMailboxLimit(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	install(t, m, e.key("SC-50", 50, t0.AddDate(1, 0, 0), 0), SlotActive)
	got := m.Admit(rcpts(0, 45), 100)
	if count(got, verdict.InfoNone) != 45 {
		t.Fatalf("first 45: %v", got)
	}
	if w := strings.Join(m.Warnings(), "\n"); !strings.Contains(w, "nearly reached: 45 of 50 protected mailboxes") {
		t.Errorf("warnings at 90%% = %q", w)
	}
	m.Admit(rcpts(45, 50), 100)
	got = m.Admit([]string{"user50@example.com", "USER3@Example.COM", "user51@example.com"}, 100)
	want := []verdict.Info{verdict.LicenseLimitExceeded, verdict.InfoNone, verdict.LicenseLimitExceeded}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("51st mailbox, a counted one, 52nd: %v, want %v", got, want)
	}
	if n := m.Info().MailboxesUsed; n != 50 {
		t.Errorf("mailboxes used = %d, want 50", n)
	}
	if w := strings.Join(m.Warnings(), "\n"); !strings.Contains(w, "limit reached: 50 of 50") {
		t.Errorf("warnings over the limit = %q", w)
	}
	// Mailboxes not seen for 30 days free their places.
	e.clock.Add(29 * 24 * time.Hour)
	m.Admit(rcpts(0, 10), 100)
	e.clock.Add(2 * 24 * time.Hour)
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := m.Info().MailboxesUsed; n != 10 {
		t.Errorf("after 31 days: %d mailboxes used, want the 10 seen within 30 days", n)
	}
	if got := m.Admit([]string{"user51@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Errorf("a new mailbox once places are free: %v", got)
	}
}

func TestConcurrentAdmitNeverOvershoots(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	install(t, m, e.key("SC-50", 50, t0.AddDate(1, 0, 0), 0), SlotActive)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := map[string]bool{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				r := fmt.Sprintf("user%d@example.com", (g*40+i*7)%200)
				if m.Admit([]string{r}, 10)[0] == verdict.InfoNone {
					mu.Lock()
					admitted[r] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(admitted) != 50 || m.Info().MailboxesUsed != 50 {
		t.Errorf("%d distinct mailboxes admitted, %d counted; want exactly 50", len(admitted), m.Info().MailboxesUsed)
	}
}

func TestDailyTrafficLimit(t *testing.T) {
	e := newEnv(t, false)
	k := baseKey()
	k.Serial, k.MaxMailboxes, k.MaxDailyBytes = "SC-T", 0, 1000
	m := e.open()
	install(t, m, mustSign(t, k, e.iss), SlotActive)
	e.clock.Set(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	for i, want := range []verdict.Info{verdict.InfoNone, verdict.InfoNone, verdict.LicenseLimitExceeded, verdict.LicenseLimitExceeded} {
		if got := m.Admit([]string{"a@example.com", "b@example.com"}, 600); got[0] != want || got[1] != want {
			t.Errorf("message %d: %v, want %v", i+1, got, want)
		}
	}
	if info := m.Info(); info.BytesToday != 1200 {
		t.Errorf("bytes today = %d, want the 1200 filtered", info.BytesToday)
	}
	e.clock.Set(time.Date(2026, 11, 21, 0, 0, 1, 0, time.UTC))
	if got := m.Admit([]string{"a@example.com"}, 600); got[0] != verdict.InfoNone {
		t.Errorf("next day: %v, want filtered again", got)
	}
}

func TestUsageSurvivesRestart(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	install(t, m, e.key("SC-1", 0, t0.AddDate(1, 0, 0), 0), SlotActive)
	m.Admit(rcpts(0, 7), 5000)
	m.Admit(rcpts(3, 9), 2500)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = e.open()
	info := m.Info()
	if info.MailboxesUsed != 9 || info.BytesToday != 7500 {
		t.Errorf("after restart: %d mailboxes, %d bytes; want 9 and 7500", info.MailboxesUsed, info.BytesToday)
	}
	// The salt persists too: a mailbox from before is not counted again.
	m.Admit(rcpts(0, 1), 1)
	if n := m.Info().MailboxesUsed; n != 9 {
		t.Errorf("a known mailbox was counted again: %d", n)
	}
	// Only salted hashes are stored.
	raw, err := os.ReadFile(filepath.Join(e.dir, stateDBFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "example.com") {
		t.Error("the state database contains a plain address")
	}
}

func TestKeyCopiedByHand(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	if err := os.WriteFile(filepath.Join(e.dir, "license", activeFile), e.key("SC-H", 0, t0.AddDate(1, 0, 0), 0), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Reload()
	if a := m.Info().Active; a == nil || a.Key.Serial != "SC-H" {
		t.Fatalf("active = %+v, want SC-H", a)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "license", reserveFile), []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Reload()
	if w := strings.Join(m.Warnings(), "\n"); !strings.Contains(w, "reserve.key refused: licensing: malformed") {
		t.Errorf("warnings = %q", w)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, true)
	m := e.open()
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.Admit(rcpts(0, 51), 10)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range mt.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			v := mt.GetGauge().GetValue() + mt.GetCounter().GetValue()
			got[name] = v
		}
	}
	want := map[string]float64{
		"scilla_license_mailboxes_used":                          50,
		"scilla_license_mailboxes_limit":                         50,
		"scilla_license_recipients_total{result=filtered}":       50,
		"scilla_license_recipients_total{result=limit_exceeded}": 1,
		"scilla_license_state{state=trial}":                      1,
		"scilla_license_state{state=active}":                     0,
		"scilla_license_warnings":                                2, // trial ends within 30 days; limit reached
		"scilla_license_expiry_timestamp_seconds":                float64(e.clock.Now().Add(trialPeriod).Unix()),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	c.Dir, c.Issuers = "relative/dir", []string{"ed25519:nope"}
	c.FlushInterval = 0
	if errs := c.Validate(); len(errs) != 3 {
		t.Errorf("Validate = %v, want 3 problems", errs)
	}
}

func TestSetIssuers(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	install(t, m, e.key("SC-I", 0, t0.AddDate(1, 0, 0), 0), SlotActive)
	if err := m.SetIssuers(nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Admit([]string{"a@example.com"}, 1); got[0] != verdict.NoLicense {
		t.Errorf("after its issuer was removed from the config: %v, want NoLicense", got)
	}
	if w := strings.Join(m.Warnings(), "\n"); !strings.Contains(w, "active.key refused: licensing: licence key was signed by an issuer this server does not trust") {
		t.Errorf("warnings = %q", w)
	}
	if err := m.SetIssuers(e.cfg.Issuers); err != nil {
		t.Fatal(err)
	}
	if got := m.Admit([]string{"a@example.com"}, 1); got[0] != verdict.InfoNone {
		t.Errorf("issuer trusted again: %v", got)
	}
	if err := m.SetIssuers([]string{"nope"}); err == nil {
		t.Error("a bad issuer key was accepted")
	}
}

func TestReinstallKeepsPeriodStart(t *testing.T) {
	e := newEnv(t, false)
	m := e.open()
	key := e.key("SC-P", 0, time.Time{}, 10)
	install(t, m, key, SlotActive)
	if _, err := m.Remove(true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(4 * 24 * time.Hour)
	if ks := install(t, m, key, SlotActive); !ks.Expires.Equal(e.clock.Now().Add(6 * 24 * time.Hour)) {
		t.Errorf("re-installed key expires %v, want its first period's end", ks.Expires)
	}
	m.Remove(true)
	e.clock.Add(7 * 24 * time.Hour)
	if _, _, err := m.Install(key); !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "first activated") {
		t.Errorf("re-installing a key whose period is over: %v, want ErrExpired", err)
	}
}
