package dns

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/conf"
)

type mainConfig struct {
	DNS Config `yaml:"dns"`
}

func TestConfigDecode(t *testing.T) {
	doc := "dns:\n  enabled: true\n  nameservers: [\"127.0.0.1\", \"[::1]:5353\"]\n  timeout: 500ms\n  deadline: 4s\n" +
		"  received_headers_to_parse: 2\n  trusted_relays: [\"192.0.2.0/24\"]\n"
	c := mainConfig{DNS: DefaultConfig()}
	if err := conf.Decode("scillad.yaml", []byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if !c.DNS.Enabled || c.DNS.Timeout.D() != 500*time.Millisecond || c.DNS.Deadline.D() != 4*time.Second ||
		c.DNS.Retries != 2 || len(c.DNS.TrustedPrefixes()) != 1 {
		t.Errorf("decoded %+v", c.DNS)
	}
	bad := "dns:\n  nameservers: [\"ns1\"]\n  retries: 11\n  trusted_authserv_ids: [\"mx.example.org\", \"mx; evil\"]\n"
	c = mainConfig{DNS: DefaultConfig()}
	err := conf.Decode("scillad.yaml", []byte(bad), &c)
	if err == nil || !strings.Contains(err.Error(), `scillad.yaml:2: dns.nameservers: entry 1: nameserver "ns1"`) ||
		!strings.Contains(err.Error(), "scillad.yaml:3: dns.retries: must be between 0 and 10") ||
		!strings.Contains(err.Error(), `scillad.yaml:4: dns.trusted_authserv_ids: entry 2: must be a host name`) {
		t.Errorf("err = %v", err)
	}
}

// TestDocsListEveryKey keeps docs/dns.md in step with Config.
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/dns.md")
	if err != nil {
		t.Fatal(err)
	}
	ty := reflect.TypeOf(Config{})
	for i := 0; i < ty.NumField(); i++ {
		key := strings.Split(ty.Field(i).Tag.Get("yaml"), ",")[0]
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("docs/dns.md does not document dns.%s", key)
		}
	}
}

func TestOpen(t *testing.T) {
	c := DefaultConfig()
	c.Nameservers = []string{"127.0.0.1:1"}
	r, err := Open(c, nil)
	if r != nil || err != nil {
		t.Errorf("disabled: Open = %v, %v; want nil, nil", r, err)
	}
	r.Close()
	c.Enabled = true
	r, err = Open(c, nil)
	if r == nil || err != nil {
		t.Fatalf("enabled: Open = %v, %v", r, err)
	}
	r.Close()
	c.Retries = -1
	if _, err := Open(c, nil); err == nil {
		t.Error("invalid config accepted")
	}
}

func TestSystemNameservers(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(path, []byte("# local\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := systemNameservers(path)
	if err != nil || strings.Join(got, " ") != "127.0.0.53:53 [::1]:53" {
		t.Errorf("systemNameservers = %v, %v", got, err)
	}
	os.WriteFile(path, []byte("search example.com\n"), 0o644)
	if _, err := systemNameservers(path); err == nil {
		t.Error("a resolv.conf without nameservers accepted")
	}
}
