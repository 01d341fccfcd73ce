package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

func cfg(mod func(*Config)) Config {
	c := DefaultConfig()
	c.IdleTimeout = conf.Duration(time.Hour)
	c.DrainDelay = conf.Duration(5 * time.Second)
	c.RecycleJitter = 0
	if mod != nil {
		mod(&c)
	}
	return c
}

// waitFor polls cond until it holds or the test times out; pool state
// changes asynchronously, so assertions poll instead of sleeping blind.
func waitFor(t *testing.T, what string, cond func(Stats) bool, p *Pool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond(p.Stats()) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; stats %+v", what, p.Stats())
}

// block occupies n workers until release is closed.
func block(t *testing.T, p *Pool, n int, release chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Do(context.Background(), func() { <-release }); err != nil {
				t.Errorf("Do: %v", err)
			}
		}()
	}
	return &wg
}

func TestStartWorkers(t *testing.T) {
	p := New(cfg(func(c *Config) { c.StartWorkers = 3 }))
	defer p.Close(context.Background())
	if s := p.Stats(); s.Workers != 3 || s.Idle != 3 || s.Started != 3 {
		t.Fatalf("after start: %+v, want 3 idle workers", s)
	}
}

func TestNoWorkersUntilNeeded(t *testing.T) {
	p := New(cfg(nil))
	defer p.Close(context.Background())
	if s := p.Stats(); s.Workers != 0 {
		t.Fatalf("start_workers 0: %d workers", s.Workers)
	}
	if err := p.Do(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Started != 1 {
		t.Fatalf("one job: started %d workers, want 1", s.Started)
	}
}

func TestMaxWorkersAndQueueing(t *testing.T) {
	p := New(cfg(func(c *Config) { c.MaxWorkers = 2 }))
	defer p.Close(context.Background())
	release := make(chan struct{})
	wg := block(t, p, 5, release)
	waitFor(t, "2 busy, 3 queued", func(s Stats) bool { return s.Busy == 2 && s.Queued == 3 }, p)
	if s := p.Stats(); s.Workers > 2 {
		t.Fatalf("workers %d over max 2", s.Workers)
	}
	close(release)
	wg.Wait()
	if s := p.Stats(); s.Started > 2 || s.Queued != 0 {
		t.Fatalf("after burst: %+v", s)
	}
}

func TestQueuedScanWaitsUntilDeadline(t *testing.T) {
	p := New(cfg(func(c *Config) { c.MaxWorkers = 1 }))
	defer p.Close(context.Background())
	release := make(chan struct{})
	wg := block(t, p, 1, release)
	waitFor(t, "1 busy", func(s Stats) bool { return s.Busy == 1 }, p)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := p.Do(ctx, func() { ran = true })
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("Do with all workers busy: err %v ran %v, want deadline exceeded and not run", err, ran)
	}
	if s := p.Stats(); s.Queued != 0 {
		t.Fatalf("queued %d after the deadline, want 0", s.Queued)
	}
	close(release)
	wg.Wait()
}

func TestSpareWorkers(t *testing.T) {
	p := New(cfg(func(c *Config) { c.SpareWorkers = 2; c.MaxWorkers = 5 }))
	defer p.Close(context.Background())
	waitFor(t, "2 spare at start", func(s Stats) bool { return s.Idle == 2 }, p)
	release := make(chan struct{})
	wg := block(t, p, 2, release)
	// Two busy: the pool must start two more so two stay idle.
	waitFor(t, "2 busy and 2 spare", func(s Stats) bool { return s.Busy == 2 && s.Idle == 2 }, p)
	close(release)
	wg.Wait()
}

