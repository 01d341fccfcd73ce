package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/config"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/updater/update"
)

// firstUpdateDelay is how long after start the first update runs: long
// enough not to slow the start, short enough that a fresh install soon
// leaves the embedded database.
const firstUpdateDelay = 10 * time.Second

// openDatabase loads the database scillad serves: content.dir when set;
// with updates on, the installed version (STATE_DIR/db/current, or the
// previous one if current no longer loads); else the embedded default.
func openDatabase(cfg *config.Config, log *slog.Logger) (*contentdb.DB, error) {
	if cfg.Content.Dir != "" || !cfg.Update.Enabled() {
		return cfg.Content.Open()
	}
	keys, err := contentdb.ParseKeys(cfg.Content.TrustedKeys)
	if err != nil {
		return nil, err
	}
	store := update.StoreDir(cfg.Server.StateDir)
	for _, link := range []string{update.CurrentLink, update.PreviousLink} {
		p := filepath.Join(store, link)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		db, err := contentdb.LoadDir(p, keys)
		if err == nil {
			return db, nil
		}
		log.Error("installed content database does not load; trying the one before it", "path", p, "err", err)
	}
	return contentdb.Default()
}

// updates runs content database updates: on a schedule, on the Update RPC,
// and reports their state for Status and as metrics. Runs never overlap.
//
//	scilla_update_runs_total{result}                 runs by result: installed, unchanged, rolled_back, failed
//	scilla_update_duration_seconds{result}           how long runs took
//	scilla_update_fetched_bytes_total                bytes downloaded from the source
//	scilla_update_last_success_timestamp_seconds     when a run last succeeded (0 = never)
type updates struct {
	d   *Daemon
	sem chan struct{} // held by the running update

	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	fetched     prometheus.Counter
	lastSuccess prometheus.Gauge

	mu     sync.Mutex
	last   time.Time
	lastOK bool
	result string
	next   time.Time
}

func newUpdates(d *Daemon, reg prometheus.Registerer) (*updates, error) {
	u := &updates{
		d:   d,
		sem: make(chan struct{}, 1),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_update_runs_total",
			Help: "Content database update runs by result (installed, unchanged, rolled_back, failed).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scilla_update_duration_seconds",
			Help:    "Duration of content database update runs by result.",
			Buckets: prometheus.ExponentialBuckets(0.05, 4, 8),
		}, []string{"result"}),
		fetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scilla_update_fetched_bytes_total",
			Help: "Bytes downloaded from the content database update source.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scilla_update_last_success_timestamp_seconds",
			Help: "When a content database update run last succeeded, Unix seconds (0 = never).",
		}),
	}
	for _, c := range []prometheus.Collector{u.runs, u.duration, u.fetched, u.lastSuccess} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("update metrics: %w", err)
		}
	}
	return u, nil
}

// config returns the daemon's current configuration (it changes on Reload).
func (u *updates) config() *config.Config {
	u.d.mu.Lock()
	defer u.d.mu.Unlock()
	return u.d.cfg
}

// start runs the schedule until ctx is done; the returned channel closes
// when it has stopped.
func (u *updates) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.loop(ctx, firstUpdateDelay, func() time.Duration { return u.config().Update.Interval.D() })
	}()
	return done
}

// loop runs an update after first, then every interval ±10 %. A failed run
// waits for the next interval like a good one. While updates are off the
// loop only waits, so a reload that turns them on is followed.
func (u *updates) loop(ctx context.Context, first time.Duration, interval func() time.Duration) {
	wait := first
	for {
		u.mu.Lock()
		u.next = time.Now().Add(wait)
		u.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if u.config().Update.Enabled() {
			// Errors are logged and recorded by run.
			_, _ = u.run(ctx, false)
		}
		wait = jitter(interval())
	}
}

// jitter returns d ± 10 %, so servers fed by one source spread their
// requests.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - d/10 + rand.N(d/5+1)
}

// Update implements grpcapi.Updater.
func (u *updates) Update(ctx context.Context, rollback bool) (*scillav1.UpdateResponse, error) {
	res, err := u.run(ctx, rollback)
	if err != nil {
		return nil, err
	}
	return &scillav1.UpdateResponse{Version: res.To, PreviousVersion: res.From, Changed: res.Changed, Result: describe(res, rollback)}, nil
}

