// Package daemon assembles scillad from its parts — config, engine with its
// checks, worker pool, gRPC services, metrics — and runs it: serve, reload on
// request, drain on shutdown. It is the one place where things are wired.
package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scilla-mail/scilla/licensing"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/autolearn"
	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/config"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/grpcapi"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/replies"
	"github.com/scilla-mail/scilla/server/shared"
	"github.com/scilla-mail/scilla/server/spamd"
	"github.com/scilla-mail/scilla/server/stats"
)

// Daemon is a running scillad.
type Daemon struct {
	cfgPath string
	log     *slog.Logger
	level   *slog.LevelVar

	mu  sync.Mutex // serialises reloads
	cfg *config.Config

	eng      *engine.Engine
	pool     *pool.Pool
	scanner  *grpcapi.Scanner
	nets     *grpcapi.Networks
	servers  []*grpcapi.Server // one, or a TLS one for tcp and a plain one for unix
	lis      []served
	metrics  *http.Server
	resolver *dns.Resolver
	license  *licensing.Manager
	learned  *bayes.Store
	sent     replies.Store      // nil while replies.enabled is false
	learner  *autolearn.Learner // nil while autolearn.enabled is false
	redis    *shared.Client     // nil = a single server
	spamd    *spamd.Server
	console  *console // nil while web.listen is empty
	updates  *updates
	stats    *stats.Store
	started  time.Time
}

// NewLogger returns the logger for a log config writing to w. When w is a
// LogWriter, every record at WARN or above is flushed at once.
func NewLogger(c config.Log, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	l, _ := c.SlogLevel()
	lv.Set(l)
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if f, ok := w.(interface{ Flush() error }); ok { // a LogWriter
		h = flushOnWarn{Handler: h, f: f}
	}
	return slog.New(h), lv
}

// Options are what New needs besides the config.
type Options struct {
	// ConfigPath is re-read on Reload; "" means embedded defaults.
	ConfigPath string
	Log        *slog.Logger
	// Level is the log level to change on reload; may be nil.
	Level *slog.LevelVar
	// Checks replaces the registry's checks (tests); nil = check.All.
	Checks []engine.Check
}

