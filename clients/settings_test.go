package clients

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    func(*Settings)
		wantErr string
	}{
		{name: "empty file gives defaults", yaml: "", want: func(*Settings) {}},
		{name: "other sections ignored", yaml: "server:\n  listen: [\"tcp:127.0.0.1:1\"]\n  whatever: 3\npool: {max_workers: 3}\n", want: func(*Settings) {}},
		{name: "full client section", yaml: `
server: {listen: ["tcp:127.0.0.1:2277"]}
client:
  servers: ["tcp:10.0.0.1:2277", "unix:/run/scilla.sock"]
  connect_timeout: 2s
  data_timeout: 1m
  on_error: accept
  size_limit: 2MB
  default_domain: example.com
`, want: func(s *Settings) {
			s.Servers = []string{"tcp:10.0.0.1:2277", "unix:/run/scilla.sock"}
			s.ConnectTimeout, s.DataTimeout = 2*time.Second, time.Minute
			s.OnError, s.SizeLimit, s.DefaultDomain = OnErrorAccept, 2<<20, "example.com"
		}},
		{name: "numeric size", yaml: "client:\n  size_limit: 1000\n", want: func(s *Settings) { s.SizeLimit = 1000 }},
		{name: "unknown key in client is an error", yaml: "client:\n  severs: [x]\n", wantErr: `cfg.yaml:2: unknown key "severs"`},
		{name: "bad values reported with line", yaml: "client:\n  servers: [\"http://x\"]\n  on_error: maybe\n",
			wantErr: "cfg.yaml:2: client.servers.0: address \"http://x\""},
		{name: "bad on_error", yaml: "client:\n  on_error: maybe\n", wantErr: "cfg.yaml:2: client.on_error: unknown value \"maybe\""},
		{name: "bad size", yaml: "client:\n  size_limit: lots\n", wantErr: "size \"lots\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSettings("cfg.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultSettings()
			tt.want(&want)
			if strings.Join(got.Servers, ",") != strings.Join(want.Servers, ",") || got.ConnectTimeout != want.ConnectTimeout ||
				got.DataTimeout != want.DataTimeout || got.OnError != want.OnError || got.SizeLimit != want.SizeLimit || got.DefaultDomain != want.DefaultDomain {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scilla.yaml")
	if err := os.WriteFile(path, []byte("client:\n  servers: [\"tcp:127.0.0.1:1\"]\n  on_error: reject\n  size_limit: 10KB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := NewFlags(fs)
	if err := fs.Parse([]string{"-config", path, "-server", "tcp:127.0.0.1:2, unix:/tmp/s", "-on-error", "accept"}); err != nil {
		t.Fatal(err)
	}
	s, err := f.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Servers, ","); got != "tcp:127.0.0.1:2,unix:/tmp/s" {
		t.Errorf("servers = %s", got)
	}
	if s.OnError != OnErrorAccept {
		t.Errorf("on_error = %s, want flag value accept", s.OnError)
	}
	if s.SizeLimit != 10<<10 {
		t.Errorf("size_limit = %d, want the file's 10KB (flag not given)", s.SizeLimit)
	}

	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	f = NewFlags(fs)
	_ = fs.Parse([]string{"-on-error", "sometimes"})
	if _, err := f.Settings(); err == nil || !strings.Contains(err.Error(), "on_error") {
		t.Errorf("bad flag value: err = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "512000": 512000, "500KB": 512000, "500k": 512000, "2MB": 2 << 20, "1G": 1 << 30, " 7 B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "KB", "1.5MB", "ten"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

// TestDocsListEverySetting keeps docs/clients.md in step with Settings and
// the flags: every yaml key and every flag must appear there.
func TestDocsListEverySetting(t *testing.T) {
	doc, err := os.ReadFile("../docs/clients.md")
	if err != nil {
		t.Fatal(err)
	}
	st := reflect.TypeOf(Settings{})
	for i := 0; i < st.NumField(); i++ {
		key := strings.Split(st.Field(i).Tag.Get("yaml"), ",")[0]
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/clients.md does not document client.%s", key)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	NewFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(string(doc), "`-"+f.Name) {
			t.Errorf("docs/clients.md does not document -%s", f.Name)
		}
	})
}
