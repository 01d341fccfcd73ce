package licensing

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scilla-mail/scilla/server/shared"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Clock returns the current time; tests pass their own.
type Clock func() time.Time

// The built-in trial.
const (
	trialSerial    = "builtin-trial"
	trialPeriod    = 30 * 24 * time.Hour
	trialMailboxes = 50
)

// Warning thresholds.
const (
	warnFraction = 0.9
	warnBefore   = 30 * 24 * time.Hour
)

// File names in the licence directory and the state directory.
const (
	activeFile  = "active.key"
	reserveFile = "reserve.key"
	stateDBFile = "license.db"
)

// Errors of key management.
var (
	ErrReserveOccupied   = errors.New("licensing: an active and a reserve key are already installed; remove the reserve key first (scilla license remove --reserve)")
	ErrAlreadyInstalled  = errors.New("licensing: this key is already installed")
	ErrNoLicense         = errors.New("licensing: no valid licence key")
	ErrUpdateAfterExpiry = errors.New("licensing: database update released after the licence expired")
)

// Slot is where an installed key sits; the values match scillav1.LicenseSlot.
type Slot int

// Slots.
const (
	SlotActive  Slot = 1
	SlotReserve Slot = 2
)

// String returns "active" or "reserve".
func (s Slot) String() string {
	if s == SlotReserve {
		return "reserve"
	}
	return "active"
}

// KeyStatus is one key as the server sees it.
type KeyStatus struct {
	Key *Key
	// Builtin marks the built-in trial (no key file).
	Builtin bool
	// Activated is when the key became active; zero for a reserve key.
	Activated time.Time
	// Expires is when it stops being valid; zero for a reserve key with a
	// period (it starts when it becomes active).
	Expires time.Time
	// State is "active", "trial", "reserve", "expired" or "not yet valid".
	State string
}

// Info is the full licence picture for `scilla license info`.
type Info struct {
	Active  *KeyStatus
	Reserve *KeyStatus
	// MailboxesUsed is the number of distinct protected recipients in the
	// last 30 days; BytesToday the protected traffic of the UTC day.
	MailboxesUsed uint64
	BytesToday    uint64
	State         string
	Warnings      []string
}

type mode int

const (
	// modeNone: no usable key, every protected recipient is NoLicense.
	modeNone mode = iota
	// modeActive: a valid key or the built-in trial; filter within limits.
	modeActive
	// modeExpired: a commercial key expired with no reserve; filtering
	// continues, database updates released after expiredAt are refused.
	modeExpired
)

// snapshot is the immutable licence state the scan path reads.
type snapshot struct {
	mode            mode
	active, reserve *KeyStatus
	maxMailboxes    uint64
	maxBytes        uint64
	// until is when the snapshot must be recomputed (the active key's
	// expiry, or its start when not valid yet); zero means never.
	until     time.Time
	expiredAt time.Time
	// problems are key files that were refused, for Warnings.
	problems []string
}

