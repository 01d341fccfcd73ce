package clients

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Settings is the `client:` section of the Scilla config file, shared by
// every mail-server plug-in. A client reading a file decodes only this key
// (strictly) and ignores the other top-level sections, so one file can
// configure scillad and its clients on the same host.
type Settings struct {
	// Servers lists the scillad addresses, "tcp:host:port" or "unix:/path".
	// Scans are spread over them round-robin; when one fails the next is
	// tried (failover) before the on-error policy applies.
	Servers []string `yaml:"servers"`
	// ConnectTimeout bounds establishing a connection to one server.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// DataTimeout bounds one Scan call to one server (sending the message and
	// waiting for the verdict).
	DataTimeout time.Duration `yaml:"data_timeout"`
	// OnError says what happens to a message when no server could scan it:
	// "accept" (deliver, tagged X-SpamTest-Info: Not processed), "tempfail"
	// (4xx, the MTA retries later) or "reject" (5xx).
	OnError OnError `yaml:"on_error"`
	// SizeLimit is the largest message sent for scanning, in bytes ("500KB",
	// "2MB" or a number). Bigger messages pass unscanned, tagged
	// X-SpamTest-Info: Not processed. 0 means no limit.
	SizeLimit Size `yaml:"size_limit"`
	// DefaultDomain is appended to bare envelope addresses ("user" becomes
	// "user@DefaultDomain") before scanning. Empty leaves them as they are.
	DefaultDomain string `yaml:"default_domain"`
}

// DefaultSettings returns the built-in client settings: scillad on
// tcp:127.0.0.1:2277, 10 s connect timeout, 30 s data timeout, tempfail on
// error, 500 KB size limit.
func DefaultSettings() Settings {
	return Settings{
		Servers:        []string{"tcp:127.0.0.1:2277"},
		ConnectTimeout: 10 * time.Second,
		DataTimeout:    30 * time.Second,
		OnError:        OnErrorTempFail,
		SizeLimit:      500 * 1024,
	}
}

// Validate reports every problem in s.
func (s *Settings) Validate() []error {
	var errs []error
	if len(s.Servers) == 0 {
		errs = append(errs, conf.Errorf("servers", "at least one server address is needed"))
	}
	for i, a := range s.Servers {
		if _, _, err := conf.ParseAddress(a); err != nil {
			errs = append(errs, conf.Errorf(fmt.Sprintf("servers.%d", i), "%v", err))
		}
	}
	if s.ConnectTimeout <= 0 {
		errs = append(errs, conf.Errorf("connect_timeout", "must be positive, got %s", s.ConnectTimeout))
	}
	if s.DataTimeout <= 0 {
		errs = append(errs, conf.Errorf("data_timeout", "must be positive, got %s", s.DataTimeout))
	}
	if !s.OnError.valid() {
		errs = append(errs, conf.Errorf("on_error", "unknown value %q (allowed: accept, tempfail, reject)", string(s.OnError)))
	}
	if s.SizeLimit < 0 {
		errs = append(errs, conf.Errorf("size_limit", "must not be negative"))
	}
	if strings.ContainsAny(s.DefaultDomain, "@ <>\t") {
		errs = append(errs, conf.Errorf("default_domain", "%q is not a domain name", s.DefaultDomain))
	}
	return errs
}

// OnError is what a client does with a message it could not have scanned.
type OnError string

// On-error policies.
const (
	OnErrorAccept   OnError = "accept"
	OnErrorTempFail OnError = "tempfail"
	OnErrorReject   OnError = "reject"
)

func (o OnError) valid() bool {
	return o == OnErrorAccept || o == OnErrorTempFail || o == OnErrorReject
}

// Size is a byte count written as a number or with a KB/MB/GB suffix
// (powers of 1024).
type Size int64

