package contentdb

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"

	"github.com/scilla-mail/scilla/internal/conf"
)

// Config is the "content" section of scillad's configuration.
type Config struct {
	// Dir is a content database directory to serve, installed by hand.
	// Empty serves the versions the updater installs under the state
	// directory (update.source) or else the database embedded in scillad.
	// A database that fails verification is refused and the previous one
	// keeps serving.
	Dir string `yaml:"dir"`
	// TrustedKeys are base64 ed25519 public keys of database publishers.
	// When any are listed, a database must carry a manifest signature by one
	// of them; when empty, unsigned databases are accepted.
	TrustedKeys []string `yaml:"trusted_keys"`
	// LearnFile is the local learning store (bbolt), relative to the state
	// directory unless absolute. Learned counts are added to the database's.
	LearnFile string `yaml:"learn_file"`
}

// DefaultConfig returns the defaults: embedded database, unsigned accepted,
// learning in <state>/learn.db.
func DefaultConfig() Config { return Config{LearnFile: "learn.db"} }

// Validate implements conf.Validator.
func (c *Config) Validate() []error {
	var errs []error
	for i, k := range c.TrustedKeys {
		if _, err := ParseKeys([]string{k}); err != nil {
			errs = append(errs, conf.Errorf(fmt.Sprintf("trusted_keys[%d]", i), "%v", err))
		}
	}
	if c.LearnFile == "" {
		errs = append(errs, conf.Errorf("learn_file", "must not be empty"))
	}
	return errs
}

// LearnPath returns the learning store's path for a state directory.
func (c *Config) LearnPath(stateDir string) string { return conf.StatePath(stateDir, c.LearnFile) }

// Open loads the configured database: Dir when set, else the embedded default.
func (c *Config) Open() (*DB, error) {
	if c.Dir == "" {
		return Default()
	}
	keys, err := ParseKeys(c.TrustedKeys)
	if err != nil {
		return nil, err
	}
	return LoadDir(c.Dir, keys)
}

// ParseKeys decodes base64 ed25519 public keys.
func ParseKeys(ss []string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("trusted key %q: want base64 of a %d-byte ed25519 public key", s, ed25519.PublicKeySize)
		}
		out = append(out, ed25519.PublicKey(b))
	}
	return out, nil
}
