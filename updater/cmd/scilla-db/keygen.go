package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
)

// runKeygen makes a publisher key pair: PREFIX.seed, the secret signing key
// `build -key` reads (a base64 ed25519 seed), and PREFIX.pub, the public
// key servers list under content.trusted_keys. It never overwrites a seed:
// a lost or replaced key means every server must be given a new one.
func runKeygen(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	prefix := fs.String("out", "publisher", "write `PREFIX`.seed (secret) and PREFIX.pub (for content.trusted_keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keygen: unexpected arguments %q", fs.Args())
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	seedFile, pubFile := *prefix+".seed", *prefix+".pub"
	f, err := os.OpenFile(seedFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: write the signing key: %w", err)
	}
	_, err = fmt.Fprintln(f, base64.StdEncoding.EncodeToString(priv.Seed()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("keygen: write the signing key: %w", err)
	}
	pubText := base64.StdEncoding.EncodeToString(pub)
	if err := os.WriteFile(pubFile, []byte(pubText+"\n"), 0o644); err != nil {
		return fmt.Errorf("keygen: write the public key: %w", err)
	}
	fmt.Fprintf(out, "signing key: %s (keep it secret; scilla-db build -key %s)\npublic key:  %s (content.trusted_keys)\n%s\n", seedFile, seedFile, pubFile, pubText)
	return nil
}
