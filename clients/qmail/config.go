package qmail

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/internal/conf"
)

// DefaultConfigPath is the only config file scilla-qmail reads when it runs
// setuid: a caller must not be able to point it at a file of its own.
const DefaultConfigPath = "/etc/scilla/scilla.yaml"

// Config is the `qmail:` section of the Scilla config file.
type Config struct {
	// Queue is the path of the original qmail-queue that scilla-qmail hands
	// the message to: the renamed binary when scilla-qmail replaced
	// qmail-queue, /var/qmail/bin/qmail-queue when it is called through
	// QMAILQUEUE.
	Queue string `yaml:"queue"`
	// CustomError is how a refusal is reported: "auto" writes the reply text
	// to descriptor 6 and exits 82 when descriptor 6 is an open pipe (a
	// qmail-smtpd with the qmail-queue custom error patch), else exits 31 or
	// 71; "on" always uses descriptor 6; "off" never does.
	CustomError string `yaml:"custom_error"`
	// RemoteInfoIsAuthUser passes TCPREMOTEINFO as the authenticated user.
	// Turn it on only when an SMTP AUTH patch sets TCPREMOTEINFO to the
	// authenticated name; otherwise it is an ident (RFC 1413) answer that
	// the remote host chooses, and is passed as nothing.
	RemoteInfoIsAuthUser bool `yaml:"remoteinfo_is_auth_user"`
	// Timeout bounds the whole run: reading, scanning and every run of the
	// original qmail-queue. Past it scilla-qmail exits 52.
	Timeout time.Duration `yaml:"timeout"`
	// MaxMessage is the largest message scilla-qmail holds ("64MB"); a
	// bigger one is refused with exit 51 (out of memory). Set it above
	// qmail-smtpd's databytes. Messages over the client size_limit but
	// under this pass unscanned, tagged Not processed.
	MaxMessage clients.Size `yaml:"max_message"`
	// BounceHost is the host part of the MAILER-DAEMON address of the
	// bounces scilla-qmail queues for recipients whose group rejected the
	// message while others accepted it. Empty means the host name.
	BounceHost string `yaml:"bounce_host"`
}

// DefaultConfig returns the defaults: the original at
// /var/qmail/bin/qmail-queue.orig, custom error auto, TCPREMOTEINFO not
// trusted, 1 h timeout, 64 MB message limit.
func DefaultConfig() Config {
	return Config{
		Queue:       "/var/qmail/bin/qmail-queue.orig",
		CustomError: "auto",
		Timeout:     time.Hour,
		MaxMessage:  64 << 20,
	}
}

// Validate reports every problem in c.
func (c *Config) Validate() []error {
	var errs []error
	if c.Queue == "" || !filepath.IsAbs(c.Queue) {
		errs = append(errs, conf.Errorf("queue", "want the absolute path of the original qmail-queue, got %q", c.Queue))
	}
	switch c.CustomError {
	case "auto", "on", "off":
	default:
		errs = append(errs, conf.Errorf("custom_error", "unknown value %q (allowed: auto, on, off)", c.CustomError))
	}
	if c.Timeout <= 0 {
		errs = append(errs, conf.Errorf("timeout", "must be positive, got %s", c.Timeout))
	}
	if c.MaxMessage <= 0 {
		errs = append(errs, conf.Errorf("max_message", "must be positive"))
	}
	return errs
}

// fileView is the config file as scilla-qmail sees it.
type fileView struct {
	Qmail Config               `yaml:"qmail"`
	Other map[string]yaml.Node `yaml:",inline"`
}

// LoadConfig reads the `qmail:` section of the file at path over the
// defaults; other sections are ignored. A missing file gives the defaults
// when missingOK.
func LoadConfig(path string, missingOK bool) (Config, error) {
	v := fileView{Qmail: DefaultConfig()}
	data, err := os.ReadFile(path)
	if err != nil {
		if missingOK && os.IsNotExist(err) {
			return v.Qmail, nil
		}
		return v.Qmail, fmt.Errorf("read qmail config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return v.Qmail, nil
	}
	if err := conf.Decode(path, data, &v); err != nil {
		return DefaultConfig(), err
	}
	return v.Qmail, nil
}