func TestRecycleAfterMessages(t *testing.T) {
	p := New(cfg(func(c *Config) { c.MaxWorkers = 1; c.MessagesPerWorker = 3 }))
	defer p.Close(context.Background())
	for i := 0; i < 7; i++ {
		if err := p.Do(context.Background(), func() {}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "2 recycles after 7 messages at 3 per worker", func(s Stats) bool { return s.Recycled == 2 }, p)
}

func TestRecycleJitter(t *testing.T) {
	// With jitter 0..20 on 5 messages, 30 workers' quotas must not all be equal.
	p := New(cfg(func(c *Config) { c.MaxWorkers = 1; c.MessagesPerWorker = 5; c.RecycleJitter = 20 }))
	defer p.Close(context.Background())
	for i := 0; i < 300; i++ {
		if err := p.Do(context.Background(), func() {}); err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	// Without jitter exactly 300/5 = 60 recycles; with 0..20 extra, far fewer.
	if s.Recycled >= 60 || s.Recycled < 300/25-1 {
		t.Fatalf("recycled %d times, want between %d and 59 with jitter", s.Recycled, 300/25-1)
	}
}

func TestIdleExitKeepsSpares(t *testing.T) {
	p := New(cfg(func(c *Config) {
		c.MaxWorkers = 4
		c.SpareWorkers = 1
		c.IdleTimeout = conf.Duration(30 * time.Millisecond)
	}))
	defer p.Close(context.Background())
	release := make(chan struct{})
	wg := block(t, p, 3, release)
	waitFor(t, "3 busy", func(s Stats) bool { return s.Busy == 3 }, p)
	close(release)
	wg.Wait()
	waitFor(t, "idle workers exit down to the 1 spare", func(s Stats) bool { return s.Workers == 1 && s.IdleExit >= 2 }, p)
	time.Sleep(100 * time.Millisecond)
	if s := p.Stats(); s.Workers != 1 {
		t.Fatalf("spare worker exited too: %+v", s)
	}
}

func TestPanicIsContained(t *testing.T) {
	p := New(cfg(func(c *Config) { c.MaxWorkers = 1 }))
	defer p.Close(context.Background())
	err := p.Do(context.Background(), func() { panic("boom") })
	if !errors.Is(err, ErrPanic) {
		t.Fatalf("err = %v, want ErrPanic", err)
	}
	if err := p.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("pool unusable after a panic: %v", err)
	}
	if s := p.Stats(); s.Panics != 1 {
		t.Fatalf("panics = %d, want 1", s.Panics)
	}
}

func TestCloseDrainsInFlight(t *testing.T) {
	p := New(cfg(func(c *Config) { c.DrainDelay = conf.Duration(2 * time.Second) }))
	finished := make(chan struct{})
	go func() {
		_ = p.Do(context.Background(), func() { time.Sleep(100 * time.Millisecond); close(finished) })
	}()
	waitFor(t, "1 busy", func(s Stats) bool { return s.Busy == 1 }, p)
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Close returned before the scan in flight finished")
	}
	if err := p.Do(context.Background(), func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}
}

func TestCloseGivesUpAfterDrainDelay(t *testing.T) {
	p := New(cfg(func(c *Config) { c.DrainDelay = conf.Duration(50 * time.Millisecond) }))
	release := make(chan struct{})
	defer close(release)
	go func() { _ = p.Do(context.Background(), func() { <-release }) }()
	waitFor(t, "1 busy", func(s Stats) bool { return s.Busy == 1 }, p)
	if err := p.Close(context.Background()); err == nil {
		t.Fatal("Close with a stuck scan returned no error after the drain delay")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want int
	}{
		{"defaults", nil, 0},
		{"zero max", func(c *Config) { c.MaxWorkers = 0 }, 1},
		{"start over max", func(c *Config) { c.StartWorkers = 11 }, 1},
		{"negative spare", func(c *Config) { c.SpareWorkers = -1 }, 1},
		{"zero idle", func(c *Config) { c.IdleTimeout = 0 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			if tt.mod != nil {
				tt.mod(&c)
			}
			if got := len(c.Validate()); got != tt.want {
				t.Fatalf("%d problems (%v), want %d", got, c.Validate(), tt.want)
			}
		})
	}
}
