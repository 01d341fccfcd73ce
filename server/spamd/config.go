package spamd

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `spamd:` section of the scillad config. The listener is off
// unless Listen names at least one address.
type Config struct {
	// Listen lists the addresses to accept spamd/rspamd clients on,
	// "tcp:host:port" or "unix:/path". Empty (the default) turns the listener
	// off. SpamAssassin's spamd uses port 783, rspamd's normal worker 11333.
	Listen []string `yaml:"listen"`
	// RequiredScore is the "required" score reported to clients (the second
	// number in `Spam: True ; 12.0 / 6.0`) when the verdict carries no
	// X-Spam-Status header with a required= value. It never decides anything:
	// the status decided by the policy does, and the reported threshold is
	// moved so that score >= threshold holds exactly when the status is spam.
	RequiredScore float64 `yaml:"required_score"`
	// ProbableSpamIsSpam reports PROBABLE_SPAM as spam (Exim's `spam =`
	// condition true, `Spam: True`). When false only SPAM and BLACKLISTED are.
	ProbableSpamIsSpam bool `yaml:"probable_spam_is_spam"`
	// MaxSize is the largest message scanned, in bytes. Bigger messages are
	// read and answered "not spam" unscanned, so the MTA is never blocked.
	MaxSize int64 `yaml:"max_size"`
	// Timeout bounds one connection: reading the request, the scan and
	// writing the answer.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConnections bounds the connections served at once; more wait in the
	// kernel's accept queue.
	MaxConnections int `yaml:"max_connections"`
	// AllowedNetworks may connect over TCP (CIDR or addresses); others are
	// answered "EX_NOPERM" and closed. Unix socket clients always may (the
	// socket is created mode 0666: guard it with its directory).
	AllowedNetworks []string `yaml:"allowed_networks"`
	// DefaultRecipient is the recipient a message is scanned for when the
	// request names none and its To and Cc hold no address (e.g.
	// "undisclosed-recipients:;"). With protected domains in the policy,
	// make it an address in one of them.
	DefaultRecipient string `yaml:"default_recipient"`
}

// DefaultConfig returns the listener off, required score 6 (the Standard
// detection level's spam threshold), probable spam reported as spam, a
// 10 MB size limit, a 60 s timeout and 64 connections.
func DefaultConfig() Config {
	return Config{
		RequiredScore:      6,
		ProbableSpamIsSpam: true,
		MaxSize:            10 << 20,
		Timeout:            60 * time.Second,
		MaxConnections:     64,
		AllowedNetworks:    []string{"127.0.0.0/8", "::1/128"},
		DefaultRecipient:   "postmaster@localhost",
	}
}

// Enabled reports whether any listen address is configured.
func (c *Config) Enabled() bool { return len(c.Listen) > 0 }

// Validate reports every problem in c.
func (c *Config) Validate() []error {
	var errs []error
	for i, a := range c.Listen {
		if _, _, err := conf.ParseAddress(a); err != nil {
			errs = append(errs, conf.Errorf(fmt.Sprintf("listen.%d", i), "%v", err))
		}
	}
	if c.RequiredScore <= 0 {
		errs = append(errs, conf.Errorf("required_score", "must be positive, got %g", c.RequiredScore))
	}
	if c.MaxSize <= 0 {
		errs = append(errs, conf.Errorf("max_size", "must be positive, got %d", c.MaxSize))
	}
	if c.Timeout <= 0 {
		errs = append(errs, conf.Errorf("timeout", "must be positive, got %s", c.Timeout))
	}
	if _, err := parseNetworks(c.AllowedNetworks); err != nil {
		errs = append(errs, conf.Errorf("allowed_networks", "%v", err))
	}
	if c.MaxConnections <= 0 {
		errs = append(errs, conf.Errorf("max_connections", "must be positive, got %d", c.MaxConnections))
	}
	return errs
}

// parseNetworks parses CIDR ranges and single addresses.
func parseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range list {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR range nor an address", n)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
