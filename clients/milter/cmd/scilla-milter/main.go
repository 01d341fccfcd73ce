// Command scilla-milter is Scilla's milter for Postfix and Sendmail: it
// scans every message on scillad and applies the verdict in the SMTP
// session.
//
//	scilla-milter -listen unix:/run/scilla/milter.sock -config /etc/scilla/scilla.yaml
//
// The `client:` section of the config file (servers, timeouts, on_error,
// size_limit, default_domain) is read; flags override it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/milter"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scilla-milter:", err)
		os.Exit(1)
	}
}

func run() error {
	fset := flag.NewFlagSet("scilla-milter", flag.ExitOnError)
	cf := clients.NewFlags(fset)
	listen := fset.String("listen", "unix:/run/scilla/milter.sock", "milter socket: unix:/path, inet:host:port or inet:port@host")
	mode := fset.String("socket-mode", "0660", "permissions of a unix milter socket (octal)")
	verbose := fset.Bool("v", false, "log every message (debug level)")
	procs := fset.Int("procs", 1, "CPUs the milter runs Go code on at once (GOMAXPROCS; 0 = all); the GOMAXPROCS environment variable overrides")
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for performance work)")
	_ = fset.Parse(os.Args[1:])

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The milter library's own warnings (a peer that vanished or fell
	// silent, a command out of order) go to the same log, not through the
	// standard logger in another format.
	gomilter.LogWarning = func(format string, v ...any) {
		log.Warn(fmt.Sprintf(format, v...), "from", "go-milter")
	}

	settings, err := cf.Settings()
	if err != nil {
		return err
	}
	perm, err := strconv.ParseUint(*mode, 8, 32)
	if err != nil || perm > 0o777 {
		return fmt.Errorf("-socket-mode %q: want octal like 0660", *mode)
	}
	// Per-message garbage is small and short-lived; collecting less often
	// saves a tenth of the CPU at a few MB of extra memory. GOGC overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// The milter mostly waits on the MTA and on scillad; its work per
	// message is a few hundred microseconds. On one P a message's hand-offs
	// (milter session, gRPC writer, gRPC reader) are plain goroutine
	// switches; with more, every wake-up also wakes an idle thread that
	// spins looking for work, which costs more CPU than the work itself.
	if *procs < 0 {
		return fmt.Errorf("-procs %d: want 0 (all CPUs) or more", *procs)
	}
	if os.Getenv("GOMAXPROCS") == "" && *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	client, err := clients.New(settings, log)
	if err != nil {
		return err
	}
	defer client.Close()

	host, _ := os.Hostname()
	srv := milter.New(client, host, log)
	ln, err := milter.Listen(*listen, fs.FileMode(perm))
	if err != nil {
		return err
	}
	log.Info("scilla-milter listening", "listen", *listen, "servers", settings.Servers, "on_error", string(settings.OnError))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("sessions still running at shutdown", "err", err)
	}
	return nil
}
