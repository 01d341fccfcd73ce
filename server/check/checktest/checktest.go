// Package checktest runs a check through the real engine on the messages
// in a package's testdata and compares the verdict with golden files
// (testdata/golden/<message>[.<variant>].golden). Run the tests with
// -update to rewrite the golden files after a deliberate change.
package checktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/internal/golden"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

// Variant changes the default settings for one run; nil keeps them.
type Variant func(*policy.Settings)

// Scan runs the checks through the engine on raw with the default policy
// changed by v, for one recipient. The envelope sender is the message's
// Return-Path, as the MTA would have seen it.
func Scan(tb testing.TB, checks []engine.Check, raw []byte, v Variant) *engine.GroupVerdict {
	tb.Helper()
	_, gv := ScanVerdict(tb, checks, raw, v)
	return gv
}

// ScanVerdict is Scan returning the whole verdict too.
func ScanVerdict(tb testing.TB, checks []engine.Check, raw []byte, v Variant) (*engine.Verdict, *engine.GroupVerdict) {
	tb.Helper()
	p := policy.Default()
	if v != nil {
		s := *p.All().Settings
		v(&s)
		p.All().Settings = &s
	}
	env := &engine.Envelope{Rcpts: []string{"user@example.org"}}
	hdr := message.Parse(raw, message.DefaultLimits).Header
	if to := hdr.Get("Delivered-To"); to != "" { // the recipient, as the MTA wrote it
		env.Rcpts = []string{strings.TrimSpace(to)}
	}
	if rp := hdr.Get("Return-Path"); rp != "" {
		env.MailFrom = strings.Trim(strings.TrimSpace(rp), "<>")
	}
	e := engine.New(engine.Options{Checks: checks}, &engine.Snapshot{Policy: p, DB: contentdb.Empty()})
	verdict, err := e.Scan(context.Background(), "test", env, raw)
	if err != nil {
		tb.Fatalf("scan: %v", err)
	}
	if len(verdict.Groups) != 1 {
		tb.Fatalf("scan: %d groups, want 1", len(verdict.Groups))
	}
	return verdict, verdict.Groups[0]
}

// Format renders a verdict for a golden file: status, score, rate, then
// one line per sign sorted by name.
func Format(gv *engine.GroupVerdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status: %s\nscore: %.2f\nrate: %d\n", gv.Status, gv.Score, gv.Rate)
	signs := append([]engine.Sign(nil), gv.Signs...)
	sort.Slice(signs, func(i, j int) bool { return signs[i].Name < signs[j].Name })
	for _, s := range signs {
		fmt.Fprintf(&b, "sign: %s %.2f %s %q\n", s.Name, s.Score, s.Method, s.Desc)
	}
	return b.String()
}

// Golden scans every testdata/*.eml with each variant ("" is the default
// settings) and compares with its golden file.
func Golden(t *testing.T, checks []engine.Check, variants map[string]Variant) {
	t.Helper()
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.eml: %v", err)
	}
	if variants == nil {
		variants = map[string]Variant{"": nil}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range variants {
			base := strings.TrimSuffix(filepath.Base(f), ".eml")
			if name != "" {
				base += "." + name
			}
			t.Run(base, func(t *testing.T) {
				got := Format(Scan(t, checks, raw, v))
				golden.Compare(t, filepath.Join("testdata", "golden", base+".golden"), []byte(got))
			})
		}
	}
}

// HasSign reports whether the verdict holds the named sign.
func HasSign(gv *engine.GroupVerdict, name string) bool {
	for _, s := range gv.Signs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// ReadFile reads a test file or fails the test.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