// Manager holds the installed keys and the usage counts. Admit is safe for
// concurrent use and never blocks on the disk or on other scans.
type Manager struct {
	cfg      Config
	dir      string
	issuers  atomic.Pointer[Issuers]
	clock    Clock
	log      *slog.Logger
	store    *store
	usage    *usage
	metrics  *metrics
	server   bool
	snap     atomic.Pointer[snapshot]
	prunedAt atomic.Uint32
	// shared is the usage shared through Redis; nil = this server alone.
	// Guarded by flushMu.
	shared *sharedUsage

	mu     sync.Mutex // serialises key changes
	stamp  string     // guarded by mu: the licence directory at the last load
	warned map[string]time.Time

	flushMu   sync.Mutex
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open opens the licence state under stateDir for the server: it loads the
// keys and usage, starts the built-in trial on the very first start when no
// key was ever installed (cfg.Trial), and runs a background loop that
// flushes usage, promotes the reserve key and picks up keys changed by hand
// in the licence directory. A nil clock means time.Now. Close stops it.
func Open(stateDir string, cfg Config, clock Clock, log *slog.Logger) (*Manager, error) {
	return OpenShared(stateDir, cfg, clock, log, nil)
}

// OpenShared is Open with the usage counted across the servers sharing
// Redis through c (nil = this server alone): the protected mailboxes and
// the daily traffic of all of them count against the limits. Each flush
// sends this server's changes and reads the totals back; while Redis is
// unreachable, usage is counted here and merged when it is back.
func OpenShared(stateDir string, cfg Config, clock Clock, log *slog.Logger, c *shared.Client) (*Manager, error) {
	m, err := open(stateDir, cfg, clock, log, true)
	if err != nil {
		return nil, err
	}
	if c != nil {
		node, err := m.store.nodeID()
		if err != nil {
			m.store.close()
			return nil, err
		}
		m.shared = newSharedUsage(c, node)
		// Adopt the cluster's salt and totals before the first scan.
		if err := m.Flush(); err != nil {
			m.log.Error("cannot save licence usage; will retry", "err", err)
		}
	}
	go m.run()
	return m, nil
}

// OpenOffline opens the licence state for the `scilla license` command
// while scillad is stopped: no trial is started and nothing runs in the
// background. It fails with ErrStateBusy while a server holds the state.
func OpenOffline(stateDir string, cfg Config, clock Clock) (*Manager, error) {
	m, err := open(stateDir, cfg, clock, slog.New(slog.DiscardHandler), false)
	if err != nil {
		return nil, err
	}
	close(m.done)
	return m, nil
}

func open(stateDir string, cfg Config, clock Clock, log *slog.Logger, server bool) (*Manager, error) {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.FlushInterval <= 0 || cfg.RescanInterval <= 0 {
		d := DefaultConfig()
		cfg.FlushInterval = max(cfg.FlushInterval, d.FlushInterval)
		cfg.RescanInterval = max(cfg.RescanInterval, d.RescanInterval)
	}
	issuers, err := NewIssuers(cfg.Issuers)
	if err != nil {
		return nil, fmt.Errorf("licensing: %w", err)
	}
	m := &Manager{
		cfg: cfg, dir: cfg.dir(stateDir), clock: clock, log: log.With("subsystem", "license"),
		server: server, warned: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	m.issuers.Store(&issuers)
	if err := os.MkdirAll(m.dir, 0o750); err != nil {
		return nil, fmt.Errorf("licensing: create licence directory: %w", err)
	}
	wait := time.Second
	if server {
		wait = 5 * time.Second
	}
	if m.store, err = openStore(filepath.Join(stateDir, stateDBFile), wait); err != nil {
		return nil, err
	}
	now := clock()
	day := dayNumber(now)
	seen, err := m.store.loadMailboxes(day - (windowDays - 1))
	if err != nil {
		m.store.close()
		return nil, err
	}
	m.usage = newUsage(m.store.salt(), seen, day, m.store.trafficOn(day))
	m.prunedAt.Store(day)
	m.metrics = newMetrics(m)
	m.mu.Lock()
	m.reloadLocked(now)
	m.mu.Unlock()
	return m, nil
}

// Admit implements engine.Licenser: one verdict.Info per protected
// recipient. It records the recipients and size as usage when they are
// filtered. It reads only memory and never waits for another scan.
func (m *Manager) Admit(rcpts []string, size int) []verdict.Info {
	out := make([]verdict.Info, len(rcpts))
	now := m.clock()
	s := m.current(now)
	if s.mode == modeNone {
		for i := range out {
			out[i] = verdict.NoLicense
		}
		m.metrics.noLicense.Add(float64(len(out)))
		return out
	}
	dc := m.usage.day(dayNumber(now))
	if s.maxBytes > 0 && dc.bytes.Load() >= s.maxBytes {
		for i := range out {
			out[i] = verdict.LicenseLimitExceeded
		}
		m.metrics.limitExceeded.Add(float64(len(out)))
		return out
	}
	filtered := 0
	for i, r := range rcpts {
		if m.usage.admit(m.usage.hash(r), dc.day, s.maxMailboxes) {
			filtered++
		} else {
			out[i] = verdict.LicenseLimitExceeded
		}
	}
	if filtered > 0 && size > 0 {
		dc.bytes.Add(uint64(size))
	}
	m.metrics.filtered.Add(float64(filtered))
	if n := len(out) - filtered; n > 0 {
		m.metrics.limitExceeded.Add(float64(n))
	}
	return out
}

// current returns the snapshot for now, recomputing it when it has run out
// (the active key expired or became valid). A scan never waits: if another
// goroutine is already recomputing, it uses the previous snapshot.
func (m *Manager) current(now time.Time) *snapshot {
	s := m.snap.Load()
	if s.until.IsZero() || now.Before(s.until) {
		return s
	}
	if !m.mu.TryLock() {
		return s
	}
	defer m.mu.Unlock()
	if s = m.snap.Load(); s.until.IsZero() || now.Before(s.until) {
		return s
	}
	return m.reloadLocked(now)
}

// AllowsDatabase is the updater's rule: it returns nil when a database
// version released at released may be installed. With a valid key (or the
// trial) every version may; after a commercial key expired with no reserve,
// only versions released before the expiry; without any licence, none.
func (m *Manager) AllowsDatabase(released time.Time) error {
	s := m.current(m.clock())
	switch s.mode {
	case modeActive:
		return nil
	case modeExpired:
		if released.Before(s.expiredAt) {
			return nil
		}
		return fmt.Errorf("%w: version released %s, licence %s expired %s; install a new key",
			ErrUpdateAfterExpiry, released.UTC().Format(time.RFC3339), s.active.Key.Serial, s.expiredAt.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: database updates need a licence (%s)", ErrNoLicense, m.stateText(s, m.clock()))
}

// Install verifies a key file and installs it: it becomes the active key
// when no key is active, the active key has expired or is a trial;
// otherwise the reserve key. The key applies to scans at once.
func (m *Manager) Install(data []byte) (Slot, *KeyStatus, error) {
	now := m.clock()
	k, err := Verify(data, *m.issuers.Load(), now)
	if err != nil {
		return 0, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.reloadLocked(now)
	for _, ks := range []*KeyStatus{s.active, s.reserve} {
		if ks != nil && !ks.Builtin && ks.Key.Serial == k.Serial {
			return 0, nil, fmt.Errorf("%w (serial %s, %s key)", ErrAlreadyInstalled, k.Serial, ks.State)
		}
	}
	// A key that was active before keeps its start: its period may be over.
	if act, ok := m.store.getTime(bActivations, []byte(k.Serial)); ok {
		if err := k.CheckTime(now, act); err != nil {
			return 0, nil, fmt.Errorf("%w (first activated %s)", err, act.UTC().Format(time.RFC3339))
		}
	}
	slot := SlotReserve
	if s.active == nil || s.active.Builtin || s.mode != modeActive || (s.active.Key.Type == Trial && k.Type == Commercial) {
		slot = SlotActive
	} else if s.reserve != nil {
		return 0, nil, ErrReserveOccupied
	}
	if err := m.store.putTime(bMeta, kKeyInstalled, now); err != nil {
		return 0, nil, err
	}
	if slot == SlotActive {
		if _, err := m.store.firstTime(bActivations, []byte(k.Serial), now); err != nil {
			return 0, nil, err
		}
		if err := writeFileAtomic(m.dir, activeFile, data); err != nil {
			return 0, nil, err
		}
	} else if err := writeFileAtomic(m.dir, reserveFile, data); err != nil {
		return 0, nil, err
	}
	s = m.reloadLocked(now)
	ks := s.reserve
	if slot == SlotActive {
		ks = s.active
	}
	if ks == nil || ks.Key.Serial != k.Serial {
		return 0, nil, fmt.Errorf("licensing: key %s was written to %s but did not load; see the server log", k.Serial, m.dir)
	}
	m.log.Info("licence key installed", "serial", k.Serial, "slot", slot, "type", k.Type, "licensee", k.Licensee, "validity", k.Validity())
	return slot, ks, nil
}

// Remove deletes the reserve key, or with all every installed key, and
// returns how many key files it removed.
func (m *Manager) Remove(all bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := []string{reserveFile}
	if all {
		names = append(names, activeFile)
	}
	n := 0
	for _, name := range names {
		err := os.Remove(filepath.Join(m.dir, name))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, os.ErrNotExist):
			return n, fmt.Errorf("licensing: remove %s: %w", name, err)
		}
	}
	if n > 0 {
		if err := syncDir(m.dir); err != nil {
			return n, err
		}
	}
	m.reloadLocked(m.clock())
	m.log.Info("licence keys removed", "removed", n, "all", all)
	return n, nil
}

// Reload re-reads the licence directory (for keys copied in by hand).
func (m *Manager) Reload() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reloadLocked(m.clock())
}

// SetIssuers applies a reloaded license.issuers list and re-reads the keys
// with it (other license settings take effect at the next start).
func (m *Manager) SetIssuers(extra []string) error {
	is, err := NewIssuers(extra)
	if err != nil {
		return fmt.Errorf("licensing: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.issuers.Store(&is)
	m.reloadLocked(m.clock())
	return nil
}

// Info returns the keys, usage, state and warnings.
func (m *Manager) Info() Info {
	now := m.clock()
	s := m.current(now)
	return Info{
		Active:        s.active,
		Reserve:       s.reserve,
		MailboxesUsed: uint64(m.usage.count.Load()),
		BytesToday:    m.usage.day(dayNumber(now)).bytes.Load(),
		State:         m.stateText(s, now),
		Warnings:      m.warnings(s, now),
	}
}

// State is the one-line licence summary for Admin.Status, e.g.
// "trial: built-in 30-day trial, 27 days left (until 2026-12-19), up to 50 protected mailboxes".
func (m *Manager) State() string {
	now := m.clock()
	return m.stateText(m.current(now), now)
}

// Warnings lists what the administrator should act on: no licence, expiry
// within 30 days without a reserve key, expiry passed, usage at 90% of a
// limit or over it, key files that were refused.
func (m *Manager) Warnings() []string {
	now := m.clock()
	return m.warnings(m.current(now), now)
}

// Flush writes the usage counts to the state directory.
func (m *Manager) Flush() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	today := dayNumber(m.clock())
	if m.prunedAt.Load() != today {
		m.usage.prune(today - (windowDays - 1))
		m.prunedAt.Store(today)
	}
	c := m.usage.take()
	if m.shared != nil {
		// A failure is logged once per outage by the client; the changes
		// wait for the next flush.
		m.shared.c.Report("license", m.syncShared(c, today))
	}
	if err := m.store.save(c.seen, c.gone, c.traffic); err != nil {
		m.usage.giveBack(c)
		return err
	}
	return nil
}

// Close stops the background loop, writes the usage counts and closes the
// state database.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		if m.server {
			close(m.stop)
		}
		<-m.done
		m.closeErr = errors.Join(m.Flush(), m.store.close())
	})
	return m.closeErr
}

