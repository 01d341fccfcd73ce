package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestDefaultsAreValid(t *testing.T) {
	if _, err := Load(""); err != nil {
		t.Fatalf("embedded defaults invalid: %v", err)
	}
}

// TestExampleConfig keeps deploy/scillad.yaml loadable and equal to the defaults.
func TestExampleConfig(t *testing.T) {
	c, err := Load("../../deploy/scillad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Server, Default().Server) || c.Pool != Default().Pool || c.Scan != Default().Scan || c.Update != Default().Update {
		t.Errorf("deploy/scillad.yaml no longer shows the defaults:\n got %+v\nwant %+v", c, Default())
	}
}

// TestReferenceCoversEveryKey checks that every key of the config structs
// appears in the example config and the README reference, so the
// documentation cannot drift from the code.
func TestReferenceCoversEveryKey(t *testing.T) {
	example, err := os.ReadFile("../../deploy/scillad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys(reflect.TypeOf(Config{}), "") {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !regexp.MustCompile(`(?m)^\s*` + leaf + `:`).Match(example) {
			t.Errorf("deploy/scillad.yaml does not show %s", key)
		}
		if !strings.Contains(string(readme), "`"+key+"`") {
			t.Errorf("README.md config reference does not document `%s`", key)
		}
	}
}

func keys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || tag == "client" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type.Name() != "Node" {
			out = append(out, keys(f.Type, key)...)
			continue
		}
		out = append(out, key)
	}
	return out
}

// TestUpdateSection: the update section is validated like the others, and
// a source needs trusted keys.
func TestUpdateSection(t *testing.T) {
	const key = "content:\n  trusted_keys: [\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"]\n"
	cases := []struct {
		name, body string
		want       []string // substrings of the error; none = valid
	}{
		{"off by default", "", nil},
		{"https source", key + "update:\n  source: https://db.example.com/scilla/\n", nil},
		{"directory source with proxy and interval", key + "update:\n  source: /srv/scilla-db\n  interval: 1h\n  proxy: http://proxy.example.com:3128\n  timeout: 1m\n", nil},
		{"source without trusted keys", "update:\n  source: https://db.example.com/\n", []string{":2: update.source: needs content.trusted_keys"}},
		{"source with content.dir", key + "  dir: /srv/db\nupdate:\n  source: https://db.example.com/\n", []string{"update.source: and content.dir exclude each other"}},
		{"relative directory", key + "update:\n  source: srv/db\n", []string{":4: update.source: \"srv/db\" is a relative path"}},
		{"interval too short", key + "update:\n  source: /srv/db\n  interval: 30s\n", []string{":5: update.interval: 30s: want between 1m and 168h"}},
		{"bad proxy", key + "update:\n  source: /srv/db\n  proxy: ftp://x\n", []string{":5: update.proxy:"}},
		{"bad timeout", key + "update:\n  timeout: 0s\n", []string{"update.timeout: 0s"}},
		{"unknown key", "update:\n  sources: x\n", []string{`unknown key "sources"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir() + "/scillad.yaml"
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file and say %q", err, w)
				}
			}
		})
	}
}
