package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestKeygenIssueVerify(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "issuer")
	if code, _, errOut := runCmd(t, "keygen", "-out", prefix); code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	if fi, err := os.Stat(prefix + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	if code, _, errOut := runCmd(t, "keygen", "-out", prefix); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("keygen over an existing key: %d %q, want a refusal", code, errOut)
	}
	key := filepath.Join(dir, "customer.key")
	code, _, errOut := runCmd(t, "issue", "-issuer-key", prefix+".key", "-serial", "SC-9", "-licensee", "Example Ltd",
		"-issued", "2026-01-01", "-expires", "2030-01-01", "-mailboxes", "500", "-daily-traffic", "20GiB", "-out", key)
	if code != 0 {
		t.Fatalf("issue: %d %s", code, errOut)
	}
	code, out, errOut := runCmd(t, "verify", "-issuer-file", prefix+".pub", "-at", "2027-06-01", key)
	if code != 0 {
		t.Fatalf("verify: %d %s", code, errOut)
	}
	for _, want := range []string{"valid commercial licence key", "SC-9", "Example Ltd", "until 2030-01-01T00:00:00Z", "mailboxes:  500", "daily:      20 GiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown issuer", []string{"verify", key}, 1, "does not trust"},
		{"expired", []string{"verify", "-issuer-file", prefix + ".pub", "-at", "2031-01-01", key}, 1, "has expired"},
		{"not yet valid", []string{"verify", "-issuer-file", prefix + ".pub", "-at", "2025-01-01", key}, 1, "not valid yet"},
		{"both validities", []string{"issue", "-issuer-key", prefix + ".key", "-serial", "X", "-licensee", "Y", "-expires", "2030-01-01", "-period", "30d"}, 2, "exactly one of -expires and -period"},
		{"bad size", []string{"issue", "-issuer-key", prefix + ".key", "-serial", "X", "-licensee", "Y", "-period", "30d", "-daily-traffic", "lots"}, 2, "not a size"},
		{"unknown command", []string{"sign"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}

	data, _ := os.ReadFile(key)
	tampered := filepath.Join(dir, "tampered.key")
	os.WriteFile(tampered, bytes.Replace(data, []byte("Mailboxes: 500"), []byte("Mailboxes: 900"), 1), 0o644)
	if code, _, errOut := runCmd(t, "verify", "-issuer-file", prefix+".pub", "-at", "2027-06-01", tampered); code != 1 || !strings.Contains(errOut, "signature does not match") {
		t.Errorf("tampered: %d %q", code, errOut)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "1234": 1234, "20GiB": 20 << 30, "500MB": 500e6, "1 KiB": 1024, "7B": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GB", "GiB", "99999999999999TiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
