package update

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/bayes"
)

// Config is the `update` section of scillad's configuration.
type Config struct {
	// Source is where signed database bundles are published: an http:// or
	// https:// URL of the directory holding manifest.json, or a local or
	// network directory (an absolute path or file:///PATH). "{tokenizer}"
	// in it stands for this server's bayes.TokenizerVersion, so that one
	// publisher can serve the databases of several releases. Empty turns
	// updates off.
	Source string `yaml:"source"`
	// Interval is how often the source is checked (±10 % jitter).
	Interval conf.Duration `yaml:"interval"`
	// Proxy is the HTTP(S) proxy URL for an http(s) source; empty uses the
	// environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
	Proxy string `yaml:"proxy"`
	// Timeout bounds one update run: manifest, files and install.
	Timeout conf.Duration `yaml:"timeout"`
}

// DefaultConfig returns the defaults: updates off, every 20 minutes once a
// source is set, no proxy beyond the environment's, 5 minutes per run.
func DefaultConfig() Config {
	return Config{Interval: conf.Duration(20 * time.Minute), Timeout: conf.Duration(5 * time.Minute)}
}

// Enabled reports whether a source is configured.
func (c *Config) Enabled() bool { return c.Source != "" }

// Validate implements conf.Validator. That a source needs
// content.trusted_keys is checked by the whole configuration, which sees
// both sections.
func (c *Config) Validate() []error {
	var errs []error
	if c.Source != "" {
		if _, err := ParseSource(c.Source); err != nil {
			errs = append(errs, conf.Errorf("source", "%v", err))
		}
	}
	if d := c.Interval.D(); d < time.Minute || d > 7*24*time.Hour {
		errs = append(errs, conf.Errorf("interval", "%v: want between 1m and 168h", d))
	}
	if d := c.Timeout.D(); d < time.Second || d > 24*time.Hour {
		errs = append(errs, conf.Errorf("timeout", "%v: want between 1s and 24h", d))
	}
	if c.Proxy != "" {
		if _, err := parseProxy(c.Proxy); err != nil {
			errs = append(errs, conf.Errorf("proxy", "%v", err))
		}
	}
	return errs
}

// SourceSpec is a parsed update.source.
type SourceSpec struct {
	// URL is the http(s) base URL; nil for a directory.
	URL *url.URL
	// Dir is the directory; "" for a URL.
	Dir string
}

// ParseSource parses an update source: http(s)://HOST/PATH, file:///PATH
// or an absolute directory path, with "{tokenizer}" replaced by this
// server's tokenizer version.
func ParseSource(s string) (SourceSpec, error) {
	const want = "want http://HOST/PATH, https://HOST/PATH, file:///PATH or an absolute directory path"
	s = strings.ReplaceAll(s, "{tokenizer}", strconv.Itoa(bayes.TokenizerVersion))
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return SourceSpec{}, fmt.Errorf("%q: %v; %s", s, err, want)
		}
		switch u.Scheme {
		case "http", "https":
			if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				return SourceSpec{}, fmt.Errorf("%q: a URL with a host and no user, query or fragment; %s", s, want)
			}
			return SourceSpec{URL: u}, nil
		case "file":
			if u.Host != "" && u.Host != "localhost" || !filepath.IsAbs(u.Path) {
				return SourceSpec{}, fmt.Errorf("%q: file URLs are file:///ABSOLUTE/PATH; %s", s, want)
			}
			return SourceSpec{Dir: filepath.Clean(u.Path)}, nil
		}
		return SourceSpec{}, fmt.Errorf("%q: scheme %q; %s", s, u.Scheme, want)
	}
	if !filepath.IsAbs(s) {
		return SourceSpec{}, fmt.Errorf("%q is a relative path; %s", s, want)
	}
	return SourceSpec{Dir: filepath.Clean(s)}, nil
}

func parseProxy(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%q: want http://HOST:PORT, https://HOST:PORT or socks5://HOST:PORT", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", s)
	}
	return u, nil
}
