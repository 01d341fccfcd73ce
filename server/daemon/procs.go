package daemon

import (
	"context"
	"log/slog"
	"runtime"
	"syscall"
	"time"
)

// Adaptive GOMAXPROCS. A scan moves between several goroutines (the gRPC
// connection's reader, a stream worker, a pool worker, the connection's
// writer), and whenever one of them becomes runnable while a CPU is idle,
// the Go scheduler wakes a thread for that CPU, which spins briefly and
// sleeps again. A scillad that is mostly idle, as next to an MTA, pays that
// on every scan: in the Postfix benchmark on 2 CPUs, 5.7 context switches
// and about a fifth of its CPU per message, against 1.8 switches on one
// CPU. So scillad runs Go code on one CPU while it uses little CPU and on
// all of them (the runtime's default) as soon as it gets busy.
const (
	// ProcsInterval is how often AdaptProcs measures the CPU use.
	ProcsInterval = 250 * time.Millisecond
	// procsUp is the CPU use (in CPUs, over one interval) at which one CPU
	// is not enough any more: scans would start to wait for each other.
	procsUp = 0.6
	// procsDown is the CPU use under which all CPUs go back to one, after
	// procsDownAfter intervals in a row (well below procsUp, so the setting
	// does not flap: the hand-offs themselves cost more on several CPUs).
	procsDown      = 0.3
	procsDownAfter = 4
)

// AdaptProcs sets GOMAXPROCS to 1 and then, every interval until ctx is
// done, back to the runtime's default (all CPUs, or the container's limit,
// which the runtime then follows again) while the process uses procsUp CPUs
// or more, and to 1 again when it has used less than procsDown for
// procsDownAfter intervals. It returns at once, changing nothing, when the
// current setting is 1 or the process's CPU time cannot be read. Call it
// only when the GOMAXPROCS environment variable is not set. log may be nil.
func AdaptProcs(ctx context.Context, interval time.Duration, log *slog.Logger) {
	lastCPU, err := cpuTime()
	if runtime.GOMAXPROCS(0) <= 1 || err != nil {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wide, low := false, 0
	runtime.GOMAXPROCS(1)
	t := time.NewTicker(interval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c, err := cpuTime()
			if err != nil {
				continue
			}
			used := float64(c-lastCPU) / float64(now.Sub(last))
			last, lastCPU = now, c
			next, nextLow := nextWide(wide, used, low)
			if next != wide {
				if next {
					runtime.SetDefaultGOMAXPROCS()
				} else {
					runtime.GOMAXPROCS(1)
				}
				log.Debug("GOMAXPROCS changed", "procs", runtime.GOMAXPROCS(0), "cpu_use", used)
			}
			wide, low = next, nextLow
		}
	}
}

// nextWide decides whether the next interval runs on all CPUs (wide) or on
// one, from the current choice, the CPU use of the last interval (in CPUs)
// and how many intervals in a row it has been under procsDown; it returns
// the new count of those.
func nextWide(wide bool, used float64, low int) (bool, int) {
	if used < procsDown {
		low++
	} else {
		low = 0
	}
	switch {
	case !wide && used >= procsUp:
		return true, 0
	case wide && low >= procsDownAfter:
		return false, 0
	}
	return wide, low
}

// cpuTime returns the user and system CPU time the process has used so
// far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