// run is the server's background loop.
func (m *Manager) run() {
	defer close(m.done)
	flush := time.NewTicker(m.cfg.FlushInterval.D())
	defer flush.Stop()
	rescan := time.NewTicker(m.cfg.RescanInterval.D())
	defer rescan.Stop()
	m.log.Info("licence state", "state", m.State(), "dir", m.dir)
	m.logWarnings()
	for {
		select {
		case <-m.stop:
			return
		case <-flush.C:
			if err := m.Flush(); err != nil {
				m.log.Error("cannot save licence usage; will retry", "err", err)
			}
			m.current(m.clock())
			m.logWarnings()
		case <-rescan.C:
			m.mu.Lock()
			if m.dirStamp() != m.stamp {
				m.log.Info("licence directory changed; reloading keys", "dir", m.dir)
				m.reloadLocked(m.clock())
			}
			m.mu.Unlock()
		}
	}
}

// logWarnings logs each warning when it first appears and again daily.
func (m *Manager) logWarnings() {
	now := m.clock()
	ws := m.Warnings()
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := map[string]bool{}
	for _, w := range ws {
		cur[w] = true
		if last, ok := m.warned[w]; !ok || now.Sub(last) >= 24*time.Hour {
			m.log.Warn("licence: " + w)
			m.warned[w] = now
		}
	}
	for w := range m.warned {
		if !cur[w] {
			delete(m.warned, w)
		}
	}
}

