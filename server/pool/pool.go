// Package pool is scillad's pool of filtering workers (DESIGN §5), with the
// settings a mail administrator knows from classic filters: a maximum, workers
// started up front, spare idle workers kept ready, recycling after a number
// of messages (plus jitter so workers do not all recycle together), exit
// after idle time, and a drain delay on shutdown.
//
// A worker is a goroutine that runs scan jobs one at a time. Each job runs
// with the snapshot of policy and databases its scan took at its start, so a
// reload reaches new scans without stopping old ones.
package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `pool` section of the config file.
type Config struct {
	// MaxWorkers is the most workers scanning at once.
	MaxWorkers int `yaml:"max_workers"`
	// StartWorkers are started when the server starts.
	StartWorkers int `yaml:"start_workers"`
	// SpareWorkers is how many idle workers are kept ready for bursts.
	SpareWorkers int `yaml:"spare_workers"`
	// MessagesPerWorker is how many messages a worker scans before it is
	// recycled (replaced by a fresh one); 0 = never.
	MessagesPerWorker int `yaml:"messages_per_worker"`
	// RecycleJitter adds a random 0..N to MessagesPerWorker per worker.
	RecycleJitter int `yaml:"recycle_jitter"`
	// IdleTimeout is how long an idle worker waits before it exits (spare
	// workers stay).
	IdleTimeout conf.Duration `yaml:"idle_timeout"`
	// DrainDelay is how long shutdown waits for scans in flight.
	DrainDelay conf.Duration `yaml:"drain_delay"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		MaxWorkers:        10,
		MessagesPerWorker: 300,
		RecycleJitter:     50,
		IdleTimeout:       conf.Duration(300 * time.Second),
		DrainDelay:        conf.Duration(10 * time.Second),
	}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.MaxWorkers < 1 || c.MaxWorkers > 10000 {
		errs = append(errs, conf.Errorf("max_workers", "must be 1..10000, got %d", c.MaxWorkers))
	}
	if c.StartWorkers < 0 || c.StartWorkers > c.MaxWorkers {
		errs = append(errs, conf.Errorf("start_workers", "must be 0..max_workers (%d), got %d", c.MaxWorkers, c.StartWorkers))
	}
	if c.SpareWorkers < 0 || c.SpareWorkers > c.MaxWorkers {
		errs = append(errs, conf.Errorf("spare_workers", "must be 0..max_workers (%d), got %d", c.MaxWorkers, c.SpareWorkers))
	}
	if c.MessagesPerWorker < 0 {
		errs = append(errs, conf.Errorf("messages_per_worker", "must be 0 (never recycle) or more, got %d", c.MessagesPerWorker))
	}
	if c.RecycleJitter < 0 {
		errs = append(errs, conf.Errorf("recycle_jitter", "must be 0 or more, got %d", c.RecycleJitter))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, conf.Errorf("idle_timeout", "must be positive, got %s", c.IdleTimeout.D()))
	}
	if c.DrainDelay < 0 {
		errs = append(errs, conf.Errorf("drain_delay", "must be 0 or more, got %s", c.DrainDelay.D()))
	}
	return errs
}

// Stats is a snapshot of the pool's state.
type Stats struct {
	Max      int
	Workers  int
	Busy     int
	Idle     int
	Queued   int
	Started  uint64
	Recycled uint64
	IdleExit uint64
	Panics   uint64
}

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("pool: closed")

// ErrPanic wraps a panic that escaped a job.
var ErrPanic = errors.New("pool: job panicked")

type job struct {
	fn   func()
	done chan error
}

// Pool runs jobs on a bounded, self-managing set of workers.
type Pool struct {
	jobs chan *job
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	cfg      Config
	workers  int
	busy     int
	queued   int
	started  uint64
	recycled uint64
	idleExit uint64
	panics   uint64
	closed   bool
}

// New starts a pool with cfg.StartWorkers workers (and the spares).
func New(cfg Config) *Pool {
	p := &Pool{cfg: cfg, jobs: make(chan *job), quit: make(chan struct{})}
	p.mu.Lock()
	for p.workers < max(cfg.StartWorkers, cfg.SpareWorkers) {
		p.spawnLocked()
	}
	p.mu.Unlock()
	return p
}

// Reconfigure applies new limits. Running workers are not stopped: extra
// workers exit as they become idle, and new ones start on demand.
func (p *Pool) Reconfigure(cfg Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	p.topUpLocked()
}

// Do runs fn on a worker. It waits for a free worker until ctx is done, and
// then for fn to finish until ctx is done; in both cases it returns ctx's
// error (fn keeps its worker until it returns, and must honour ctx itself).
// A panic in fn is recovered, counted and returned as ErrPanic; the worker
// survives.
func (p *Pool) Do(ctx context.Context, fn func()) error {
	j := &job{fn: fn, done: make(chan error, 1)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if p.workers-p.busy-p.queued <= 0 && p.workers < p.cfg.MaxWorkers {
		p.spawnLocked()
	}
	p.queued++
	p.mu.Unlock()

	select {
	case p.jobs <- j:
	case <-ctx.Done():
		p.mu.Lock()
		p.queued--
		p.mu.Unlock()
		return fmt.Errorf("pool: waiting for a free worker: %w", ctx.Err())
	case <-p.quit:
		p.mu.Lock()
		p.queued--
		p.mu.Unlock()
		return ErrClosed
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("pool: scan: %w", ctx.Err())
	}
}

// Stats returns the current state.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Max:      p.cfg.MaxWorkers,
		Workers:  p.workers,
		Busy:     p.busy,
		Idle:     p.workers - p.busy,
		Queued:   p.queued,
		Started:  p.started,
		Recycled: p.recycled,
		IdleExit: p.idleExit,
		Panics:   p.panics,
	}
}

// Close stops taking jobs and waits up to the drain delay (or ctx) for the
// jobs in flight. It returns an error when jobs were still running.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	drain := p.cfg.DrainDelay.D()
	p.mu.Unlock()
	close(p.quit)

	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return fmt.Errorf("pool: %d scans still running after the drain delay", p.Stats().Busy)
}

func (p *Pool) spawnLocked() {
	p.workers++
	p.started++
	limit := 0
	if p.cfg.MessagesPerWorker > 0 {
		limit = p.cfg.MessagesPerWorker
		if p.cfg.RecycleJitter > 0 {
			limit += rand.IntN(p.cfg.RecycleJitter + 1)
		}
	}
	p.wg.Add(1)
	go p.work(limit, p.cfg.IdleTimeout.D())
}

// topUpLocked starts workers until the spare and start minimums are met.
func (p *Pool) topUpLocked() {
	for !p.closed && p.workers < p.cfg.MaxWorkers && p.workers-p.busy < p.cfg.SpareWorkers {
		p.spawnLocked()
	}
}

func (p *Pool) work(limit int, idle time.Duration) {
	defer p.wg.Done()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for n := 0; ; {
		select {
		case j := <-p.jobs:
			p.mu.Lock()
			p.queued--
			p.busy++
			p.topUpLocked()
			p.mu.Unlock()
			j.done <- p.run(j.fn)
			n++
			p.mu.Lock()
			p.busy--
			if limit > 0 && n >= limit {
				p.workers--
				p.recycled++
				if !p.closed && p.workers < p.cfg.MaxWorkers {
					p.spawnLocked() // the replacement gets a fresh count and jitter
				}
				p.mu.Unlock()
				return
			}
			if p.workers > p.cfg.MaxWorkers { // shrunk by Reconfigure
				p.workers--
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(idle)
		case <-timer.C:
			p.mu.Lock()
			if p.workers-p.busy > p.cfg.SpareWorkers {
				p.workers--
				p.idleExit++
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			timer.Reset(idle)
		case <-p.quit:
			p.mu.Lock()
			p.workers--
			p.mu.Unlock()
			return
		}
	}
}

func (p *Pool) run(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.mu.Lock()
			p.panics++
			p.mu.Unlock()
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	fn()
	return nil
}