// New builds a daemon from a validated config and opens its listeners.
func New(cfg *config.Config, o Options) (d *Daemon, err error) {
	log := o.Log
	d = &Daemon{cfgPath: o.ConfigPath, cfg: cfg, log: log, level: o.Level, started: time.Now()}
	// The error returns set d to nil; release through a copy.
	built := d
	defer func() {
		if err != nil {
			built.release()
		}
	}()
	if err := os.MkdirAll(cfg.Server.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	pol, err := loadPolicy(cfg.Server.PolicyFile)
	if err != nil {
		return nil, err
	}
	db, err := openDatabase(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("content database: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Redis.Enabled() {
		// Several servers: learning and licence usage are shared through
		// Redis; the local learning file is not used (docs/cluster.md).
		shared.RouteLibraryLog(log)
		if d.redis, err = shared.New(cfg.Redis, log); err != nil {
			return nil, err
		}
		if err := d.redis.Register(reg); err != nil {
			return nil, err
		}
		d.learned = bayes.OpenShared(d.redis, log)
		log.Info("learning, licence usage and statistics shared through Redis", "redis", cfg.Redis.Describe(), "key_prefix", cfg.Redis.KeyPrefix)
	} else if d.learned, err = bayes.OpenStore(cfg.Content.LearnPath(cfg.Server.StateDir)); err != nil {
		return nil, fmt.Errorf("learning store: %w", err)
	}

	if cfg.Replies.Enabled {
		if d.redis != nil {
			d.sent = replies.NewShared(d.redis, cfg.Replies.TTL.D(), cfg.Replies.DomainTTL.D())
		} else if d.sent, err = replies.OpenLocal(cfg.Replies.Path(cfg.Server.StateDir), cfg.Replies.TTL.D(), cfg.Replies.DomainTTL.D(), nil); err != nil {
			return nil, err
		}
	}

	deps := check.Deps{Log: log, DNS: cfg.DNS, Learned: d.learned, Sent: d.sent}
	if cfg.DNS.Enabled {
		if deps.Resolver, err = dns.New(cfg.DNS, reg); err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		d.resolver = deps.Resolver
	}
	checks := o.Checks
	if checks == nil {
		checks = check.All(deps)
	}
	if d.license, err = licensing.OpenShared(cfg.Server.StateDir, cfg.License, nil, log, d.redis); err != nil {
		return nil, fmt.Errorf("licence: %w", err)
	}
	if err := d.license.Register(reg); err != nil {
		return nil, fmt.Errorf("licence metrics: %w", err)
	}
	d.pool = pool.New(cfg.Pool)
	opts := engine.Options{
		Checks:   checks,
		Licenser: d.license,
		Limits:   cfg.Analysis.Limits(),
		Log:      log,
		Sent:     d.sent,
	}
	if cfg.Autolearn.Enabled {
		d.learner = autolearn.New(cfg.Autolearn, d.learned, log)
		if err := d.learner.Register(reg); err != nil {
			return nil, err
		}
		opts.Autolearn = d.learner
	}
	d.eng = engine.New(opts, &engine.Snapshot{Policy: pol, DB: db})
	if d.nets, err = grpcapi.NewNetworks(cfg.Server.AllowedNetworks); err != nil {
		return nil, err
	}
	statsOpts := stats.Options{Retention: cfg.Stats.Retention.D(), Log: log}
	if d.redis != nil {
		statsOpts.Cluster = stats.NewShared(d.redis, cfg.Stats.Retention.D())
	}
	if d.stats, err = stats.Open(cfg.Stats.Path(cfg.Server.StateDir), statsOpts); err != nil {
		return nil, err
	}
	d.scanner = grpcapi.NewScanner(d.eng, d.pool, grpcapi.NewMetrics(reg, d.pool), log, limits(cfg)).WithStats(d.stats)
	auth, err := grpcapi.NewAdminAuth(cfg.Admin.TokenFile, cfg.Admin.UnixSocketUIDs)
	if err != nil {
		return nil, err
	}
	license := grpcapi.NewLicenseServer(d.license)
	if d.updates, err = newUpdates(d, reg); err != nil {
		return nil, err
	}
	admin := adminServer{redis: d.redis, address: cfg.Redis.Describe()}
	admin.Admin = grpcapi.NewAdmin(grpcapi.AdminDeps{
		Learner: bayes.RPC{Store: d.learned},
		License: d.license,
		Engine:  d.eng,
		Pool:    d.pool,
		Started: d.started,
		Reload:  d.Reload,
		ReloadPolicy: func(context.Context) error {
			_, err := d.ReloadPolicy()
			return err
		},
		Updater: d.updates,
		Stats:   d.stats,
	})
	grpcMetrics := grpcapi.NewServerMetrics(reg)
	newServer := func(extra ...grpc.ServerOption) *grpcapi.Server {
		s := grpcapi.NewServer(grpcapi.Options{
			AdminAuth:       auth,
			Log:             log,
			Metrics:         grpcMetrics,
			MaxMessageBytes: cfg.Server.MaxMessageBytes,
			AllowedNetworks: d.nets,
			// About the scans in flight: one per pool worker.
			StreamWorkers: cfg.Pool.MaxWorkers,
			ServerOptions: extra,
		})
		scillav1.RegisterScannerServiceServer(s, d.scanner)
		scillav1.RegisterAdminServiceServer(s, admin)
		scillav1.RegisterLicenseServiceServer(s, license)
		for _, svc := range []string{"", scillav1.ScannerService_ServiceDesc.ServiceName, scillav1.AdminService_ServiceDesc.ServiceName, scillav1.LicenseService_ServiceDesc.ServiceName} {
			s.Health.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
		}
		d.servers = append(d.servers, s)
		return s
	}
	plain := newServer()
	tcp := plain
	if cfg.Server.TLS.Enabled() {
		// A client certificate is optional: with one, admin calls need no token.
		tc, err := tlsConfig("server.tls", cfg.Server.TLS, tls.VerifyClientCertIfGiven)
		if err != nil {
			return nil, err
		}
		tcp = newServer(grpc.Creds(credentials.NewTLS(tc)))
	}

	listen := cfg.Server.Listen
	if sock := cfg.AdminSocket(); sock != "" {
		listen = append(slices.Clip(listen), "unix:"+sock)
	}
	for _, addr := range listen {
		l, err := grpcapi.Listen(addr)
		if err != nil {
			return nil, err
		}
		srv := plain
		if l.Addr().Network() == "tcp" {
			srv = tcp
		}
		d.lis = append(d.lis, served{l, srv})
	}
	if cfg.Spamd.Enabled() {
		// The spamd listener scans through the same path as gRPC Scan,
		// validation included.
		scan := func(ctx context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
			if err := req.Validate(); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			return d.scanner.Scan(ctx, req)
		}
		d.spamd = spamd.New(cfg.Spamd, scan, log).WithMetrics(spamd.NewMetrics(reg))
	}
	if cfg.Web.Listen != "" {
		if d.console, err = openConsole(cfg, admin, license, d.scanner, auth.Token, log); err != nil {
			return nil, err
		}
	}
	if cfg.Metrics.Listen != "" {
		ml, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return nil, fmt.Errorf("metrics listen %s: %w", cfg.Metrics.Listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		d.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = d.metrics.Serve(ml) }()
	}
	return d, nil
}

// adminServer adds the Redis connection's state to Admin.Status.
type adminServer struct {
	*grpcapi.Admin
	redis   *shared.Client
	address string
}

// Status implements scillav1.AdminServiceServer.
func (a adminServer) Status(ctx context.Context, req *scillav1.StatusRequest) (*scillav1.StatusResponse, error) {
	resp, err := a.Admin.Status(ctx, req)
	if err != nil || a.redis == nil {
		return resp, err
	}
	st := a.redis.Status()
	rs := &scillav1.RedisStatus{Address: a.address, Reachable: st.Reachable, LastError: st.LastError}
	if !st.LastSync.IsZero() {
		rs.LastSync = timestamppb.New(st.LastSync)
	}
	resp.Redis = rs
	return resp, nil
}

func limits(c *config.Config) grpcapi.Limits {
	return grpcapi.Limits{MaxMessageBytes: c.Server.MaxMessageBytes, Deadline: c.Scan.Deadline.D()}
}

// served is a listener and the server that serves it.
type served struct {
	net.Listener
	srv *grpcapi.Server
}

// tlsConfig loads a section's certificate and key and, with its client
// CA, asks clients for a certificate from that CA as clientAuth says.
// section names the config section in errors.
func tlsConfig(section string, c config.TLS, clientAuth tls.ClientAuthType) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", section, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.client_ca_file: %w", section, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.client_ca_file %s: no PEM certificates", section, c.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = clientAuth
	}
	return tc, nil
}

