package daemon

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestNextProcs(t *testing.T) {
	tests := []struct {
		name          string
		cur           int
		used          float64
		low           int
		want, wantLow int
	}{
		{"idle on one CPU stays", 1, 0.05, 0, 1, 1},
		{"busy on one CPU goes to all", 1, 0.6, 3, 4, 0},
		{"saturated one CPU goes to all", 1, 0.98, 0, 4, 0},
		{"moderate on one CPU stays", 1, 0.45, 0, 1, 0},
		{"busy on all stays", 4, 2.5, 0, 4, 0},
		{"between the thresholds on all stays", 4, 0.45, 3, 4, 0},
		{"quiet on all: not yet", 4, 0.1, 2, 4, 3},
		{"quiet on all long enough goes to one", 4, 0.1, 3, 1, 0},
	}
	for _, tt := range tests {
		got, gotLow := nextProcs(tt.cur, 4, tt.used, tt.low)
		if got != tt.want || gotLow != tt.wantLow {
			t.Errorf("%s: nextProcs(%d, 4, %.2f, %d) = %d, %d; want %d, %d", tt.name, tt.cur, tt.used, tt.low, got, gotLow, tt.want, tt.wantLow)
		}
	}
}

// TestAdaptProcs runs the governor on the test process: one CPU while idle,
// all of them while two goroutines keep the CPUs busy, and the setting it
// found is left alone when it stops.
func TestAdaptProcs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { AdaptProcs(ctx, 2, 20*time.Millisecond, nil); close(done) }()
	waitProcs := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if runtime.GOMAXPROCS(0) == want {
				return
			}
		}
		t.Fatalf("GOMAXPROCS = %d, want %d", runtime.GOMAXPROCS(0), want)
	}
	waitProcs(1)
	stop := make(chan struct{})
	for i := 0; i < 2; i++ {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for j := 0; j < 1e5; j++ {
					_ = j * j
				}
			}
		}()
	}
	waitProcs(2)
	close(stop)
	waitProcs(1)
	cancel()
	<-done
}
