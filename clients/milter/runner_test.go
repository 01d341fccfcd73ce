package milter

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestRunner(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(*int)
		want      int
		wantPanic any
	}{
		{name: "runs the function", fn: func(n *int) { *n = 42 }, want: 42},
		{name: "a panic comes back to the caller", fn: func(*int) { panic("boom") }, wantPanic: "boom"},
	}
	r := newRunner()
	defer r.stop()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			c := &call{fn: func() { tt.fn(&n) }, done: make(chan any, 1)}
			var got any
			func() {
				defer func() { got = recover() }()
				r.run(c)
			}()
			if got != tt.wantPanic || n != tt.want {
				t.Errorf("result %d, panic %v; want %d, %v", n, got, tt.want, tt.wantPanic)
			}
			// The call is reusable, and the goroutine survived the panic.
			c.fn = func() { n = 7 }
			r.run(c)
			if n != 7 {
				t.Errorf("second run: %d, want 7", n)
			}
		})
	}
}

// TestRunnerReusesGoroutines runs many calls from several callers and
// checks they share a few goroutines, which exit on stop.
func TestRunnerReusesGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newRunner()
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &call{done: make(chan any, 1)}
			c.fn = func() {
				mu.Lock()
				peak = max(peak, runtime.NumGoroutine())
				mu.Unlock()
			}
			for i := 0; i < 200; i++ {
				r.run(c)
			}
		}()
	}
	wg.Wait()
	// 4 callers and at most one runner goroutine each (plus the test's).
	if peak > before+8 {
		t.Errorf("%d goroutines at the peak (%d before): runner goroutines not reused", peak, before)
	}
	r.stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after stop, %d before", n, before)
	}
}
