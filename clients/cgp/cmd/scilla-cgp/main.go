// Command scilla-cgp is a CommuniGate Pro External Filter helper that scans
// messages with scillad. CommuniGate starts it (Settings → General →
// Helpers → External Filters) with its base directory as working
// directory. See package clients/cgp and docs/mta-more.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/cgp"
)

func main() {
	if err := run(); err != nil {
		// Only a helper that cannot start writes to stderr (CommuniGate
		// shows it as the reason).
		fmt.Fprintln(os.Stderr, "scilla-cgp:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("scilla-cgp", flag.ContinueOnError)
	cf := clients.NewFlags(fs)
	baseDir := fs.String("base-dir", "", "CommuniGate base directory (default: the working directory)")
	debug := fs.Bool("debug", false, "log every message, not only problems and verdicts")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	settings, err := cf.Settings()
	if err != nil {
		return err
	}
	cfg, err := cgp.LoadConfig(cf.ConfigPath())
	if err != nil {
		return err
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return fmt.Errorf("cgp settings: %v", errs)
	}
	key, err := cgp.LoadOrCreateKey(cfg.LoopKeyFile)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	f := &cgp.Filter{
		Config:   cfg,
		Loop:     &cgp.LoopSigner{Key: key, MaxAge: cfg.LoopMaxAge},
		BaseDir:  *baseDir,
		Hostname: host,
		Out:      os.Stdout,
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	f.Log = slog.New(slog.NewTextHandler(f.LogWriter(), &slog.HandlerOptions{Level: level})).With("prog", "scilla-cgp")
	client, err := clients.New(settings, f.Log)
	if err != nil {
		return err
	}
	defer client.Close()
	f.Client = client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// On SIGTERM stop taking requests, give the scans in flight a moment,
	// then exit: a read of stdin cannot be interrupted, and CommuniGate
	// resends unanswered requests to the restarted helper.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sigc
		f.Log.Info("signal received, stopping")
		cancel()
		time.Sleep(5 * time.Second)
		os.Exit(0)
	}()
	return f.Serve(ctx, os.Stdin)
}
