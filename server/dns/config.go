package dns

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the "dns" section of the main configuration: the resolver used
// by the DNS-based checks (DNSBL, reverse DNS, SPF, URI blocklists, DKIM and
// DMARC) and how sending IPs are found. Network checks run only when Enabled
// is true, so a fresh install never queries the outside world by surprise.
type Config struct {
	// Enabled turns on every DNS-based check. Off by default: set it to true
	// (and optionally list nameservers) to let Scilla query DNS. Each group
	// can still switch DNS checks and URI blocklists off in the policy.
	Enabled bool `yaml:"enabled"`
	// Nameservers are the recursive resolvers queried, as "IP" or "IP:port"
	// ("[IPv6]:port" for IPv6 with a port). Empty means the nameservers of
	// /etc/resolv.conf. Use a local caching resolver (unbound, knot-resolver)
	// rather than a public one: DNSBL operators block public resolvers.
	Nameservers []string `yaml:"nameservers"`
	// Timeout is how long one query to one nameserver may take before it is
	// retried (default 2s).
	Timeout conf.Duration `yaml:"timeout"`
	// Retries is how many more times a query is sent after a timeout or a
	// server failure, rotating over the nameservers (default 2).
	Retries int `yaml:"retries"`
	// Deadline is the overall time all DNS checks of one message may take
	// together (default 10s). When it passes, the checks still waiting give up
	// and the message is rated on its other signs.
	Deadline conf.Duration `yaml:"deadline"`
	// CacheSize is the most answers kept in the cache (default 100000).
	CacheSize int64 `yaml:"cache_size"`
	// MaxTTL caps how long a positive answer is cached (default 1h).
	MaxTTL conf.Duration `yaml:"max_ttl"`
	// NegativeTTL caps how long a "no such name" or "no data" answer is
	// cached; the zone's SOA minimum is used when it is shorter (default 5m).
	NegativeTTL conf.Duration `yaml:"negative_ttl"`
	// FailureTTL is how long a name whose nameservers all failed or timed
	// out is remembered as failing, so a dead blocklist does not cost every
	// message the full timeout (default 30s; 0: never cached).
	FailureTTL conf.Duration `yaml:"failure_ttl"`
	// ReceivedHeadersToParse is how many of the newest Received headers give
	// further sending IPs for DNSBL checks besides the connecting client
	// (default 0: the connecting client only).
	ReceivedHeadersToParse int `yaml:"received_headers_to_parse"`
	// TrustedRelays are IPs or CIDR ranges of your own relays (e.g. the
	// front-end MX in front of the filtered server). They are skipped when
	// looking for sending IPs, like private and loopback addresses.
	TrustedRelays []string `yaml:"trusted_relays"`
	// CheckAuthenticated runs the sending-IP checks (DNSBL, reverse DNS,
	// SPF, iprev) on clients that authenticated with SMTP AUTH too. Off by
	// default: an authenticated client is a user submitting from home or on
	// the move, whose address says nothing about the mail (and is often on
	// dynamic-address blocklists); the content is checked all the same.
	CheckAuthenticated bool `yaml:"check_authenticated"`
	// AuthServID names this server in the Authentication-Results header
	// (RFC 8601 §2.5) and in the SPF %{r} macro; empty means the host name.
	AuthServID string `yaml:"authserv_id"`
	// TrustedAuthServIDs are the authserv-ids of the Authentication-Results
	// headers your own MTA writes (its DMARC milter, OpenDMARC or rspamd),
	// which it removes from incoming mail. Where Scilla does not check DNS
	// itself (enabled off, or the policy's DNS method off for the group), the
	// DMARC result such a header gives for the From domain counts as
	// Scilla's own would. Empty (the default): no other server's header is
	// believed, as anyone can write one.
	TrustedAuthServIDs []string `yaml:"trusted_authserv_ids"`
}

// TrustedPrefixes returns TrustedRelays parsed; invalid entries (which
// Validate reports) are left out.
func (c *Config) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range c.TrustedRelays {
		if p, err := ParsePrefix(r); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// DefaultConfig returns the defaults: DNS checks off, system nameservers.
func DefaultConfig() Config {
	return Config{
		Timeout:     conf.Duration(2 * time.Second),
		Retries:     2,
		Deadline:    conf.Duration(10 * time.Second),
		CacheSize:   100000,
		MaxTTL:      conf.Duration(time.Hour),
		NegativeTTL: conf.Duration(5 * time.Minute),
		FailureTTL:  conf.Duration(30 * time.Second),
	}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	for i, ns := range c.Nameservers {
		if _, err := ParseNameserver(ns); err != nil {
			errs = append(errs, conf.Errorf("nameservers", "entry %d: %v", i+1, err))
		}
	}
	if c.Timeout.D() < 10*time.Millisecond || c.Timeout.D() > time.Minute {
		errs = append(errs, conf.Errorf("timeout", "must be between 10ms and 1m, got %s", c.Timeout.D()))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, conf.Errorf("retries", "must be between 0 and 10, got %d", c.Retries))
	}
	if c.Deadline.D() < 100*time.Millisecond || c.Deadline.D() > 5*time.Minute {
		errs = append(errs, conf.Errorf("deadline", "must be between 100ms and 5m, got %s", c.Deadline.D()))
	}
	if c.CacheSize < 0 {
		errs = append(errs, conf.Errorf("cache_size", "must be 0 (no cache) or more, got %d", c.CacheSize))
	}
	if c.MaxTTL < 0 {
		errs = append(errs, conf.Errorf("max_ttl", "must not be negative, got %s", c.MaxTTL.D()))
	}
	if c.NegativeTTL < 0 {
		errs = append(errs, conf.Errorf("negative_ttl", "must not be negative, got %s", c.NegativeTTL.D()))
	}
	if c.FailureTTL < 0 || c.FailureTTL.D() > 5*time.Minute {
		errs = append(errs, conf.Errorf("failure_ttl", "must be between 0 and 5m (RFC 2308 §7), got %s", c.FailureTTL.D()))
	}
	if c.ReceivedHeadersToParse < 0 || c.ReceivedHeadersToParse > 50 {
		errs = append(errs, conf.Errorf("received_headers_to_parse", "must be between 0 and 50, got %d", c.ReceivedHeadersToParse))
	}
	if strings.ContainsAny(c.AuthServID, " \t;\r\n()") {
		errs = append(errs, conf.Errorf("authserv_id", "must be a host name without spaces, \";\" or parentheses, got %q", c.AuthServID))
	}
	for i, id := range c.TrustedAuthServIDs {
		if id == "" || strings.ContainsAny(id, " \t;\r\n()") {
			errs = append(errs, conf.Errorf("trusted_authserv_ids", "entry %d: must be a host name without spaces, \";\" or parentheses, got %q", i+1, id))
		}
	}
	for i, r := range c.TrustedRelays {
		if _, err := ParsePrefix(r); err != nil {
			errs = append(errs, conf.Errorf("trusted_relays", "entry %d: %v", i+1, err))
		}
	}
	return errs
}

// ParseNameserver turns "IP", "IP:port" or "[IPv6]:port" into an address
// with a port (53 when none is given).
func ParseNameserver(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("nameserver %q: want an IP address or IP:port", s)
	}
	return netip.AddrPortFrom(a.Unmap(), 53), nil
}

// ParsePrefix parses an IP address or CIDR range.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR range", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
