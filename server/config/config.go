// Package config is scillad's configuration file: one YAML file whose
// sections are typed structs. Every value has a default (Default); Load
// reads a file strictly (unknown keys are errors naming file, line and key)
// and validates every section the same way (internal/conf).
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/licensing"
	"github.com/scilla-mail/scilla/server/autolearn"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/grpcapi"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/replies"
	"github.com/scilla-mail/scilla/server/shared"
	"github.com/scilla-mail/scilla/server/spamd"
	"github.com/scilla-mail/scilla/server/stats"
	"github.com/scilla-mail/scilla/updater/update"
)

// Config is the whole scillad configuration.
type Config struct {
	Server Server      `yaml:"server"`
	Pool   pool.Config `yaml:"pool"`
	Scan   Scan        `yaml:"scan"`
	// Analysis bounds the message parser.
	Analysis message.Config `yaml:"analysis"`
	Log      Log            `yaml:"log"`
	Metrics  Metrics        `yaml:"metrics"`
	Admin    Admin          `yaml:"admin"`
	DNS      dns.Config     `yaml:"dns"`
	// Content is the content filtration database and the learning store.
	Content contentdb.Config `yaml:"content"`
	// Update keeps the content database current from a publisher's
	// source; off while update.source is empty.
	Update update.Config `yaml:"update"`
	// License is where licence keys live and which issuers are trusted.
	License licensing.Config `yaml:"license"`
	// Spamd is the optional spamd/rspamd-protocol listener for Exim's
	// `spam =` ACL condition and other spamd clients.
	Spamd spamd.Config `yaml:"spamd"`
	// Redis is the Redis server several scillad share learning and
	// licence usage through; off while redis.address is empty.
	Redis shared.Config `yaml:"redis"`
	// Stats is where scan statistics (scilla stats) are kept and for how
	// long.
	Stats stats.Config `yaml:"stats"`
	// Replies remembers the mail local users send, so that the answers to
	// it are recognised (REPLY_TO_SENT).
	Replies replies.Config `yaml:"replies"`
	// Autolearn teaches the classifier from the engine's clear verdicts;
	// off by default.
	Autolearn autolearn.Config `yaml:"autolearn"`
	// Web is the Control Center, the web console; off while web.listen is
	// empty.
	Web Web `yaml:"web"`
	// Client is the section read by the mail-server plug-ins (see the
	// clients documentation); scillad only validates it, so one file can
	// serve both.
	Client clients.Settings `yaml:"client"`
}

// Server is the `server` section.
type Server struct {
	// Listen addresses, "tcp:HOST:PORT" or "unix:/PATH"; several allowed.
	Listen []string `yaml:"listen"`
	// StateDir holds everything the server persists (learning, licence,
	// usage, installed databases).
	StateDir string `yaml:"state_dir"`
	// MaxMessageBytes is the largest message accepted by Scan.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// AllowedNetworks may call Scan over TCP (CIDR or addresses); callers
	// on a unix socket always may.
	AllowedNetworks []string `yaml:"allowed_networks"`
	// PolicyFile is the policy file; "" uses the built-in default policy.
	PolicyFile string `yaml:"policy_file"`
	// TLS for the tcp listeners (unix sockets stay plain).
	TLS TLS `yaml:"tls"`
}

// TLS is the `server.tls` section, and the `web.tls` section of the
// console.
type TLS struct {
	// CertFile and KeyFile are the server's PEM certificate chain and key;
	// both empty = plaintext.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile: clients presenting a certificate signed by this PEM CA
	// may make admin calls (mTLS); a certificate is not required to scan.
	// For the console, every browser must present one.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether TLS is configured.
func (t *TLS) Enabled() bool { return t.CertFile != "" }

// Validate implements conf.Validator.
func (t *TLS) Validate() []error {
	var errs []error
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, conf.Errorf("cert_file", "cert_file and key_file go together"))
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		errs = append(errs, conf.Errorf("client_ca_file", "needs cert_file and key_file (mTLS is TLS first)"))
	}
	for key, f := range map[string]string{"cert_file": t.CertFile, "key_file": t.KeyFile, "client_ca_file": t.ClientCAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, conf.Errorf(key, "%v", err))
		}
	}
	return errs
}

