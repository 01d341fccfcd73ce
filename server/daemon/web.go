package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/config"
	"github.com/scilla-mail/scilla/server/web"
)

// console is the web Control Center (web.listen): the web package's
// handler on its own listener, over TLS with web.tls.
type console struct {
	*web.Server
	srv *http.Server
	lis net.Listener
	url string
	log *slog.Logger
}

// openConsole builds the console on the same services gRPC serves and
// opens its listener; Run serves it.
func openConsole(cfg *config.Config, admin scillav1.AdminServiceServer, license scillav1.LicenseServiceServer,
	scanner scillav1.ScannerServiceServer, token string, log *slog.Logger) (*console, error) {
	h, err := web.New(web.Options{
		Admin: admin, License: license, Scanner: scanner, Token: token,
		Secure: cfg.Web.TLS.Enabled(), MaxMessageBytes: cfg.Server.MaxMessageBytes, Log: log,
	})
	if err != nil {
		return nil, err
	}
	var tc *tls.Config
	if cfg.Web.TLS.Enabled() {
		// With web.tls.client_ca_file a browser must present a
		// certificate from that CA, and then still sign in.
		if tc, err = tlsConfig("web.tls", cfg.Web.TLS, tls.RequireAndVerifyClientCert); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", cfg.Web.Listen)
	if err != nil {
		return nil, fmt.Errorf("web listen %s: %w", cfg.Web.Listen, err)
	}
	c := &console{Server: h, lis: l, url: "http://" + l.Addr().String() + "/", log: log}
	if tc != nil {
		c.lis, c.url = tls.NewListener(l, tc), "https://"+l.Addr().String()+"/"
	} else if !cfg.Web.Loopback() {
		log.Warn("the web console listens beyond loopback without TLS: the admin token and the session cookie cross the network in clear; set web.tls", "addr", cfg.Web.Listen)
	}
	c.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelInfo),
	}
	return c, nil
}

// serve serves until shutdown.
func (c *console) serve() error {
	c.log.Info("web console listening", "url", c.url)
	if err := c.srv.Serve(c.lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web console: %w", err)
	}
	return nil
}

// shutdown stops taking requests and gives those in flight up to drain to
// finish; then it closes the rest.
func (c *console) shutdown(drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		c.log.Warn("web console: drain delay over: closing requests in flight")
		_ = c.srv.Close()
	}
}