// reloadLocked reads the licence directory, starts the trial or promotes
// the reserve key when due, and publishes a new snapshot. m.mu is held.
func (m *Manager) reloadLocked(now time.Time) *snapshot {
	var problems []string
	active, err := m.readKey(activeFile)
	if err != nil {
		problems = append(problems, err.Error())
	}
	reserve, err := m.readKey(reserveFile)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if active == nil && reserve != nil {
		// The active key was removed by hand: the reserve takes over now.
		active, reserve = m.promote(reserve, now), nil
	}
	if active != nil {
		act := m.activation(active.Key.Serial, now)
		active.Activated, active.Expires = act, active.Key.ExpiresAt(act)
		// The reserve key takes over the moment the active key expires, and
		// its own period starts then, whenever we notice.
		if reserve != nil && !now.Before(active.Expires) {
			start := active.Expires
			if reserve.Key.Issued.After(start) {
				start = reserve.Key.Issued
			}
			active, reserve = m.promote(reserve, now), nil
			act := m.activation(active.Key.Serial, start)
			active.Activated, active.Expires = act, active.Key.ExpiresAt(act)
		}
	}
	if active == nil {
		active = m.trial(now)
	}
	s := &snapshot{active: active, reserve: reserve, problems: problems}
	if reserve != nil {
		reserve.State = "reserve"
		if reserve.Key.Period == 0 {
			reserve.Expires = reserve.Key.Expires
		}
	}
	if active != nil {
		s.maxMailboxes, s.maxBytes = active.Key.MaxMailboxes, active.Key.MaxDailyBytes
		err := active.Key.CheckTime(now, active.Activated)
		switch {
		case err == nil:
			s.mode, s.until, active.State = modeActive, active.Expires, "active"
			if active.Key.Type == Trial {
				active.State = "trial"
			}
		case errors.Is(err, ErrNotYetValid):
			s.mode, s.until, active.State = modeNone, active.Key.Issued, "not yet valid"
		case active.Key.Type == Commercial:
			s.mode, s.expiredAt, active.State = modeExpired, active.Expires, "expired"
		default:
			s.mode, active.State = modeNone, "expired"
		}
	}
	m.stamp = m.dirStamp()
	m.snap.Store(s)
	return s
}