// Scan is the `scan` section.
type Scan struct {
	// Deadline is the longest one scan may take, waiting for a worker
	// included; past it the message passes as Not processed.
	Deadline conf.Duration `yaml:"deadline"`
}

// Log is the `log` section.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Metrics is the `metrics` section.
type Metrics struct {
	// Listen is the HTTP address for /metrics, e.g. "127.0.0.1:9277"; "" = off.
	Listen string `yaml:"listen"`
}

// Admin is the `admin` section: who may call the Admin and License services.
type Admin struct {
	// Socket is a unix socket serving every service, where admin calls are
	// authenticated by the caller's uid; relative to state_dir; "" = none.
	Socket string `yaml:"socket"`
	// TokenFile holds a bearer token admin clients must send; "" = no token auth.
	TokenFile string `yaml:"token_file"`
	// UnixSocketUIDs may call admin services over a unix socket without a
	// token (peer credentials); empty = root and the server's own user.
	UnixSocketUIDs []int `yaml:"unix_socket_uids"`
}

// Web is the `web` section: the Control Center, a web console served by
// scillad. It signs in with the admin token (admin.token_file).
type Web struct {
	// Listen is the console's HTTP address, e.g. "127.0.0.1:9278"; "" = off.
	Listen string `yaml:"listen"`
	// TLS serves the console over HTTPS. ClientCAFile there makes every
	// browser present a certificate from that CA before it may sign in.
	TLS TLS `yaml:"tls"`
}

// Validate implements conf.Validator.
func (w *Web) Validate() []error {
	if w.Listen == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(w.Listen)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return []error{conf.Errorf("listen", "%q: want HOST:PORT (e.g. 127.0.0.1:9278) or empty (off)", w.Listen)}
	}
	return nil
}

// Loopback reports whether Listen is on a loopback address, where only
// this host can reach the console.
func (w *Web) Loopback() bool {
	host, _, err := net.SplitHostPort(w.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Default returns the configuration scillad runs with when no file is given.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:          []string{"tcp:127.0.0.1:2277"},
			StateDir:        "/var/lib/scilla",
			MaxMessageBytes: 32 << 20,
			AllowedNetworks: []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
		},
		Pool:      pool.DefaultConfig(),
		Scan:      Scan{Deadline: conf.Duration(25 * time.Second)},
		Log:       Log{Level: "info", Format: "text"},
		Admin:     Admin{Socket: "scillad.sock"},
		DNS:       dns.DefaultConfig(),
		License:   licensing.DefaultConfig(),
		Content:   contentdb.DefaultConfig(),
		Update:    update.DefaultConfig(),
		Analysis:  message.DefaultConfig(),
		Spamd:     spamd.DefaultConfig(),
		Redis:     shared.DefaultConfig(),
		Stats:     stats.DefaultConfig(),
		Replies:   replies.DefaultConfig(),
		Autolearn: autolearn.DefaultConfig(),
		Client:    clients.DefaultSettings(),
	}
}

// Load reads a config file over the defaults. path "" returns the defaults.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, c.validateAll("embedded defaults")
	}
	if err := conf.Load(path, c); err != nil {
		return nil, err
	}
	c.resolvePaths(filepath.Dir(path))
	return c, nil
}

func (c *Config) validateAll(name string) error {
	return conf.Decode(name, nil, c)
}