// ParseSize parses "512000", "500KB", "500k", "2MB", "1G".
func ParseSize(text string) (Size, error) {
	t := strings.ToUpper(strings.TrimSpace(text))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if s, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(s), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with KB, MB or GB", text)
	}
	return Size(n * mult), nil
}

// UnmarshalYAML accepts a number or a string with a unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// String formats the size in bytes.
func (s Size) String() string { return strconv.FormatInt(int64(s), 10) }

// Set implements flag.Value.
func (s *Size) Set(text string) error {
	v, err := ParseSize(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// fileView is the config file as a client sees it: the client section,
// every other top-level section accepted and ignored.
type fileView struct {
	Client Settings             `yaml:"client"`
	Other  map[string]yaml.Node `yaml:",inline"`
}

// LoadSettings reads the `client:` section of the config file at path over
// the defaults. Unknown keys inside `client:` are errors; other top-level
// sections are ignored. An empty path returns the defaults.
func LoadSettings(path string) (Settings, error) {
	s := DefaultSettings()
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read client config: %w", err)
	}
	return DecodeSettings(path, data)
}

// DecodeSettings is LoadSettings on bytes already read; name is used in
// error messages.
func DecodeSettings(name string, data []byte) (Settings, error) {
	v := fileView{Client: DefaultSettings()}
	if len(bytes.TrimSpace(data)) == 0 {
		return v.Client, nil
	}
	// A "client:" key whose value is empty would make yaml zero the struct.
	if err := conf.Decode(name, data, &v); err != nil {
		return DefaultSettings(), err
	}
	return v.Client, nil
}

// Flags binds the common client command-line flags to a FlagSet: -config
// and one flag per Settings field. Flags given on the command line override
// the file.
type Flags struct {
	fs      *flag.FlagSet
	config  string
	servers string
	connect time.Duration
	data    time.Duration
	onError string
	size    Size
	domain  string
}

// NewFlags registers -config, -server, -connect-timeout, -data-timeout,
// -on-error, -size-limit and -default-domain on fs.
func NewFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	d := DefaultSettings()
	fs.StringVar(&f.config, "config", "", "config file; its `client:` section is read, other sections are ignored")
	fs.StringVar(&f.servers, "server", "", "comma-separated scillad addresses, tcp:host:port or unix:/path (default "+strings.Join(d.Servers, ",")+")")
	fs.DurationVar(&f.connect, "connect-timeout", d.ConnectTimeout, "timeout for connecting to one scillad")
	fs.DurationVar(&f.data, "data-timeout", d.DataTimeout, "timeout for one scan on one scillad")
	fs.StringVar(&f.onError, "on-error", string(d.OnError), "what to do when no scillad could scan: accept, tempfail or reject")
	f.size = d.SizeLimit
	fs.Var(&f.size, "size-limit", "largest message scanned, bytes or with KB/MB suffix; bigger ones pass tagged Not processed")
	fs.StringVar(&f.domain, "default-domain", "", "domain appended to bare envelope addresses")
	return f
}

// ConfigPath returns the -config value.
func (f *Flags) ConfigPath() string { return f.config }

// Settings loads the config file named by -config (if any), then applies the
// flags that were set explicitly, then validates the result.
func (f *Flags) Settings() (Settings, error) {
	s, err := LoadSettings(f.config)
	if err != nil {
		return s, err
	}
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "server":
			s.Servers = splitList(f.servers)
		case "connect-timeout":
			s.ConnectTimeout = f.connect
		case "data-timeout":
			s.DataTimeout = f.data
		case "on-error":
			s.OnError = OnError(f.onError)
		case "size-limit":
			s.SizeLimit = f.size
		case "default-domain":
			s.DefaultDomain = f.domain
		}
	})
	var msgs []string
	for _, e := range s.Validate() {
		msgs = append(msgs, "client."+e.Error())
	}
	if len(msgs) > 0 {
		return s, fmt.Errorf("client settings: %s", strings.Join(msgs, "; "))
	}
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
