package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/licensing"
)

// TestLicenseOffline: with scillad stopped, `scilla license` works on the
// state directory, trusting the issuers of the config file's license section.
func TestLicenseOffline(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	privFile, pub, err := licensing.GenerateIssuer()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := licensing.ParsePrivateKey(privFile)
	cfg := filepath.Join(dir, "scilla.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("server:\n  listen: [\"tcp:127.0.0.1:1\"]\nlicense:\n  issuers: [%q]\n", pub)), 0o600)
	writeKey := func(serial string) string {
		k, err := licensing.Sign(licensing.Key{Product: licensing.Product, Serial: serial, Type: licensing.Commercial, Licensee: "Offline Ltd",
			Issued: time.Now().Add(-time.Hour), Expires: time.Now().AddDate(1, 0, 0), MaxMailboxes: 25}, priv)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, serial+".key")
		os.WriteFile(p, k, 0o644)
		return p
	}
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := runLicense(append(args, "--state-dir", state, "--config", cfg), &out, &out)
		return code, out.String()
	}

	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"install", writeKey("SC-OFF-1")}, 0, []string{"not running", "installed key SC-OFF-1 as the active key", "limits:    25 protected mailboxes"}},
		{[]string{"install", writeKey("SC-OFF-2")}, 0, []string{"installed key SC-OFF-2 as the reserve key", "reserve:   SC-OFF-2 (reserve commercial key"}},
		{[]string{"install", writeKey("SC-OFF-3")}, 1, []string{"remove the reserve key first"}},
		{[]string{"info"}, 0, []string{"state:     active: commercial key SC-OFF-1 for Offline Ltd", "usage:     0 protected mailboxes"}},
		{[]string{"remove", "--reserve"}, 0, []string{"removed 1 key file(s)", "reserve:   none"}},
		{[]string{"remove", "--all"}, 0, []string{"removed 1 key file(s)", "no licence: no key installed"}},
		{[]string{"remove"}, 2, []string{"bad arguments"}},
		{[]string{"install"}, 2, []string{"bad arguments"}},
	}
	for _, tt := range tests {
		code, out := run(tt.args...)
		if code != tt.code {
			t.Errorf("scilla license %v: exit %d, want %d\n%s", tt.args, code, tt.code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("scilla license %v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}
