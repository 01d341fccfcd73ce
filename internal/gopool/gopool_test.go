package gopool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(*int)
		want      int
		wantPanic any
	}{
		{name: "runs the function", fn: func(n *int) { *n = 42 }, want: 42},
		{name: "a panic comes back to the caller", fn: func(*int) { panic("boom") }, wantPanic: "boom"},
	}
	var p Pool
	defer p.Stop()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			var got any
			func() {
				defer func() { got = recover() }()
				p.Run(func() { tt.fn(&n) })
			}()
			if got != tt.wantPanic || n != tt.want {
				t.Errorf("result %d, panic %v; want %d, %v", n, got, tt.want, tt.wantPanic)
			}
			// The pool still works after a panic.
			p.Run(func() { n = 7 })
			if n != 7 {
				t.Errorf("second run: %d, want 7", n)
			}
		})
	}
}

// TestReuse runs many functions from several callers, synchronously and
// concurrently, and checks they share a few goroutines, which exit on Stop.
func TestReuse(t *testing.T) {
	before := runtime.NumGoroutine()
	var p Pool
	var mu sync.Mutex
	peak := 0
	note := func() {
		mu.Lock()
		peak = max(peak, runtime.NumGoroutine())
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p.Run(note)
			}
		}()
	}
	wg.Wait()
	var ran atomic.Int32
	for round := 0; round < 50; round++ {
		var inner sync.WaitGroup
		for i := 0; i < 3; i++ { // three at once, as a scan starts its network checks
			inner.Add(1)
			p.Go(func() {
				defer inner.Done()
				ran.Add(1)
				note()
				time.Sleep(time.Millisecond)
			})
		}
		inner.Wait()
		time.Sleep(time.Millisecond) // let them go idle
	}
	if ran.Load() != 150 {
		t.Fatalf("%d of 150 functions ran", ran.Load())
	}
	// 4 callers and at most one pool goroutine each, plus the test's.
	if peak > before+8 {
		t.Errorf("%d goroutines at the peak (%d before): not reused", peak, before)
	}
	p.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Stop, %d before", n, before)
	}
}
