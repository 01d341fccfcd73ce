package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebSection: the web section is validated like the others; the
// console needs the admin token to sign in with.
func TestWebSection(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "admin.token")
	cert := filepath.Join(dir, "web.crt")
	for _, f := range []string{token, cert} {
		if err := os.WriteFile(f, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	admin := "admin:\n  token_file: " + token + "\n"
	cases := []struct {
		name, body string
		want       string // a substring of the error; "" = valid
	}{
		{"off by default", "", ""},
		{"loopback", admin + "web:\n  listen: 127.0.0.1:9278\n", ""},
		{"every interface", admin + "web:\n  listen: \":9278\"\n", ""},
		{"IPv6 loopback", admin + "web:\n  listen: \"[::1]:9278\"\n", ""},
		{"no port", admin + "web:\n  listen: 127.0.0.1\n", `:4: web.listen: "127.0.0.1": want HOST:PORT (e.g. 127.0.0.1:9278) or empty (off)`},
		{"port not a number", admin + "web:\n  listen: 127.0.0.1:http\n", `:4: web.listen: "127.0.0.1:http": want HOST:PORT`},
		{"port too big", admin + "web:\n  listen: 127.0.0.1:70000\n", `web.listen: "127.0.0.1:70000": want HOST:PORT`},
		{"no token file", "web:\n  listen: 127.0.0.1:9278\n", ":2: web.listen: needs admin.token_file: the console signs in with the admin token"},
		{"cert without key", admin + "web:\n  listen: 127.0.0.1:9278\n  tls:\n    cert_file: " + cert + "\n", ":6: web.tls.cert_file: cert_file and key_file go together"},
		{"missing cert file", admin + "web:\n  listen: 127.0.0.1:9278\n  tls:\n    cert_file: " + cert + ".gone\n    key_file: " + cert + "\n", "web.tls.cert_file: stat " + cert + ".gone: no such file"},
		{"client CA without cert", admin + "web:\n  listen: 127.0.0.1:9278\n  tls:\n    client_ca_file: " + cert + "\n", "web.tls.client_ca_file: needs cert_file and key_file"},
		{"unknown key", "web:\n  address: 127.0.0.1:9278\n", `unknown key "address"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "scillad.yaml")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v does not name the file and say %q", err, c.want)
			}
		})
	}
}

func TestWebLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:9278": true, "[::1]:9278": true, "localhost:9278": true, "127.0.0.2:1": true,
		":9278": false, "0.0.0.0:9278": false, "192.0.2.1:9278": false, "[::]:9278": false, "mail.example.com:9278": false,
	} {
		if got := (&Web{Listen: listen}).Loopback(); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", listen, got, want)
		}
	}
}
