package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEachMessage(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A Maildir: cur/ and new/ count, tmp/ (deliveries in progress) and
	// hidden entries do not.
	write("Maildir/cur/1:2,S", "Subject: cur\n\nx\n")
	write("Maildir/new/2", "Subject: new\n\nx\n")
	write("Maildir/tmp/3", "Subject: tmp\n\nx\n")
	write("Maildir/.hidden", "Subject: hidden\n\nx\n")
	write("Maildir/.Sub/cur/4", "Subject: subfolder\n\nx\n")
	box := write("junk.mbox", "From a@x Mon Sep  2 10:00:00 2002\nSubject: m1\n\n>From quoted\n\nFrom b@x Mon Sep  2 11:00:00 2002\nSubject: m2\n\ny\n")
	// A single message whose body has a "From " line after a blank line is
	// not split: only a file that starts with a separator is a mailbox.
	eml := write("one.eml", "Subject: eml\n\nhello\n\nFrom the desk of the editor\n")
	write("empty.eml", "\n")

	var got []string
	err := eachMessage([]string{filepath.Join(dir, "Maildir"), box, eml, filepath.Join(dir, "empty.eml")}, func(msg []byte) error {
		got = append(got, string(msg))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Subject: cur\n\nx\n", "Subject: new\n\nx\n",
		"Subject: m1\n\nFrom quoted\n", "Subject: m2\n\ny\n",
		"Subject: eml\n\nhello\n\nFrom the desk of the editor\n",
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages\n%q\nwant\n%q", got, want)
	}

	if err := eachMessage([]string{filepath.Join(dir, "missing")}, func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing path: %v", err)
	}
}