// resolvePaths makes relative file paths relative to the config file.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Server.PolicyFile, &c.Content.Dir, &c.Admin.TokenFile, &c.Server.TLS.CertFile, &c.Server.TLS.KeyFile, &c.Server.TLS.ClientCAFile,
		&c.Web.TLS.CertFile, &c.Web.TLS.KeyFile, &c.Web.TLS.ClientCAFile, &c.Redis.PasswordFile, &c.Redis.CAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Validate implements conf.Validator for the checks that span sections.
func (c *Config) Validate() []error {
	var errs []error
	if c.Web.Listen != "" && c.Admin.TokenFile == "" {
		errs = append(errs, conf.Errorf("web.listen", "needs admin.token_file: the console signs in with the admin token"))
	}
	if c.Update.Enabled() {
		if len(c.Content.TrustedKeys) == 0 {
			errs = append(errs, conf.Errorf("update.source", "needs content.trusted_keys: updates must be signed by a publisher key listed there"))
		}
		if c.Content.Dir != "" {
			errs = append(errs, conf.Errorf("update.source", "and content.dir exclude each other: with updates on, scillad serves the installed version from STATE_DIR/db; set content.dir to \"\""))
		}
	}
	return errs
}

// Validate implements conf.Validator.
func (s *Server) Validate() []error {
	var errs []error
	if len(s.Listen) == 0 {
		errs = append(errs, conf.Errorf("listen", "needs at least one address (tcp:HOST:PORT or unix:/PATH)"))
	}
	for i, l := range s.Listen {
		if _, _, err := conf.ParseAddress(l); err != nil {
			errs = append(errs, conf.Errorf(fmt.Sprintf("listen[%d]", i), "%v", err))
		}
	}
	if s.StateDir == "" {
		errs = append(errs, conf.Errorf("state_dir", "must be set (a directory scillad may write)"))
	}
	if s.MaxMessageBytes < 1024 || s.MaxMessageBytes > 1<<30 {
		errs = append(errs, conf.Errorf("max_message_bytes", "must be 1024..1073741824, got %d", s.MaxMessageBytes))
	}
	if _, err := grpcapi.ParsePrefixes(s.AllowedNetworks); err != nil {
		errs = append(errs, conf.Errorf("allowed_networks", "%v", err))
	}
	return errs
}

// Validate implements conf.Validator.
func (s *Scan) Validate() []error {
	if s.Deadline.D() < 100*time.Millisecond || s.Deadline.D() > 10*time.Minute {
		return []error{conf.Errorf("deadline", "must be 100ms..10m, got %s", s.Deadline.D())}
	}
	return nil
}

// Validate implements conf.Validator.
func (l *Log) Validate() []error {
	var errs []error
	if _, err := l.SlogLevel(); err != nil {
		errs = append(errs, conf.Errorf("level", "%v", err))
	}
	if l.Format != "text" && l.Format != "json" {
		errs = append(errs, conf.Errorf("format", "must be text or json, got %q", l.Format))
	}
	return errs
}

// SlogLevel returns the slog level of Level.
func (l *Log) SlogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("must be debug, info, warn or error, got %q", l.Level)
	}
	return lv, nil
}

// Validate implements conf.Validator.
func (m *Metrics) Validate() []error {
	if m.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		return []error{conf.Errorf("listen", "%q: want HOST:PORT or empty (off)", m.Listen)}
	}
	return nil
}

// Validate implements conf.Validator.
func (a *Admin) Validate() []error {
	if a.TokenFile == "" {
		return nil
	}
	if _, err := os.Stat(a.TokenFile); err != nil {
		return []error{conf.Errorf("token_file", "%v", err)}
	}
	return nil
}

// AdminSocket returns the admin socket path ("" when off).
func (c *Config) AdminSocket() string {
	if c.Admin.Socket == "" || filepath.IsAbs(c.Admin.Socket) {
		return c.Admin.Socket
	}
	return filepath.Join(c.Server.StateDir, c.Admin.Socket)
}

// Marshal renders the effective configuration as YAML.
func (c *Config) Marshal() ([]byte, error) {
	return yaml.Marshal(c)
}