// activation returns when serial was first activated, recording at as
// that moment if it never was. A key's period starts once: removing and
// installing it again does not restart it. Only the server records (the
// offline command's install records through Install).
func (m *Manager) activation(serial string, at time.Time) time.Time {
	if t, ok := m.store.getTime(bActivations, []byte(serial)); ok || !m.server {
		if ok {
			return t
		}
		return at
	}
	t, err := m.store.firstTime(bActivations, []byte(serial), at)
	if err != nil {
		m.log.Error("cannot record key activation", "serial", serial, "err", err)
		return at
	}
	return t
}

// promote makes the reserve key the active one on disk.
func (m *Manager) promote(reserve *KeyStatus, now time.Time) *KeyStatus {
	err := os.Rename(filepath.Join(m.dir, reserveFile), filepath.Join(m.dir, activeFile))
	if err == nil {
		err = syncDir(m.dir)
	}
	if err != nil {
		m.log.Error("cannot move the reserve key to the active slot; using it anyway", "err", err)
	}
	m.log.Info("reserve licence key is now active", "serial", reserve.Key.Serial, "at", now)
	return &KeyStatus{Key: reserve.Key}
}

// trial returns the built-in trial when no key is installed, starting it on
// the server's very first start. It runs once: its record in the state
// fixes its 30 days.
func (m *Manager) trial(now time.Time) *KeyStatus {
	start, ok := m.store.getTime(bMeta, kTrialStarted)
	if !ok {
		if _, installed := m.store.getTime(bMeta, kKeyInstalled); installed || !m.server || !m.cfg.Trial {
			return nil
		}
		var err error
		if start, err = m.store.firstTime(bMeta, kTrialStarted, now); err != nil {
			m.log.Error("cannot record the trial start; trial not started", "err", err)
			return nil
		}
		m.log.Info("no licence key installed: the built-in 30-day trial starts now", "until", start.Add(trialPeriod), "max_mailboxes", trialMailboxes)
	}
	k := &Key{
		Product: Product, Serial: trialSerial, Type: Trial, Licensee: "built-in trial",
		Issued: start, Period: trialPeriod, MaxMailboxes: trialMailboxes,
	}
	return &KeyStatus{Key: k, Builtin: true, Activated: start, Expires: start.Add(trialPeriod)}
}

// readKey reads and checks one key file; a missing file is (nil, nil).
func (m *Manager) readKey(name string) (*KeyStatus, error) {
	data, err := os.ReadFile(filepath.Join(m.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s refused: %w", name, err)
	}
	k, err := Parse(data, *m.issuers.Load())
	if err == nil && k.Product != Product {
		err = fmt.Errorf("%w: key is for %q", ErrWrongProduct, k.Product)
	}
	if err != nil {
		m.log.Error("licence key file refused", "file", filepath.Join(m.dir, name), "err", err)
		return nil, fmt.Errorf("%s refused: %w", name, err)
	}
	return &KeyStatus{Key: k}, nil
}

// dirStamp fingerprints the key files so the rescan notices changes.
func (m *Manager) dirStamp() string {
	var st string
	for _, name := range []string{activeFile, reserveFile} {
		if fi, err := os.Stat(filepath.Join(m.dir, name)); err == nil {
			st += fmt.Sprintf("%s:%d:%d;", name, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return st
}

// writeFileAtomic replaces dir/name with data so a reader sees the old or
// the new file, never a part.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("licensing: write %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("licensing: write %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("licensing: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("licensing: sync %s: %w", dir, err)
	}
	return nil
}
