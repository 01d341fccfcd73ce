// Command scilla-qmail is a drop-in for qmail-queue that scans each message
// with scillad. Install it in place of qmail-queue (the original renamed to
// the path in `qmail: queue:`) or name it in QMAILQUEUE. See package
// clients/qmail and docs/mta-more.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/qmail"
)

func main() {
	os.Exit(run())
}

func run() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("prog", "scilla-qmail")
	args := os.Args[1:]
	// Installed setuid qmailq, anyone may run it: then only the root-owned
	// default config counts, never a caller's flags.
	if os.Getuid() != os.Geteuid() && len(args) > 0 {
		log.Warn("running setuid: command-line arguments ignored")
		args = nil
	}
	fs := flag.NewFlagSet("scilla-qmail", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	cf := clients.NewFlags(fs)
	queue := fs.String("queue", "", "path of the original qmail-queue (overrides qmail.queue)")
	if err := fs.Parse(args); err != nil {
		return qmail.ExitConfig
	}
	path, explicit := cf.ConfigPath(), true
	if path == "" {
		path, explicit = qmail.DefaultConfigPath, false
		if _, err := os.Stat(path); err == nil {
			fs.Set("config", path)
		}
	}
	settings, err := cf.Settings()
	if err != nil {
		log.Error("client settings", "err", err)
		return qmail.ExitConfig
	}
	cfg, err := qmail.LoadConfig(path, !explicit)
	if err != nil {
		log.Error("qmail settings", "err", err)
		return qmail.ExitConfig
	}
	if *queue != "" {
		cfg.Queue = *queue
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		log.Error("qmail settings", "err", fmt.Sprint(errs))
		return qmail.ExitConfig
	}
	client, err := clients.New(settings, log)
	if err != nil {
		log.Error("client", "err", err)
		return qmail.ExitConfig
	}
	defer client.Close()
	host, _ := os.Hostname()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	// Like qmail-queue's alarm: a run that hangs past the timeout (e.g. a
	// caller that never sends the envelope) ends with 52.
	t := time.AfterFunc(cfg.Timeout+5*time.Second, func() {
		log.Error("timeout", "after", cfg.Timeout)
		os.Exit(qmail.ExitTimeout)
	})
	defer t.Stop()
	r := &qmail.Runner{
		Config:   cfg,
		Client:   client,
		Log:      log,
		Getenv:   os.Getenv,
		Environ:  qmail.Environ(os.Environ()),
		ErrFD:    qmail.CustomErrorFD(cfg.CustomError),
		Hostname: host,
	}
	return r.Run(ctx, os.Stdin, os.Stdout)
}
