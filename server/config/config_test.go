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
	if !reflect.DeepEqual(c.Server, Default().Server) || c.Pool != Default().Pool || c.Scan != Default().Scan {
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
