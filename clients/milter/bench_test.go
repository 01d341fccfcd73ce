package milter_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
)

// BenchmarkPostfixThroughput measures how fast a real Postfix accepts
// small messages from smtp-source (1,000 messages, 4 connections in
// parallel) without a milter, and through scilla-milter over a unix and an
// inet socket with the real scillad behind it. Run it with
// `make bench-clients-postfix` (or -benchtime 1x): one iteration is 1,000
// messages. With SCILLA_MILTER_PROFILE=DIR set, scilla-milter writes a CPU
// profile of each socket kind's run to DIR/milter-KIND.prof.
func BenchmarkPostfixThroughput(b *testing.B) {
	pt.Require(b)
	source, err := exec.LookPath("smtp-source")
	if err != nil {
		b.Skip("needs smtp-source (Debian package postfix)")
	}
	sd := pt.StartScillad(b)
	const msgs = 1000
	for _, kind := range []string{"none", "unix", "inet"} {
		b.Run(kind, func(b *testing.B) {
			var r *rig
			if kind == "none" {
				r = &rig{pf: pt.Start(b, pt.Config{Relay: "discard:"})}
			} else {
				// Postfix discards after queueing, so delivery does not
				// compete with the measured path for the two cores.
				args := []string{"-server", sd.Addr}
				if dir := os.Getenv("SCILLA_MILTER_PROFILE"); dir != "" {
					args = append(args, "-cpuprofile", filepath.Join(dir, "milter-"+kind+".prof"))
				}
				r = startRig(b, kind, map[string]string{"relay": "discard:"}, args...)
			}
			// Warm up: connections, processes, scillad workers.
			if out, err := exec.Command(source, "-s", "4", "-m", "40", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput(); err != nil {
				b.Fatalf("smtp-source: %v %s", err, out)
			}
			b.ResetTimer()
			var total time.Duration
			cpu0 := milterCPU(r)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				out, err := exec.Command(source, "-s", "4", "-m", fmt.Sprint(msgs), "-l", "1024", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput()
				if err != nil {
					b.Fatalf("smtp-source: %v %s", err, out)
				}
				total += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(msgs*b.N)/total.Seconds(), "msg/s")
			b.ReportMetric(0, "ns/op")
			if r.milter != nil {
				b.ReportMetric(float64((milterCPU(r)-cpu0).Microseconds())/float64(msgs*b.N), "milter-cpu-µs/msg")
			}
			if dir := os.Getenv("SCILLA_MILTER_PROFILE"); dir != "" && r.milter != nil {
				stopForProfile(b, r, filepath.Join(dir, "milter-"+kind+".prof"))
			}
		})
	}
}

// stopForProfile stops Postfix (ending its milter connections) and then
// scilla-milter with SIGTERM, and waits until the milter has written its
// CPU profile to path.
func stopForProfile(b *testing.B, r *rig, path string) {
	r.pf.Stop()
	_ = r.milter.Cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			time.Sleep(200 * time.Millisecond) // let the write finish
			return
		}
	}
	b.Logf("no CPU profile in %s", path)
}

// milterCPU returns the CPU time (user and system) scilla-milter has used
// so far, from /proc (zero where there is no /proc or no milter).
func milterCPU(r *rig) time.Duration {
	if r.milter == nil {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.milter.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime and stime are fields 14 and 15, in clock ticks (100
	// per second on Linux).
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
