package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/build"
	"github.com/scilla-mail/scilla/updater/bundle"
)

// runBuild compiles a database bundle from rule sources and a training list.
func runBuild(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	rulesDir := fs.String("rules", "updater/db-src/rules", "directory of *.rules sources")
	train := fs.String("train", "", "labelled training list (paths relative to -corpus; spam* folders are spam)")
	root := fs.String("corpus", "", "corpus root (default: $SCILLA_CORPUS or ~/.cache/scilla/corpus/package/data)")
	dst := fs.String("out", "", "output directory (emptied first)")
	version := fs.String("version", "", "database version, e.g. 2026112201")
	created := fs.String("created", "", "creation time, RFC 3339 (default: now); fix it for reproducible builds")
	keyFile := fs.String("key", "", "ed25519 private key file (base64 seed) to sign the manifest; optional")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *train == "" || *dst == "" || *version == "" {
		return errors.New("build: -train, -out and -version are required")
	}
	when := time.Now().UTC().Truncate(time.Second)
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			return fmt.Errorf("build: -created: %w", err)
		}
		when = t.UTC()
	}
	var key ed25519.PrivateKey
	if *keyFile != "" {
		k, err := readKey(*keyFile)
		if err != nil {
			return err
		}
		key = k
	}
	items, err := loadItems(*root, *train)
	if err != nil {
		return err
	}
	files, err := build.Files(*rulesDir, items)
	if err != nil {
		return err
	}
	if err := clearBundle(*dst); err != nil {
		return err
	}
	m, err := bundle.Write(*dst, *version, when, files, key)
	if err != nil {
		return err
	}
	db, err := contentdb.LoadDir(*dst, nil)
	if err != nil {
		return fmt.Errorf("build: the new database does not load: %w", err)
	}
	spam, ham := db.Tokens.Totals()
	fmt.Fprintf(out, "built %s version %s: %d rules, %d tokens from %d spam + %d ham, %d fuzzy and %d image signatures, %d files\n",
		*dst, m.Version, db.Rules.Len(), db.Tokens.Len(), spam, ham, db.Fuzzy.Len(), db.Images.Len(), len(m.Files))
	return nil
}

// clearBundle removes the bundle files (only those) from dir so stale files
// cannot linger; other files are left alone.
func clearBundle(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if n == bundle.ManifestName || n == bundle.SignatureName || strings.HasSuffix(n, ".rules") || strings.HasSuffix(n, ".tokens") || strings.HasSuffix(n, ".sigs") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("build: %w", err)
			}
		}
	}
	return nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("read key %s: want a base64 %d-byte ed25519 seed", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// runVerify checks a bundle and prints its manifest summary.
func runVerify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	keys := fs.String("keys", "", "comma-separated base64 ed25519 public keys; when set a valid signature is required")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("verify: want one bundle directory")
	}
	trusted, err := contentdb.ParseKeys(splitComma(*keys))
	if err != nil {
		return err
	}
	db, err := contentdb.LoadDir(fs.Arg(0), trusted)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ok: version %s created %s: %d rules, %d tokens, %d fuzzy, %d image signatures\n",
		db.Version, db.Created.Format(time.RFC3339), db.Rules.Len(), db.Tokens.Len(), db.Fuzzy.Len(), db.Images.Len())
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