// UpdateStatus implements grpcapi.Updater.
func (u *updates) UpdateStatus() *scillav1.UpdateStatus {
	cfg := u.config()
	if !cfg.Update.Enabled() {
		return nil
	}
	u.mu.Lock()
	st := &scillav1.UpdateStatus{Source: cfg.Update.Source, LastOk: u.lastOK, LastResult: u.result}
	if !u.last.IsZero() {
		st.LastAttempt = timestamppb.New(u.last)
	}
	if !u.next.IsZero() {
		st.NextAttempt = timestamppb.New(u.next)
	}
	u.mu.Unlock()
	if s, err := update.OpenStore(update.StoreDir(cfg.Server.StateDir)); err == nil {
		if prev, err := s.Previous(); err == nil && prev != nil {
			st.PreviousVersion = prev.Version
		}
	}
	return st
}

// run does one update (or rollback) and, when it installed a version,
// swaps it into the engine as Reload does: scans in flight keep the
// database they started with.
func (u *updates) run(ctx context.Context, rollback bool) (res update.Result, err error) {
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return res, fmt.Errorf("wait for the running update: %w", ctx.Err())
	}
	defer func() { <-u.sem }()
	cfg := u.config()
	if !cfg.Update.Enabled() {
		return res, status.Error(codes.FailedPrecondition, "database updates are off: update.source is empty")
	}
	log := u.d.log.With("subsystem", "update")
	started := time.Now()
	defer func() { u.record(started, res, rollback, err) }()
	ctx, cancel := context.WithTimeout(ctx, cfg.Update.Timeout.D())
	defer cancel()

	keys, err := contentdb.ParseKeys(cfg.Content.TrustedKeys)
	if err != nil {
		return res, err
	}
	store, err := update.OpenStore(update.StoreDir(cfg.Server.StateDir))
	if err != nil {
		return res, err
	}
	spec, err := update.ParseSource(cfg.Update.Source)
	if err != nil {
		return res, fmt.Errorf("update.source: %w", err)
	}
	src, err := update.NewSource(spec, cfg.Update.Proxy)
	if err != nil {
		return res, err
	}
	defer src.Close()
	var db *contentdb.DB
	up, err := update.New(update.Options{
		Store:   store,
		Source:  src,
		Trusted: keys,
		Licence: u.d.license,
		// The version is loaded exactly as it will be served.
		Load: func(dir string) error {
			var err error
			db, err = contentdb.LoadDir(dir, keys)
			return err
		},
		Log: log,
	})
	if err != nil {
		return res, err
	}
	if rollback {
		res, err = up.Rollback(ctx)
	} else {
		res, err = up.Update(ctx)
	}
	if err != nil {
		log.Error("database update failed; the installed database keeps serving", "source", src.String(), "rollback", rollback, "err", err)
		return res, err
	}
	if !res.Changed {
		log.Debug("database update: nothing to install", "version", res.To, "note", res.Note)
		return res, nil
	}
	u.swap(db, log)
	return res, nil
}

// swap serves db, unless a reload turned updates off or pinned content.dir
// meanwhile.
func (u *updates) swap(db *contentdb.DB, log *slog.Logger) {
	d := u.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.Content.Dir != "" || !d.cfg.Update.Enabled() {
		log.Warn("database installed but not served: the configuration no longer serves updates", "version", db.Version)
		return
	}
	old := d.eng.Snapshot()
	d.eng.Swap(&engine.Snapshot{Policy: old.Policy, DB: db})
	log.Info("database changed", "from", old.DB.Version, "to", db.Version)
}

func (u *updates) record(at time.Time, res update.Result, rollback bool, err error) {
	result := "unchanged"
	switch {
	case err != nil:
		result = "failed"
	case rollback:
		result = "rolled_back"
	case res.Changed:
		result = "installed"
	}
	u.runs.WithLabelValues(result).Inc()
	u.duration.WithLabelValues(result).Observe(time.Since(at).Seconds())
	u.fetched.Add(float64(res.Bytes))
	if err == nil {
		u.lastSuccess.Set(float64(time.Now().Unix()))
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.last, u.lastOK = at, err == nil
	if err != nil {
		u.result = "failed: " + err.Error()
		return
	}
	u.result = describe(res, rollback)
}

// describe says in one line what a run did.
func describe(res update.Result, rollback bool) string {
	switch {
	case rollback:
		return fmt.Sprintf("rolled back from %s to %s", res.From, res.To)
	case !res.Changed:
		return fmt.Sprintf("%s (%s)", res.Note, res.To)
	case res.From == "":
		return fmt.Sprintf("installed %s: %s fetched (%d bytes)", res.To, files(res.Fetched), res.Bytes)
	}
	return fmt.Sprintf("installed %s (from %s): %s fetched (%d bytes), %d reused", res.To, res.From, files(res.Fetched), res.Bytes, res.Reused)
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
