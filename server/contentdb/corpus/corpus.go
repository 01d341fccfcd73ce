// Package corpus reads labelled message lists: the SpamAssassin public corpus
// split used to build the default database and to measure accuracy
// (../shared/corpus/README.md), or any list of the same shape. A list holds
// paths relative to a root directory, one a line; a path whose first folder
// starts with "spam" is spam, anything else ham.
//
// It reads files only; fetching the corpus is the Makefile's job.
package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Item is one labelled message.
type Item struct {
	// Path is the list entry, relative to the root.
	Path string
	Spam bool
	// Raw is the message without a leading mbox "From " line.
	Raw []byte
}

// ErrNotFound means no corpus directory could be located.
var ErrNotFound = errors.New("corpus: not found (fetch it with `make corpus` or set SCILLA_CORPUS)")

// Locate returns the directory holding the corpus folders (easy-ham-1,
// spam-1...). It tries $SCILLA_CORPUS (itself or its package/data) and then
// ~/.cache/scilla/corpus/package/data.
func Locate() (string, error) {
	var cands []string
	if d := os.Getenv("SCILLA_CORPUS"); d != "" {
		cands = append(cands, filepath.Join(d, "package", "data"), d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, ".cache", "scilla", "corpus", "package", "data"))
	}
	for _, c := range cands {
		if st, err := os.Stat(filepath.Join(c, "spam-1")); err == nil && st.IsDir() {
			return c, nil
		}
	}
	return "", ErrNotFound
}

// ReadList reads a list file: one relative path a line; blank lines and
// lines starting with '#' are ignored.
func ReadList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read list: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if filepath.IsAbs(l) || strings.Contains(l, "..") {
			return nil, fmt.Errorf("read list %s: entry %q must be relative", path, l)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// IsSpam reports the label of a list entry from its first folder.
func IsSpam(rel string) bool {
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return strings.HasPrefix(first, "spam")
}

// StripFrom removes a leading mbox "From " line.
func StripFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
		return nil
	}
	return raw
}

// Load reads every message of the list under root.
func Load(root string, list []string) ([]Item, error) {
	items := make([]Item, 0, len(list))
	for _, rel := range list {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, fmt.Errorf("load corpus: %w", err)
		}
		items = append(items, Item{Path: rel, Spam: IsSpam(rel), Raw: StripFrom(raw)})
	}
	return items, nil
}

// LoadList reads a list file and its messages.
func LoadList(root, listPath string) ([]Item, error) {
	list, err := ReadList(listPath)
	if err != nil {
		return nil, err
	}
	return Load(root, list)
}
