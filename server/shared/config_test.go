package shared

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/internal/conf"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "redis.pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		// want is a part of the error ("" = valid).
		want string
	}{
		{"off by default", "", ""},
		{"host and port", "address: 10.0.0.5:6379", ""},
		{"unix socket", "address: unix:/run/redis/redis.sock", ""},
		{"password file", "address: r:6379\npassword_file: " + pw, ""},
		{"tls", "address: r:6380\ntls: true", ""},
		{"no port", "address: redis.example.com", "redis.address: \"redis.example.com\": want HOST:PORT or unix:/PATH"},
		{"tcp: prefix is not the redis syntax", "address: tcp:r:6379", "want HOST:PORT or unix:/PATH"},
		{"relative unix path", "address: unix:redis.sock", "want unix:/PATH"},
		{"tls on a unix socket", "address: unix:/run/r.sock\ntls: true", "redis.tls: not for a unix socket address"},
		{"missing password file", "address: r:6379\npassword_file: " + filepath.Join(dir, "none"), "redis.password_file:"},
		{"ca without tls", "address: r:6379\nca_file: " + pw, "redis.ca_file: needs tls: true"},
		{"negative db", "db: -1", "redis.db: must be 0..1023"},
		{"prefix with a space", "key_prefix: \"a b\"", "redis.key_prefix:"},
		{"timeout too short", "timeout: 1ms", "redis.timeout: 1ms: want between 10ms and 1m"},
		{"sync too rare", "sync_interval: 2h", "redis.sync_interval: 2h0m0s: want between 100ms and 1h"},
		{"sentinel", "sentinel:\n  master: mymaster\n  addresses: [10.0.0.5:26379, 10.0.0.6:26379]\n  password_file: " + pw, ""},
		{"sentinel and address", "address: r:6379\nsentinel:\n  master: m\n  addresses: [s:26379]", "redis.sentinel.master: set address or sentinel, not both"},
		{"sentinel without master", "sentinel:\n  addresses: [s:26379]", "redis.sentinel.master: must name the master"},
		{"sentinel without addresses", "sentinel:\n  master: m", "redis.sentinel.addresses: must list at least one sentinel"},
		{"sentinel address without port", "sentinel:\n  master: m\n  addresses: [s:26379, s2]", "redis.sentinel.addresses[1]: \"s2\": want HOST:PORT"},
		{"missing sentinel password file", "sentinel:\n  master: m\n  addresses: [s:26379]\n  password_file: " + filepath.Join(dir, "none"), "redis.sentinel.password_file:"},
		{"unknown key", "adress: r:6379", "unknown key \"adress\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root struct {
				Redis Config `yaml:"redis"`
			}
			root.Redis = DefaultConfig()
			body := "redis:\n  " + strings.ReplaceAll(tt.yaml, "\n", "\n  ") + "\n"
			if tt.yaml == "" {
				body = ""
			}
			err := conf.Decode("scillad.yaml", []byte(body), &root)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid config refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "scillad.yaml:"):
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestNewReadsPasswordFile(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Address, c.PasswordFile, c.KeyPrefix = "127.0.0.1:1", pw, "site1:"
	cl, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := cl.Redis().Options().Password; got != "s3cret" {
		t.Errorf("password %q, want the file's content without the newline", got)
	}
	if got := cl.Key("bayes", "domains"); got != "site1:bayes:domains" {
		t.Errorf("key %q", got)
	}
	if st := cl.Status(); st.Reachable || !st.LastSync.IsZero() {
		t.Errorf("status before any sync: %+v", st)
	}
}
