package message

import (
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the `analysis` section of the server configuration: the limits
// the message parser works within. Whatever goes past a limit is not parsed
// and is scored as an anomaly; the message is still rated.
type Config struct {
	// MaxDepth is the deepest MIME nesting followed (multipart and attached
	// messages each add a level). 1..1000, default 20.
	MaxDepth int `yaml:"max_depth"`
	// MaxParts is the most MIME parts parsed in one message. 1..100000,
	// default 500.
	MaxParts int `yaml:"max_parts"`
	// MaxHeaderBytes is the most header bytes kept per MIME entity; a
	// longer header is cut and scored. 1 KiB..16 MiB, default 256 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxSize is the most bytes of a message looked at. 64 KiB..1 GiB,
	// default 32 MiB.
	MaxSize int `yaml:"max_size"`
	// MaxDecodedBytes bounds what base64, quoted-printable and compressed
	// attachments (.docx) may expand to in one message. 64 KiB..1 GiB,
	// default 32 MiB.
	MaxDecodedBytes int `yaml:"max_decoded_bytes"`
	// MaxTextBytes is the most text kept for the checks (the whole message
	// and each part). 4 KiB..64 MiB, default 1 MiB.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// Timeout bounds the time spent parsing one message, within the scan
	// deadline. 10ms..1m, default 2s.
	Timeout conf.Duration `yaml:"timeout"`
}

// DefaultConfig returns the section with DefaultLimits.
func DefaultConfig() Config {
	l := DefaultLimits
	return Config{
		MaxDepth: l.MaxDepth, MaxParts: l.MaxParts, MaxHeaderBytes: l.MaxHeaderBytes,
		MaxSize: l.MaxSize, MaxDecodedBytes: l.MaxDecodedBytes, MaxTextBytes: l.MaxTextBytes,
		Timeout: conf.Duration(l.Timeout),
	}
}

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	check := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, conf.Errorf(key, "must be %d..%d, got %d", lo, hi, v))
		}
	}
	check("max_depth", c.MaxDepth, 1, 1000)
	check("max_parts", c.MaxParts, 1, 100000)
	check("max_header_bytes", c.MaxHeaderBytes, 1<<10, 16<<20)
	check("max_size", c.MaxSize, 64<<10, 1<<30)
	check("max_decoded_bytes", c.MaxDecodedBytes, 64<<10, 1<<30)
	check("max_text_bytes", c.MaxTextBytes, 4<<10, 64<<20)
	if d := c.Timeout.D(); d < 10*time.Millisecond || d > time.Minute {
		errs = append(errs, conf.Errorf("timeout", "must be 10ms..1m, got %s", d))
	}
	return errs
}

// Limits returns the parser limits the section describes.
func (c *Config) Limits() Limits {
	return Limits{
		MaxDepth: c.MaxDepth, MaxParts: c.MaxParts, MaxHeaderBytes: c.MaxHeaderBytes,
		MaxSize: c.MaxSize, MaxDecodedBytes: c.MaxDecodedBytes, MaxTextBytes: c.MaxTextBytes,
		Timeout: c.Timeout.D(),
	}
}
