package licensing

import (
	"path/filepath"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `license` section of the server configuration.
type Config struct {
	// Dir is the licence directory holding the installed keys (active.key,
	// reserve.key). Empty means "license" under the state directory.
	Dir string `yaml:"dir"`
	// Issuers are extra trusted issuer public keys, each "ed25519:" and the
	// base64 of the key, as printed by `scilla-license keygen`. The
	// publisher's issuers are always trusted.
	Issuers []string `yaml:"issuers"`
	// Trial enables the built-in 30-day trial (50 protected mailboxes) on the
	// very first start when no key has been installed. It runs once per
	// state directory.
	Trial bool `yaml:"trial"`
	// FlushInterval is how often usage counts are written to the state
	// directory; they are also written on shutdown.
	FlushInterval conf.Duration `yaml:"flush_interval"`
	// RescanInterval is how often the licence directory is checked for keys
	// copied in or removed by hand (installs through `scilla license` apply
	// at once).
	RescanInterval conf.Duration `yaml:"rescan_interval"`
}

// DefaultConfig returns the defaults: keys under the state directory, the
// trial on, usage flushed every 10 s, the directory rescanned every 30 s.
func DefaultConfig() Config {
	return Config{
		Trial:          true,
		FlushInterval:  conf.Duration(10 * time.Second),
		RescanInterval: conf.Duration(30 * time.Second),
	}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		errs = append(errs, conf.Errorf("dir", "%q must be an absolute path (or empty for <state-dir>/license)", c.Dir))
	}
	for i, s := range c.Issuers {
		if _, err := ParsePublicKey(s); err != nil {
			errs = append(errs, conf.Errorf("issuers", "entry %d: %v", i+1, err))
		}
	}
	if d := c.FlushInterval.D(); d < 100*time.Millisecond || d > time.Hour {
		errs = append(errs, conf.Errorf("flush_interval", "%v: want between 100ms and 1h", d))
	}
	if d := c.RescanInterval.D(); d < time.Second || d > 24*time.Hour {
		errs = append(errs, conf.Errorf("rescan_interval", "%v: want between 1s and 24h", d))
	}
	return errs
}

// dir returns the licence directory for stateDir.
func (c *Config) dir(stateDir string) string {
	if c.Dir != "" {
		return c.Dir
	}
	return filepath.Join(stateDir, "license")
}
