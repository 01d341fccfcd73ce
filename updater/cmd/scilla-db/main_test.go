package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyCorpus lays out a two-message corpus and its list.
func tinyCorpus(t *testing.T) (root, list string) {
	t.Helper()
	root = t.TempDir()
	for _, f := range []struct{ dir, src string }{
		{"spam-x", "../../../server/bayes/testdata/spam1.eml"},
		{"ham-x", "../../../server/bayes/testdata/ham1.eml"},
	} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(root, f.dir), 0o755)
		if err := os.WriteFile(filepath.Join(root, f.dir, "1.txt"), append([]byte("From x@y Mon Sep 2 2002\n"), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list = filepath.Join(root, "train.txt")
	os.WriteFile(list, []byte("spam-x/1.txt\nham-x/1.txt\n"), 0o644)
	return root, list
}

func TestBuildSignVerify(t *testing.T) {
	root, list := tinyCorpus(t)
	prefix := filepath.Join(t.TempDir(), "publisher")
	var buf bytes.Buffer
	if err := run([]string{"keygen", "-out", prefix}, &buf); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"keygen", "-out", prefix}, &buf); err == nil {
		t.Error("keygen overwrote a signing key")
	}
	if fi, err := os.Stat(prefix + ".seed"); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key mode %v, want 0600", fi.Mode().Perm())
	}
	keyFile := prefix + ".seed"
	pubText, _ := os.ReadFile(prefix + ".pub")
	out := filepath.Join(t.TempDir(), "db")
	args := []string{"build", "-rules", "../../db-src/rules", "-train", list, "-corpus", root, "-out", out,
		"-version", "2026112201", "-created", "2026-11-22T00:00:00Z", "-key", keyFile}
	if err := run(args, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "from 1 spam + 1 ham") {
		t.Errorf("build said %q", buf.String())
	}
	first, _ := os.ReadFile(filepath.Join(out, "bayes.tokens"))
	// Same sources, same bytes.
	if err := run(args, &buf); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "bayes.tokens"))
	if !bytes.Equal(first, again) {
		t.Error("build is not reproducible")
	}
	good := strings.TrimSpace(string(pubText))
	other, _, _ := ed25519.GenerateKey(nil)
	if err := run([]string{"verify", "-keys", good, out}, &buf); err != nil {
		t.Errorf("verify with the signing key: %v", err)
	}
	if err := run([]string{"verify", "-keys", base64.StdEncoding.EncodeToString(other), out}, &buf); err == nil {
		t.Error("verify with another key passed")
	}
	os.WriteFile(filepath.Join(out, "rules.rules"), []byte("[x]\n"), 0o644)
	if err := run([]string{"verify", out}, &buf); err == nil {
		t.Error("verify of a tampered bundle passed")
	}
}

func TestUsageErrors(t *testing.T) {
	var buf bytes.Buffer
	for _, args := range [][]string{nil, {"nope"}, {"build"}, {"verify"}, {"eval"}} {
		if err := run(args, &buf); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestEvalAutolearn: eval -autolearn scans with a learning store that
// learns as it goes: two clear spams and one clear ham of today's mail
// (a newsletter, about −5 points) are learned at every level; a
// colleague's short request, near 0 points, is left unclear and is not.
func TestEvalAutolearn(t *testing.T) {
	root := t.TempDir()
	var list strings.Builder
	for i, f := range []string{"spam/pharmacy.eml", "spam/advance-fee.eml", "ham/colleague-request.eml", "ham/newsletter.eml"} {
		b, err := os.ReadFile(filepath.Join("../../../server/engine/testdata/modern", f))
		if err != nil {
			t.Fatal(err)
		}
		dir := "ham-x"
		if strings.HasPrefix(f, "spam/") {
			dir = "spam-x"
		}
		name := filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		list.WriteString(name + "\n")
	}
	listFile := filepath.Join(root, "list.txt")
	os.WriteFile(listFile, []byte(list.String()), 0o644)
	var out bytes.Buffer
	if err := run([]string{"eval", "-autolearn", "-list", listFile, "-corpus", root}, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "auto-learned 2 spam, 1 ham"); n != 4 {
		t.Errorf("want 2 spam and 1 ham auto-learned at each of the 4 levels, got:\n%s", out.String())
	}
	if err := run([]string{"eval", "-autolearn", "-cv", "2", "-list", listFile, "-corpus", root}, &out); err == nil {
		t.Error("-autolearn with -cv accepted")
	}
}
