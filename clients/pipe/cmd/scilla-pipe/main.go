// Command scilla-pipe is Scilla's universal content filter: SMTP or LMTP
// in (on a listener or on stdin/stdout), scan on scillad, SMTP, LMTP or a
// command out.
//
//	# Postfix content_filter: listen for Postfix, re-inject on port 10026
//	scilla-pipe -listen tcp:127.0.0.1:10025 -next smtp:127.0.0.1:10026 -config /etc/scilla/scilla.yaml
//
//	# Exim lmtp transport: one LMTP session on stdin/stdout
//	scilla-pipe -stdio -lmtp -next exec:/usr/sbin/sendmail -bs -client-ip 192.0.2.1 -helo mx.example.net
//
// The `client:` section of the config file is read; flags override it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/pipe"
	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
	"github.com/scilla-mail/scilla/internal/conf"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scilla-pipe:", err)
		os.Exit(1)
	}
}

func run() error {
	fset := flag.NewFlagSet("scilla-pipe", flag.ExitOnError)
	cf := clients.NewFlags(fset)
	host, _ := os.Hostname()
	var (
		listen   = fset.String("listen", "tcp:127.0.0.1:10025", "where to accept mail: tcp:host:port or unix:/path")
		stdio    = fset.Bool("stdio", false, "serve one session on stdin/stdout instead of listening (Exim transport command)")
		lmtp     = fset.Bool("lmtp", false, "speak LMTP to the upstream MTA (per-recipient replies) instead of SMTP")
		next     = fset.String("next", "smtp:127.0.0.1:10026", "where to send mail on: smtp:host:port, lmtp:host:port, lmtp:unix:/path or exec:command args")
		split    = fset.Bool("split", false, "one copy per recipient group, each with its own edits")
		hostname = fset.String("hostname", host, "this host's name in greetings, DSNs and scan requests")
		maxSize  = clients.Size(64 << 20)
		timeout  = fset.Duration("deliver-timeout", 5*time.Minute, "timeout for handing one message to the next hop")
		ci       pipe.ClientInfo
		verbose  = fset.Bool("v", false, "debug logging")
	)
	fset.Var(&maxSize, "max-size", "largest message accepted from upstream (bytes, or with KB/MB suffix)")
	fset.StringVar(&ci.IP, "client-ip", "", "client IP when there is no XFORWARD (Exim: $sender_host_address)")
	fset.StringVar(&ci.Name, "client-name", "", "client host name when there is no XFORWARD (Exim: $sender_host_name)")
	fset.StringVar(&ci.Helo, "helo", "", "client HELO when there is no XFORWARD (Exim: $sender_helo_name)")
	fset.StringVar(&ci.QueueID, "queue-id", "", "the MTA's message id for logs (Exim: $message_exim_id)")
	fset.StringVar(&ci.AuthUser, "auth-user", "", "authenticated sender (Exim: $authenticated_id)")
	_ = fset.Parse(os.Args[1:])

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	// Logs go to stderr: in -stdio mode stdout is the LMTP/SMTP channel.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	settings, err := cf.Settings()
	if err != nil {
		return err
	}
	target, err := pipe.ParseTarget(*next)
	if err != nil {
		return err
	}
	client, err := clients.New(settings, log)
	if err != nil {
		return err
	}
	defer client.Close()

	p := pipe.New(client, &pipe.Deliverer{Target: target, Hostname: *hostname, Timeout: *timeout},
		pipe.Config{Split: *split, Hostname: *hostname, Client: ci}, log)
	srv := &smtpserver.Server{
		Hostname: *hostname, LMTP: *lmtp, MaxSize: int64(maxSize), MaxRecipients: 1000,
		ReadTimeout: 5 * time.Minute, Handler: p, Log: log,
	}
	if *stdio {
		srv.ServeConn(os.Stdin, os.Stdout, "stdin")
		return nil
	}

	network, addr, err := conf.ParseAddress(*listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	if network == "unix" {
		_ = os.Remove(addr)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	log.Info("scilla-pipe listening", "listen", *listen, "lmtp", *lmtp, "next", target.String(), "split", *split, "servers", settings.Servers)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; waiting for sessions")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
