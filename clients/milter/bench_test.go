package milter_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
	"github.com/scilla-mail/scilla/clients/milter"
)

// BenchmarkPostfixThroughput measures how fast a real Postfix accepts
// small messages from smtp-source (1,000 messages, 4 connections in
// parallel) without a milter ("none"), through a milter that accepts
// everything without a scan ("null", Postfix's own cost of a milter: the
// ceiling; "null-headers" also adds the default policy's twelve verdict
// headers, the ceiling for a milter that tags mail as scilla-milter does),
// and through scilla-milter over a unix and an inet socket with the real
// scillad behind it. Run it with
// `make bench-clients-postfix` (or -benchtime 1x): one iteration is 1,000
// messages. Besides msg/s it reports the CPU time per message of
// scilla-milter, of scillad and of the whole machine (busy time from
// /proc/stat: Postfix, smtp-source and anything else running). With
// SCILLA_MILTER_PROFILE=DIR set, scilla-milter writes a CPU profile of each
// socket kind's run to DIR/milter-KIND.prof and scillad one of the whole
// benchmark to DIR/scillad.prof. SCILLA_BENCH_MILTER_ARGS adds arguments to
// scilla-milter's command line (both benchmarks), for comparing settings.
func BenchmarkPostfixThroughput(b *testing.B) {
	pt.Require(b)
	source, err := exec.LookPath("smtp-source")
	if err != nil {
		b.Skip("needs smtp-source (Debian package postfix)")
	}
	var sdArgs []string
	profDir := os.Getenv("SCILLA_MILTER_PROFILE")
	if profDir != "" {
		sdArgs = []string{"-cpuprofile", filepath.Join(profDir, "scillad.prof")}
	}
	sd := pt.StartScillad(b, sdArgs...)
	const msgs = 1000
	sessions := "4"
	if v := os.Getenv("SCILLA_BENCH_SESSIONS"); v != "" {
		sessions = v
	}
	for _, kind := range []string{"none", "null", "null-headers", "unix", "inet"} {
		b.Run(kind, func(b *testing.B) {
			var r *rig
			switch kind {
			case "none":
				r = &rig{pf: pt.Start(b, pt.Config{Relay: "discard:"})}
			case "null", "null-headers":
				r = &rig{pf: pt.Start(b, pt.Config{Relay: "discard:", Main: nullMilter(b, kind == "null-headers")})}
			default:
				// Postfix discards after queueing, so delivery does not
				// compete with the measured path for the two cores.
				args := append([]string{"-server", sd.Addr}, strings.Fields(os.Getenv("SCILLA_BENCH_MILTER_ARGS"))...)
				if profDir != "" {
					args = append(args, "-cpuprofile", filepath.Join(profDir, "milter-"+kind+".prof"))
				}
				r = startRig(b, kind, map[string]string{"relay": "discard:"}, args...)
			}
			// Warm up: connections, processes, scillad workers.
			if out, err := exec.Command(source, "-s", "4", "-m", "40", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput(); err != nil {
				b.Fatalf("smtp-source: %v %s", err, out)
			}
			b.ResetTimer()
			var total time.Duration
			spid := sd.Process().Cmd.Process.Pid
			// The null milters run in this process: their CPU is ours.
			milterNow := func() time.Duration { return milterCPU(r) }
			if r.milter == nil && kind != "none" {
				milterNow = func() time.Duration { return procCPU(os.Getpid()) }
			}
			milter0, scillad0, postfix0, busy0 := milterNow(), procCPU(spid), postfixCPU(r.pf), busyCPU()
			var msw0 int64
			if r.milter != nil {
				msw0 = contextSwitches(r.milter.Cmd.Process.Pid)
			}
			ssw0 := contextSwitches(spid)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				out, err := exec.Command(source, "-s", sessions, "-m", fmt.Sprint(msgs), "-l", "1024", "-f", "alice@example.net", "-t", "bob@example.com", r.pf.Addr()).CombinedOutput()
				if err != nil {
					b.Fatalf("smtp-source: %v %s", err, out)
				}
				total += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(msgs*b.N)/total.Seconds(), "msg/s")
			b.ReportMetric(0, "ns/op")
			perMsg := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(msgs*b.N) }
			all, milter, scillad := busyCPU()-busy0, milterNow()-milter0, procCPU(spid)-scillad0
			b.ReportMetric(perMsg(all), "all-cpu-µs/msg")
			b.ReportMetric(all.Seconds()/total.Seconds(), "cpus-busy")
			b.ReportMetric(perMsg(postfixCPU(r.pf)-postfix0), "postfix-cpu-µs/msg")
			// What Postfix, smtp-source and the kernel cost together: the
			// rate a milter costing nothing could reach is cpus-busy over it.
			b.ReportMetric(perMsg(all-milter-scillad), "mta-cpu-µs/msg")
			if kind != "none" {
				b.ReportMetric(perMsg(milter), "milter-cpu-µs/msg")
			}
			if r.milter != nil {
				b.ReportMetric(perMsg(scillad), "scillad-cpu-µs/msg")
				b.ReportMetric(float64(contextSwitches(r.milter.Cmd.Process.Pid)-msw0)/float64(msgs*b.N), "milter-switches/msg")
				b.ReportMetric(float64(contextSwitches(spid)-ssw0)/float64(msgs*b.N), "scillad-switches/msg")
			}
			if profDir != "" && r.milter != nil {
				stopForProfile(b, r, filepath.Join(profDir, "milter-"+kind+".prof"))
			}
		})
	}
	if profDir != "" {
		sd.Stop()
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

// milterCPU returns the CPU time scilla-milter has used so far (zero
// without a milter).
func milterCPU(r *rig) time.Duration {
	if r.milter == nil {
		return 0
	}
	return procCPU(r.milter.Cmd.Process.Pid)
}

// busyCPU returns the CPU time the whole machine has spent not idle so far,
// from /proc/stat (zero where there is none).
func busyCPU() time.Duration {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i := 1; i < len(f) && i <= 8; i++ {
		if i == 4 || i == 5 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

// procCPU returns the CPU time (user and system) process pid has used so
// far, from /proc (zero where there is no /proc).
func procCPU(pid int) time.Duration {
	_, self, _ := procStat(pid)
	return self
}

// postfixCPU returns the CPU time the Postfix instance has used so far:
// its master with the children it has reaped, and its running children.
func postfixCPU(pf *pt.Instance) time.Duration {
	b, err := os.ReadFile(filepath.Join(pf.Dir, "queue", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	master, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	_, self, reaped := procStat(master)
	total := self + reaped
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == master {
			continue
		}
		if ppid, self, reaped := procStat(pid); ppid == master {
			total += self + reaped
		}
	}
	return total
}

// procStat returns process pid's parent, its CPU time (user and system)
// and that of its reaped children, from /proc/PID/stat (zeros where there
// is none).
func procStat(pid int) (ppid int, self, reaped time.Duration) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, ppid 4, utime, stime, cutime and cstime are fields 14 to
	// 17, in clock ticks (100 per second on Linux).
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 15 {
		return 0, 0, 0
	}
	var v [4]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(f[11+i], 10, 64)
	}
	ppid, _ = strconv.Atoi(f[1])
	const tick = 10 * time.Millisecond
	return ppid, time.Duration(v[0]+v[1]) * tick, time.Duration(v[2]+v[3]) * tick
}

// BenchmarkMilterSessions drives the real scilla-milter (and the real
// scillad behind it) the way Postfix does for smtp-source, without Postfix:
// one milter connection per message (negotiation, connect, HELO, MAIL,
// RCPT, five header fields, a 1 KB body, end of message, quit), four
// connections in parallel, over a unix and an inet socket. Like Postfix,
// which talks to the milter as the SMTP client's commands arrive, it pauses
// briefly between the stages, so the milter wakes up for each of them
// rather than reading the whole session at once. It reports the
// CPU time per message of scilla-milter and of scillad: the figures the
// Postfix benchmark reports, without Postfix's noise, and how often per
// message each process's threads went to sleep or were preempted (context
// switches: a steadier measure of wake-ups than CPU time on a busy machine).
// Needs no root.
// SCILLA_MILTER_PROFILE=DIR writes CPU profiles to DIR/sessions-milter-KIND.prof
// and DIR/sessions-scillad.prof.
func BenchmarkMilterSessions(b *testing.B) {
	var sdArgs []string
	profDir := os.Getenv("SCILLA_MILTER_PROFILE")
	if profDir != "" {
		sdArgs = []string{"-cpuprofile", filepath.Join(profDir, "sessions-scillad.prof")}
	}
	sd := pt.StartScillad(b, sdArgs...)
	if profDir != "" {
		defer sd.Stop()
	}
	bin := pt.Build(b, "./clients/milter/cmd/scilla-milter")
	body := []byte(strings.Repeat("La de da de da 1.\r\nLa de da de da 2.\r\nLa de da de da 3.\r\nLa de da de da 4.\r\n", 13))
	fields := [][2]string{
		{"Received", "from localhost (localhost [127.0.0.1])\n\tby scilla-test.localdomain (Postfix) with ESMTP id 4F1C2A0123\n\tfor <bob@example.com>; Sun, 22 Nov 2026 10:00:00 +0000 (UTC)"},
		{"From", "<alice@example.net>"},
		{"To", "<bob@example.com>"},
		{"Date", "Sun, 22 Nov 2026 10:00:00 +0000 (UTC)"},
		{"Message-Id", "<20261122100000.4F1C2A0123@scilla-test.localdomain>"},
	}
	for _, kind := range []string{"unix", "inet"} {
		b.Run(kind, func(b *testing.B) {
			var listen, network, addr string
			if kind == "unix" {
				addr = filepath.Join(b.TempDir(), "milter.sock")
				listen, network = "unix:"+addr, "unix"
			} else {
				addr = fmt.Sprintf("127.0.0.1:%d", pt.FreePort(b))
				listen, network = "inet:"+addr, "tcp"
			}
			args := append([]string{"-listen", listen, "-server", sd.Addr}, strings.Fields(os.Getenv("SCILLA_BENCH_MILTER_ARGS"))...)
			if profDir != "" {
				args = append(args, "-cpuprofile", filepath.Join(profDir, "sessions-milter-"+kind+".prof"))
			}
			m := pt.StartProcess(b, "scilla-milter", network+":"+addr, bin, args...)
			if profDir != "" {
				defer func() { _ = m.Cmd.Process.Signal(syscall.SIGTERM); m.Wait() }()
			}
			client := gomilter.NewClient(network, addr)
			// pause stands for the SMTP round trip between two stages.
			pause := func() { time.Sleep(50 * time.Microsecond) }
			one := func(n int) error {
				macros := gomilter.NewMacroBag()
				macros.Set(gomilter.MacroMTAFQDN, "scilla-test.localdomain")
				macros.Set(gomilter.MacroDaemonName, "scilla-test.localdomain")
				macros.Set(gomilter.MacroClientAddr, "127.0.0.1")
				macros.Set(gomilter.MacroClientName, "localhost")
				s, err := client.Session(macros)
				if err != nil {
					return err
				}
				defer s.Close()
				if _, err := s.Conn("localhost", gomilter.FamilyInet, 40000, "127.0.0.1"); err != nil {
					return err
				}
				pause()
				if _, err := s.Helo("localhost"); err != nil {
					return err
				}
				pause()
				macros.Set(gomilter.MacroQueueId, fmt.Sprintf("4F%08X", n))
				if _, err := s.Mail("<alice@example.net>", ""); err != nil {
					return err
				}
				pause()
				if _, err := s.Rcpt("<bob@example.com>", ""); err != nil {
					return err
				}
				pause()
				if _, err := s.DataStart(); err != nil {
					return err
				}
				for _, f := range fields {
					if _, err := s.HeaderField(f[0], f[1], nil); err != nil {
						return err
					}
				}
				if _, err := s.HeaderEnd(); err != nil {
					return err
				}
				pause()
				mods, act, err := s.BodyReadFrom(bytes.NewReader(body))
				if err != nil {
					return err
				}
				if act.Type != gomilter.ActionAccept || len(mods) == 0 {
					return fmt.Errorf("end of message: action %v, %d modifications", act.Type, len(mods))
				}
				return nil
			}
			// Warm up: connections, scillad's workers.
			for i := 0; i < 40; i++ {
				if err := one(i); err != nil {
					b.Fatal(err)
				}
			}
			const parallel = 4
			var next atomic.Int64
			errs := make(chan error, parallel)
			mpid, spid := m.Cmd.Process.Pid, sd.Process().Cmd.Process.Pid
			milter0, scillad0 := procCPU(mpid), procCPU(spid)
			msw0, ssw0 := contextSwitches(mpid), contextSwitches(spid)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < parallel; w++ {
				go func() {
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							errs <- nil
							return
						}
						if err := one(int(n)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			for w := 0; w < parallel; w++ {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			perMsg := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
			b.ReportMetric(perMsg(procCPU(mpid)-milter0), "milter-cpu-µs/msg")
			b.ReportMetric(perMsg(procCPU(spid)-scillad0), "scillad-cpu-µs/msg")
			b.ReportMetric(float64(contextSwitches(mpid)-msw0)/float64(b.N), "milter-switches/msg")
			b.ReportMetric(float64(contextSwitches(spid)-ssw0)/float64(b.N), "scillad-switches/msg")
		})
	}
}

// contextSwitches returns how many times the threads of process pid have
// been switched out so far (voluntary and not), from /proc (zero where there
// is none). Threads that have exited are not counted; Go keeps its threads.
func contextSwitches(pid int) int64 {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n
}

// nullMilter starts, in the benchmark's process, a milter that accepts every
// message without a scan (with headers, after adding the twelve verdict
// headers) but asks Postfix for the same events and no-reply options as
// scilla-milter (milter.NullServer), and returns the
// documented main.cf fragment pointing at it: Postfix's own cost of having
// a milter, the ceiling scilla-milter's figures are read against.
func nullMilter(b *testing.B, headers bool) map[string]string {
	b.Helper()
	dir, err := os.MkdirTemp("", "scilla-null-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "null.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	srv := milter.NullServer(headers)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return pt.MainSnippet(b, "main.cf.milter", "unix:/scilla/milter.sock", "unix:"+sock)
}
