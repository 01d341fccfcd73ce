// Package updatetest publishes small signed content database bundles for
// tests of the updater and of scillad's updates: the same empty-but-valid
// files as server/contentdb/contentdbtest, written by updater/bundle.
package updatetest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/imghash"
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

// Files returns the data files of a database that loads: one rule that
// never matches (its text holds marker, so databases with different
// markers differ in the rules file only), no tokens, no weights, no
// signatures, no sign scores.
func Files(t testing.TB, marker string) map[string][]byte {
	t.Helper()
	tok, err := bayes.NewBuilder().Model(1).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wts, err := bayes.TrainWeights(nil, nil, bayes.DefaultTrainParams()).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		contentdb.RulesFile:   []byte("[x]\nX_RULE 1 body: never matches this " + marker + " -- x\n"),
		contentdb.TokensFile:  tok,
		contentdb.WeightsFile: wts,
		contentdb.FuzzyFile:   fuzzy.Marshal(nil),
		contentdb.ImagesFile:  imghash.Marshal(nil),
		contentdb.ScoresFile:  nil,
	}
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
