package daemon

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestNextWide(t *testing.T) {
	tests := []struct {
		name    string
		wide    bool
		used    float64
		low     int
		want    bool
		wantLow int
	}{
		{"idle on one CPU stays", false, 0.05, 0, false, 1},
		{"busy on one CPU goes wide", false, 0.6, 3, true, 0},
		{"saturated one CPU goes wide", false, 0.98, 0, true, 0},
		{"moderate on one CPU stays", false, 0.45, 0, false, 0},
		{"busy wide stays", true, 2.5, 0, true, 0},
		{"between the thresholds wide stays", true, 0.45, 3, true, 0},
		{"quiet wide: not yet", true, 0.1, 2, true, 3},
		{"quiet wide long enough goes to one", true, 0.1, 3, false, 0},
	}
	for _, tt := range tests {
		got, gotLow := nextWide(tt.wide, tt.used, tt.low)
		if got != tt.want || gotLow != tt.wantLow {
			t.Errorf("%s: nextWide(%v, %.2f, %d) = %v, %d; want %v, %d", tt.name, tt.wide, tt.used, tt.low, got, gotLow, tt.want, tt.wantLow)
		}
	}
}

// TestAdaptProcs runs the governor on the test process: one CPU while idle,
// all of them while two goroutines keep the CPUs busy, one again after.
func TestAdaptProcs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	all := runtime.GOMAXPROCS(0)
	defer runtime.SetDefaultGOMAXPROCS()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { AdaptProcs(ctx, 20*time.Millisecond, nil); close(done) }()
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
	waitProcs(all)
	close(stop)
	waitProcs(1)
	cancel()
	<-done
}
