// Package contentdbtest builds small content databases for tests: the files
// a test cares about, every other file of a bundle empty, decoded through
// the same verification as a real database.
package contentdbtest

import (
	"strconv"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/imghash"
	"github.com/scilla-mail/scilla/updater/bundle"
)

// DB returns the database of version made of files; each bundle file not
// in files is as Files makes it.
func DB(t testing.TB, version string, files map[string][]byte) *contentdb.DB {
	t.Helper()
	all := Files(t, "")
	for name, b := range files {
		all[name] = b
	}
	m, err := bundle.Build(version, time.Now(), all)
	if err != nil {
		t.Fatal(err)
	}
	db, err := contentdb.Decode(&bundle.Verified{Manifest: m, Files: all})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Files returns the data files of a database that loads: one rule that
// never matches (its text holds marker, so databases made with different
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
	text := "never matches this"
	if marker != "" {
		text += " " + marker
	}
	return map[string][]byte{
		contentdb.RulesFile:     []byte("[x]\nX_RULE 1 body: " + text + " -- x\n"),
		contentdb.TokensFile:    tok,
		contentdb.WeightsFile:   wts,
		contentdb.FuzzyFile:     fuzzy.Marshal(nil),
		contentdb.ImagesFile:    imghash.Marshal(nil),
		contentdb.ScoresFile:    nil,
		contentdb.TokenizerFile: []byte(strconv.Itoa(bayes.TokenizerVersion) + "\n"),
	}
}
