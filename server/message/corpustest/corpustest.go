// Package corpustest loads the SpamAssassin public corpus for tests and
// benchmarks (see ../shared/corpus/README.md). The messages come from
// $SCILLA_CORPUS or ~/.cache/scilla/corpus/package/data; the split lists
// from the shared/corpus folder beside the repository. Tests that need the
// corpus skip with a message when it is absent; .ci/install.d/20-corpus.sh
// fetches it.
package corpustest

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Message is one corpus message.
type Message struct {
	// Path is relative to the data folder, e.g. "spam-2/00001.txt".
	Path string
	// Spam is true for the spam folders.
	Spam bool
	// Raw is the message without its mbox "From " line.
	Raw []byte
}

// Dir returns the corpus data folder, "" when it is absent.
func Dir() string {
	dirs := []string{os.Getenv("SCILLA_CORPUS")}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "scilla", "corpus", "package", "data"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "spam-2")); err == nil && st.IsDir() {
			return d
		}
		if st, err := os.Stat(filepath.Join(d, "package", "data", "spam-2")); err == nil && st.IsDir() {
			return filepath.Join(d, "package", "data")
		}
	}
	return ""
}

// Load returns the messages of a split ("train", "test") or, for "all",
// every message of the corpus. It skips the test when the corpus is absent.
func Load(tb testing.TB, split string) []Message {
	tb.Helper()
	dir := Dir()
	if dir == "" {
		tb.Skip("SpamAssassin corpus absent: run .ci/install.d/20-corpus.sh or set SCILLA_CORPUS")
	}
	names, err := list(dir, split)
	if err != nil {
		tb.Fatalf("corpus split %s: %v", split, err)
	}
	out := make([]Message, 0, len(names))
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			tb.Fatalf("read corpus message: %v", err)
		}
		out = append(out, Message{Path: n, Spam: strings.HasPrefix(n, "spam"), Raw: StripFromLine(raw)})
	}
	return out
}

// StripFromLine removes a leading mbox "From " line.
func StripFromLine(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

func list(dir, split string) ([]string, error) {
	if split != "all" {
		if f := splitFile(split); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, l := range strings.Split(string(b), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					names = append(names, l)
				}
			}
			return names, nil
		}
	}
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.Contains(rel, string(filepath.Separator)) {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// splitFile finds the split list: the repository's copy in
// updater/db-src/<split>.txt, else shared/corpus/<split>.txt beside the
// repository root.
func splitFile(split string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			for _, f := range []string{
				filepath.Join(d, "updater", "db-src", split+".txt"),
				filepath.Join(filepath.Dir(d), "shared", "corpus", split+".txt"),
			} {
				if _, err := os.Stat(f); err == nil {
					return f
				}
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
