package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLearnWithCLI: `scilla learn` feeds a mailbox file and a Maildir to
// the real scillad; the same messages again change nothing, and the other
// label moves them.
func TestLearnWithCLI(t *testing.T) {
	s := startServer(t, "")
	spam, err := os.ReadFile("../../bayes/testdata/spam1.eml")
	if err != nil {
		t.Fatal(err)
	}
	variant := func(i int) string {
		return strings.Replace(string(spam), "Subject: ", fmt.Sprintf("Subject: [%d] ", i), 1)
	}
	dir := t.TempDir()
	var box strings.Builder
	for i := range 3 {
		fmt.Fprintf(&box, "From spammer@example.net Mon Sep  2 10:0%d:00 2002\n%s\n", i, variant(i))
	}
	mbox := filepath.Join(dir, "junk.mbox")
	maildir := filepath.Join(dir, "Maildir")
	os.MkdirAll(filepath.Join(maildir, "cur"), 0o755)
	if err := os.WriteFile(mbox, []byte(box.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(maildir, "cur", "1:2,S"), []byte(variant(9)), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"--spam", mbox, maildir}, "4 messages: learned 4, unchanged 0, relabelled 0; totals: 4 spam, 0 ham"},
		{[]string{"--spam", mbox, maildir}, "4 messages: learned 0, unchanged 4, relabelled 0; totals: 4 spam, 0 ham"},
		{[]string{"--ham", mbox}, "3 messages: learned 0, unchanged 0, relabelled 3; totals: 1 spam, 3 ham"},
	} {
		out, code := scilla(t, append([]string{"learn", "--state-dir", s.state}, step.args...)...)
		if code != 0 || !strings.Contains(out, step.want) {
			t.Fatalf("scilla learn %v: exit %d:\n%s\nwant %q", step.args, code, out, step.want)
		}
	}
	if out, code := scilla(t, "learn", "--spam", "--state-dir", s.state, filepath.Join(dir, "nothing")); code == 0 {
		t.Errorf("learning a missing file succeeded:\n%s", out)
	}
}
