package cgp

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `cgp:` section of the Scilla config file. The comments
// name the setting of the seed product each key replaces.
type Config struct {
	// SubmittedFolder (CGProSubmittedFolder) is CommuniGate's Submitted
	// directory, where modified copies are resubmitted. A relative path is
	// taken from the CommuniGate base directory, the helper's working
	// directory.
	SubmittedFolder string `yaml:"submitted_folder"`
	// MaxThreadCount (CGProMaxThreadCount) is the number of messages scanned
	// at once; further FILE requests wait. Match it to the number of
	// ENQUEUER processors.
	MaxThreadCount int `yaml:"max_thread_count"`
	// LoopHeader (CGProLoopHeader) is the header that marks a copy the
	// helper resubmitted, so it passes with OK instead of being scanned
	// again. Incoming copies that do not carry a valid signature are
	// stripped and the message scanned.
	LoopHeader string `yaml:"loop_header"`
	// AllTransports (CGProAllTransports) scans messages from every source
	// (PIPE, RULE, WebUser, ...). Off: only messages received by SMTP (and
	// queue files that do not name their source) are scanned.
	AllTransports bool `yaml:"all_transports"`
	// LoopKeyFile holds the secret that signs the loop header; it is
	// created (mode 0600) on first start.
	LoopKeyFile string `yaml:"loop_key_file"`
	// LoopMaxAge is how long a loop header stays valid: the time a
	// resubmitted copy may wait in CommuniGate's queue.
	LoopMaxAge time.Duration `yaml:"loop_max_age"`
	// MaxMessage is the largest queue file message read; bigger ones pass
	// tagged Not processed. The client size_limit applies below it.
	MaxMessage clients.Size `yaml:"max_message"`
	// BounceHost names this server in bounces for recipients whose group
	// rejected a message that others accepted. Empty: the host name.
	BounceHost string `yaml:"bounce_host"`
}

// DefaultConfig returns Submitted (relative to the base directory), 10
// threads, X-Scilla-Loop, SMTP only, /var/lib/scilla/cgp-loop.key, 24 h,
// 64 MB.
func DefaultConfig() Config {
	return Config{
		SubmittedFolder: "Submitted",
		MaxThreadCount:  10,
		LoopHeader:      "X-Scilla-Loop",
		LoopKeyFile:     "/var/lib/scilla/cgp-loop.key",
		LoopMaxAge:      24 * time.Hour,
		MaxMessage:      64 << 20,
	}
}

// Validate reports every problem in c.
func (c *Config) Validate() []error {
	var errs []error
	if c.SubmittedFolder == "" {
		errs = append(errs, conf.Errorf("submitted_folder", "must not be empty"))
	}
	if c.MaxThreadCount < 1 || c.MaxThreadCount > 1000 {
		errs = append(errs, conf.Errorf("max_thread_count", "want 1..1000, got %d", c.MaxThreadCount))
	}
	if c.LoopHeader == "" || strings.ContainsAny(c.LoopHeader, ": \t\r\n") {
		errs = append(errs, conf.Errorf("loop_header", "%q is not a header name", c.LoopHeader))
	}
	if c.LoopKeyFile == "" {
		errs = append(errs, conf.Errorf("loop_key_file", "must not be empty"))
	}
	if c.LoopMaxAge <= 0 {
		errs = append(errs, conf.Errorf("loop_max_age", "must be positive, got %s", c.LoopMaxAge))
	}
	if c.MaxMessage <= 0 {
		errs = append(errs, conf.Errorf("max_message", "must be positive"))
	}
	return errs
}

type fileView struct {
	CGP   Config               `yaml:"cgp"`
	Other map[string]yaml.Node `yaml:",inline"`
}

// LoadConfig reads the `cgp:` section of the file at path over the
// defaults; other sections are ignored. An empty path gives the defaults.
func LoadConfig(path string) (Config, error) {
	v := fileView{CGP: DefaultConfig()}
	if path == "" {
		return v.CGP, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return v.CGP, fmt.Errorf("read cgp config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return v.CGP, nil
	}
	if err := conf.Decode(path, data, &v); err != nil {
		return DefaultConfig(), err
	}
	return v.CGP, nil
}
