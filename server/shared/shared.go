// Package shared is the connection several scillad share state through: a
// Redis server holding the learned token counts (server/bayes) and the
// licence usage (licensing), so any node sees what another learned or
// counted. A single server needs none of it: everything stays in its state
// directory and Redis is used only when the `redis` section names one.
//
// The package owns the client, the key names and the health of the
// connection (for Status and metrics); the packages that share state own
// their data layout. Nothing here is on the scan path: scans read
// in-memory copies that the sync loops refresh.
package shared

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Client is the Redis connection of one scillad with its key prefix,
// per-command timeout and the health of the sync loops that use it.
type Client struct {
	rdb      *redis.Client
	prefix   string
	timeout  time.Duration
	interval time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	down     map[string]bool // parts whose last sync failed
	lastSync time.Time
	lastErr  string

	syncErrors *prometheus.CounterVec
	up         prometheus.Gauge
	lastOK     prometheus.Gauge
}

// Status is the connection's state for `scilla status`.
type Status struct {
	// Reachable is false while the last sync of any part failed.
	Reachable bool
	// LastSync is when a sync last succeeded; zero before the first.
	LastSync time.Time
	// LastError is the last failure, "" when none since the start.
	LastError string
}

// New makes the client of a validated config; the connection is made on
// first use, so a Redis that is down at start does not stop the server.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.Default()
	}
	password, err := readSecret(cfg.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("redis: read password_file: %w", err)
	}
	var tc *tls.Config
	if cfg.TLS {
		// The server name comes from each address dialled (the master's
		// changes under a sentinel).
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis: read ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis: ca_file %s: no PEM certificates", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
	}
	var rdb *redis.Client
	if sn := cfg.Sentinel; sn.Master != "" {
		sentinelPassword, err := readSecret(sn.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("redis: read sentinel.password_file: %w", err)
		}
		rdb = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       sn.Master,
			SentinelAddrs:    sn.Addresses,
			SentinelPassword: sentinelPassword,
			Username:         cfg.Username,
			Password:         password,
			DB:               cfg.DB,
			DialTimeout:      cfg.Timeout.D(),
			ReadTimeout:      cfg.Timeout.D(),
			WriteTimeout:     cfg.Timeout.D(),
			MaxRetries:       1,
			Protocol:         2,
			DisableIdentity:  true,
			TLSConfig:        tc,
		})
	} else {
		network, addr, err := cfg.network()
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		rdb = redis.NewClient(&redis.Options{
			Network:         network,
			Addr:            addr,
			Username:        cfg.Username,
			Password:        password,
			DB:              cfg.DB,
			DialTimeout:     cfg.Timeout.D(),
			ReadTimeout:     cfg.Timeout.D(),
			WriteTimeout:    cfg.Timeout.D(),
			MaxRetries:      1,
			Protocol:        2,
			DisableIdentity: true,
			TLSConfig:       tc,
			// Maintenance notifications are a Redis Cloud feature.
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
	}
	c := &Client{
		rdb:      rdb,
		prefix:   cfg.KeyPrefix,
		timeout:  cfg.Timeout.D(),
		interval: cfg.SyncInterval.D(),
		log:      log.With("subsystem", "redis"),
		down:     map[string]bool{},
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scilla_redis_sync_errors_total",
			Help: "Failed syncs with the shared Redis, by part (bayes, license, stats).",
		}, []string{"part"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scilla_redis_up",
			Help: "1 while the last sync with the shared Redis succeeded.",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scilla_redis_last_sync_timestamp_seconds",
			Help: "When a sync with the shared Redis last succeeded (Unix time).",
		}),
	}
	for _, p := range []string{"bayes", "license", "stats"} {
		c.syncErrors.WithLabelValues(p)
	}
	return c, nil
}

// readSecret returns the first line of a file ("" for no file).
func readSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Register adds the client's metrics to reg.
func (c *Client) Register(reg prometheus.Registerer) error {
	for _, col := range []prometheus.Collector{c.syncErrors, c.up, c.lastOK} {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("register redis metrics: %w", err)
		}
	}
	return nil
}

// Redis returns the client for commands; give each call a context from
// Context.
func (c *Client) Redis() *redis.Client { return c.rdb }

// Key returns the key (or channel) name of parts under the prefix, e.g.
// Key("bayes", "domains") = "scilla:bayes:domains".
func (c *Client) Key(parts ...string) string { return c.prefix + strings.Join(parts, ":") }

// Context returns ctx bounded by the per-command timeout.
func (c *Client) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Timeout is the per-command timeout.
func (c *Client) Timeout() time.Duration { return c.timeout }

// SyncInterval is how often the sync loops poll.
func (c *Client) SyncInterval() time.Duration { return c.interval }

// Report records the outcome of one sync of part ("bayes", "license"). A
// failure is logged once per outage, not per attempt; the recovery once.
func (c *Client) Report(part string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.syncErrors.WithLabelValues(part).Inc()
		c.up.Set(0)
		c.lastErr = fmt.Sprintf("%s: %v", part, err)
		if !c.down[part] {
			c.down[part] = true
			c.log.Warn("redis unreachable: "+part+" goes on with local state and retries", "part", part, "err", err)
		}
		return
	}
	if c.down[part] {
		delete(c.down, part)
		c.log.Info("redis reachable again: "+part+" synced", "part", part)
	}
	c.lastSync = time.Now()
	c.lastOK.Set(float64(c.lastSync.UnixNano()) / 1e9)
	if len(c.down) == 0 {
		c.up.Set(1)
	}
}

// Status returns the connection's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{Reachable: len(c.down) == 0 && !c.lastSync.IsZero(), LastSync: c.lastSync, LastError: c.lastErr}
}

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }

// RouteLibraryLog sends go-redis's own messages (a failed dial per
// attempt, pool notices) to log at debug level instead of the standard
// logger: outages are logged once by Report. go-redis has one logger per
// process, so the daemon calls this once.
func RouteLibraryLog(log *slog.Logger) {
	redis.SetLogger(libLog{log.With("subsystem", "redis", "from", "go-redis")})
}

type libLog struct{ log *slog.Logger }

func (l libLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}
