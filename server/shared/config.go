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
	// (learning and licence usage stay in the state directory) unless
	// Sentinel names the server instead.
	Address string `yaml:"address"`
	// Sentinel finds the Redis master through Redis Sentinel, which
	// promotes a replica when the master fails; instead of Address.
	Sentinel Sentinel `yaml:"sentinel"`
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

// Sentinel is the `redis.sentinel` subsection.
type Sentinel struct {
	// Master is the name the sentinels monitor the master under.
	Master string `yaml:"master"`
	// Addresses are sentinels, "HOST:PORT" each; any one that answers will do.
	Addresses []string `yaml:"addresses"`
	// PasswordFile holds the sentinels' own password (their requirepass),
	// if they have one; "" = none.
	PasswordFile string `yaml:"password_file"`
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
func (c *Config) Enabled() bool { return c.Address != "" || c.Sentinel.Master != "" }

// Describe names the Redis for logs and status: its address, or the
// master's name and the sentinels.
func (c *Config) Describe() string {
	if c.Sentinel.Master != "" {
		return fmt.Sprintf("sentinel master %s via %s", c.Sentinel.Master, strings.Join(c.Sentinel.Addresses, ","))
	}
	return c.Address
}

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
	sn := c.Sentinel
	switch {
	case sn.Master != "" && c.Address != "":
		errs = append(errs, conf.Errorf("sentinel.master", "set address or sentinel, not both"))
	case sn.Master == "" && (len(sn.Addresses) > 0 || sn.PasswordFile != ""):
		errs = append(errs, conf.Errorf("sentinel.master", "must name the master the sentinels monitor"))
	case sn.Master != "" && len(sn.Addresses) == 0:
		errs = append(errs, conf.Errorf("sentinel.addresses", "must list at least one sentinel, HOST:PORT"))
	}
	for i, a := range sn.Addresses {
		if _, _, err := conf.ParseAddress("tcp:" + a); err != nil || strings.HasPrefix(a, "tcp:") {
			errs = append(errs, conf.Errorf(fmt.Sprintf("sentinel.addresses[%d]", i), "%q: want HOST:PORT", a))
		}
	}
	for _, f := range [][2]string{{"password_file", c.PasswordFile}, {"sentinel.password_file", sn.PasswordFile}} {
		if f[1] == "" {
			continue
		}
		if _, err := os.Stat(f[1]); err != nil {
			errs = append(errs, conf.Errorf(f[0], "%v", err))
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