// Addrs returns the listening addresses (useful with port 0 in tests).
func (d *Daemon) Addrs() []net.Addr {
	var as []net.Addr
	for _, l := range d.lis {
		as = append(as, l.Addr())
	}
	return as
}

// release frees what New acquired when New fails part way.
func (d *Daemon) release() {
	for _, l := range d.lis {
		l.Close()
	}
	if d.console != nil {
		d.console.lis.Close()
	}
	if d.pool != nil {
		_ = d.pool.Close(context.Background())
	}
	if d.resolver != nil {
		d.resolver.Close()
	}
	if d.license != nil {
		_ = d.license.Close()
	}
	if d.learner != nil {
		d.learner.Close()
	}
	if d.learned != nil {
		_ = d.learned.Close()
	}
	if d.sent != nil {
		_ = d.sent.Close()
	}
	if d.redis != nil {
		_ = d.redis.Close()
	}
	if d.stats != nil {
		_ = d.stats.Close()
	}
}

// Run serves until ctx is done, then drains: new calls are refused, scans
// in flight get up to pool.drain_delay to finish.
func (d *Daemon) Run(ctx context.Context) error {
	errc := make(chan error, len(d.lis)+2)
	for _, l := range d.lis {
		d.log.Info("listening", "addr", l.Addr().Network()+":"+l.Addr().String())
		go func() { errc <- l.srv.Serve(l.Listener) }()
	}
	spamdCtx, stopSpamd := context.WithCancel(context.Background())
	spamdDone := make(chan struct{})
	if d.spamd != nil {
		go func() {
			defer close(spamdDone)
			if err := d.spamd.ListenAndServe(spamdCtx); err != nil {
				errc <- fmt.Errorf("spamd: %w", err)
			}
		}()
	} else {
		close(spamdDone)
	}
	if d.console != nil {
		go func() {
			if err := d.console.serve(); err != nil {
				errc <- err
			}
		}()
	}
	updCtx, stopUpdates := context.WithCancel(context.Background())
	updDone := d.updates.start(updCtx)
	statsCtx, stopStats := context.WithCancel(context.Background())
	statsDone := make(chan struct{})
	go func() { defer close(statsDone); d.stats.Run(statsCtx) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	stopUpdates()
	<-updDone
	stopStats()
	<-statsDone
	stopSpamd()
	<-spamdDone
	d.shutdown()
	return err
}

func (d *Daemon) shutdown() {
	d.mu.Lock()
	drain := d.cfg.Pool.DrainDelay.D()
	d.mu.Unlock()
	d.log.Info("shutting down: draining scans in flight", "drain_delay", drain)
	var wg sync.WaitGroup
	for _, s := range d.servers {
		s.Health.Shutdown()
		wg.Add(1)
		go func() { defer wg.Done(); s.GracefulStop() }()
	}
	if d.console != nil {
		wg.Add(1)
		go func() { defer wg.Done(); d.console.shutdown(drain) }()
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(drain):
		d.log.Warn("drain delay over: stopping with calls in flight")
		for _, s := range d.servers {
			s.Stop()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := d.pool.Close(ctx); err != nil {
		d.log.Warn("pool close", "err", err)
	}
	if d.metrics != nil {
		_ = d.metrics.Close()
	}
	if d.resolver != nil {
		d.resolver.Close()
	}
	if err := d.license.Close(); err != nil {
		d.log.Warn("licence close", "err", err)
	}
	if d.learner != nil {
		d.learner.Close() // learns what waits, before the store closes
	}
	if err := d.learned.Close(); err != nil {
		d.log.Warn("learning store close", "err", err)
	}
	if d.sent != nil {
		if err := d.sent.Close(); err != nil {
			d.log.Warn("sent-mail ids close", "err", err)
		}
	}
	// After the drain, so the scans that finished in it are counted.
	if err := d.stats.Close(); err != nil {
		d.log.Warn("statistics close", "err", err)
	}
	if d.redis != nil {
		_ = d.redis.Close()
	}
	d.log.Info("stopped")
}

// Reload re-reads the config file, the policy and the database. An invalid
// config or policy is refused and everything old keeps serving.
func (d *Daemon) Reload(context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := config.Load(d.cfgPath)
	if err != nil {
		d.log.Error("reload refused: invalid config, the old one keeps serving", "err", err)
		return nil, err
	}
	pol, err := loadPolicy(cfg.Server.PolicyFile)
	if err != nil {
		d.log.Error("reload refused: invalid policy, the old one keeps serving", "err", err)
		return nil, err
	}
	db, err := openDatabase(cfg, d.log)
	if err != nil {
		d.log.Error("reload refused: invalid content database, the old one keeps serving", "err", err)
		return nil, fmt.Errorf("content database: %w", err)
	}
	var done []string
	if l, err := cfg.Log.SlogLevel(); err == nil && d.level != nil {
		d.level.Set(l)
	}
	if err := d.nets.Set(cfg.Server.AllowedNetworks); err != nil {
		return nil, err
	}
	if err := d.license.SetIssuers(cfg.License.Issuers); err != nil {
		return nil, err
	}
	d.license.Reload()
	d.pool.Reconfigure(cfg.Pool)
	d.scanner.SetLimits(limits(cfg))
	if d.console != nil {
		d.console.SetMaxMessageBytes(cfg.Server.MaxMessageBytes)
	}
	done = append(done, "config "+nameOr(d.cfgPath, "embedded defaults"))
	old := d.eng.Snapshot()
	d.eng.Swap(&engine.Snapshot{Policy: pol, DB: db})
	done = append(done, "policy "+pol.Source, "database "+db.Version)
	if old.DB.Version != db.Version {
		d.log.Info("database changed", "from", old.DB.Version, "to", db.Version)
	}
	if fmt.Sprint(cfg.Server.Listen) != fmt.Sprint(d.cfg.Server.Listen) || cfg.Metrics.Listen != d.cfg.Metrics.Listen ||
		cfg.Server.StateDir != d.cfg.Server.StateDir || fmt.Sprint(cfg.DNS) != fmt.Sprint(d.cfg.DNS) || cfg.Server.TLS != d.cfg.Server.TLS ||
		fmt.Sprint(cfg.Redis) != fmt.Sprint(d.cfg.Redis) || cfg.Stats != d.cfg.Stats || cfg.Replies != d.cfg.Replies || cfg.Autolearn != d.cfg.Autolearn || cfg.Web != d.cfg.Web {
		d.log.Warn("listen addresses, TLS, state_dir and the dns, redis, stats, replies, autolearn and web sections change only on restart")
		done = append(done, "listen addresses, TLS, metrics address, state_dir, dns, redis, stats, replies, autolearn and web unchanged until restart")
	}
	d.cfg = cfg
	d.log.Info("reloaded", "parts", done)
	return done, nil
}

// ReloadPolicy re-reads only the policy file.
func (d *Daemon) ReloadPolicy() (*policy.Policy, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pol, err := loadPolicy(d.cfg.Server.PolicyFile)
	if err != nil {
		d.log.Error("policy refused, the old one keeps serving", "err", err)
		return nil, err
	}
	old := d.eng.Snapshot()
	d.eng.Swap(&engine.Snapshot{Policy: pol, DB: old.DB})
	d.log.Info("policy reloaded", "source", pol.Source, "groups", len(pol.Groups))
	return pol, nil
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Default(), nil
	}
	return policy.LoadWith(path, policy.Options{Rules: check.RuleNames()})
}
