// Package updatetest publishes small signed content database bundles for
// tests of the updater and of scillad's updates: contentdbtest's
// empty-but-valid files, written and signed by updater/bundle.
package updatetest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/updater/bundle"
)

// Key returns a fixed publisher key derived from name.
func Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("scilla test publisher " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// PublicKey returns the base64 public key of Key(name), as
// content.trusted_keys lists it.
func PublicKey(name string) string {
	return base64.StdEncoding.EncodeToString(Key(name).Public().(ed25519.PublicKey))
}

// Publish replaces the bundle in dir with files as version, signed with
// key (nil: unsigned).
func Publish(t testing.TB, dir, version string, created time.Time, files map[string][]byte, key ed25519.PrivateKey) *bundle.Manifest {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	m, err := bundle.Write(dir, version, created, files, key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
