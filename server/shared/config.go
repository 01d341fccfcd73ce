package shared

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `redis` section of the server configuration. Redis is
// used only when Address is set; a single server needs none of it.
type Config struct {
	// Address is the Redis server, "HOST:PORT" or "unix:/PATH"; "" = off
	// (learning and licence usage stay in the state directory).
	Address string `yaml:"address"`
	// Username for Redis ACLs (AUTH username password); "" = the default user.
	Username string `yaml:"username"`
	// PasswordFile holds the password (trailing newline ignored), so the
	// secret is not in the config; "" = no password.
	PasswordFile string `yaml:"password_file"`
	// DB is the Redis database number.
	DB int `yaml:"db"`
	// KeyPrefix starts every key and channel name, so several
	// installations can share one Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// TLS connects with TLS (not for unix sockets).
	TLS bool `yaml:"tls"`
	// CAFile is a PEM CA the server's certificate must chain to; "" = the
	// system roots. Needs tls.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds each Redis command (and connecting).
	Timeout conf.Duration `yaml:"timeout"`
	// SyncInterval is how often a server reads what the others learned
	// (besides the immediate pub/sub notification).
	SyncInterval conf.Duration `yaml:"sync_interval"`
}

// DefaultConfig returns the defaults: off, prefix "scilla:", 2 s per
// command, a sync every 10 s.
func DefaultConfig() Config {
	return Config{
		KeyPrefix:    "scilla:",
		Timeout:      conf.Duration(2 * time.Second),
		SyncInterval: conf.Duration(10 * time.Second),
	}
}

// Enabled reports whether Redis is configured.
func (c *Config) Enabled() bool { return c.Address != "" }

// network returns the Go network and address of Address.
func (c *Config) network() (string, string, error) {
	if p, ok := strings.CutPrefix(c.Address, "unix:"); ok {
		if p == "" || !strings.HasPrefix(p, "/") {
			return "", "", fmt.Errorf("%q: want unix:/PATH (an absolute path)", c.Address)
		}
		return "unix", p, nil
	}
	if _, _, err := conf.ParseAddress("tcp:" + c.Address); err != nil || strings.HasPrefix(c.Address, "tcp:") {
		return "", "", fmt.Errorf("%q: want HOST:PORT or unix:/PATH", c.Address)
	}
	return "tcp", c.Address, nil
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.Address != "" {
		if net, _, err := c.network(); err != nil {
			errs = append(errs, conf.Errorf("address", "%v", err))
		} else if net == "unix" && c.TLS {
			errs = append(errs, conf.Errorf("tls", "not for a unix socket address"))
		}
	}
	if c.PasswordFile != "" {
		if _, err := os.Stat(c.PasswordFile); err != nil {
			errs = append(errs, conf.Errorf("password_file", "%v", err))
		}
	}
	if c.CAFile != "" {
		if !c.TLS {
			errs = append(errs, conf.Errorf("ca_file", "needs tls: true"))
		}
		if _, err := os.Stat(c.CAFile); err != nil {
			errs = append(errs, conf.Errorf("ca_file", "%v", err))
		}
	}
	if c.DB < 0 || c.DB > 1023 {
		errs = append(errs, conf.Errorf("db", "must be 0..1023, got %d", c.DB))
	}
	if len(c.KeyPrefix) > 64 || strings.ContainsAny(c.KeyPrefix, " \t\r\n") {
		errs = append(errs, conf.Errorf("key_prefix", "%q: at most 64 characters, no spaces", c.KeyPrefix))
	}
	if d := c.Timeout.D(); d < 10*time.Millisecond || d > time.Minute {
		errs = append(errs, conf.Errorf("timeout", "%v: want between 10ms and 1m", d))
	}
	if d := c.SyncInterval.D(); d < 100*time.Millisecond || d > time.Hour {
		errs = append(errs, conf.Errorf("sync_interval", "%v: want between 100ms and 1h", d))
	}
	return errs
}
