package postfixtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Snippet returns the lines of deploy/postfix/NAME without comments and
// blank lines, with each old string of repl (old, new, old, new...)
// replaced, so the end-to-end tests run the documented configuration with
// only ports and paths changed.
func Snippet(t testing.TB, name string, repl ...string) []string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "postfix", name))
	if err != nil {
		t.Fatalf("read snippet: %v", err)
	}
	r := strings.NewReplacer(repl...)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		out = append(out, r.Replace(l))
	}
	return out
}

// MainSnippet is Snippet for main.cf fragments: "key = value" lines as a
// map.
func MainSnippet(t testing.TB, name string, repl ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range Snippet(t, name, repl...) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("snippet %s: not key = value: %q", name, l)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}
