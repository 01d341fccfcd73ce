// Package contentdb is the loaded content filtration database (DESIGN §7):
// rules, classifier tokens, fuzzy and image signatures. A *DB is immutable once
// loaded; the server swaps whole databases atomically, and scans in flight keep
// the one they started with.
//
// A database is a bundle (updater/bundle): verified file by file before any
// of it is used, so a broken or tampered database is refused as a whole and
// the caller keeps serving the old one. The default database, built from the
// training split of the public corpus by `make db`, is embedded.
package contentdb

import (
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/imghash"
	"github.com/scilla-mail/scilla/server/rules"
	"github.com/scilla-mail/scilla/updater/bundle"
)

// File names inside a database bundle.
const (
	RulesFile   = "rules.rules"
	TokensFile  = "bayes.tokens"
	WeightsFile = "bayes.weights"
	FuzzyFile   = "fuzzy.sigs"
	ImagesFile  = "images.sigs"
	ScoresFile  = "signs.scores"
	// TokenizerFile holds the bayes.TokenizerVersion the tables were built
	// with, in decimal; a bundle without it is of version 1.
	TokenizerFile = "bayes.tokenizer"
	// BrandsFile, when present, replaces the built-in list of brands
	// (BuiltinBrands); it is not among Files, so a database of an earlier
	// release still loads.
	BrandsFile = "brands.list"
)

// ErrTokenizer is returned for a database built with another tokenizer.
var ErrTokenizer = errors.New("built with another tokenizer")

// Files lists every file a database bundle must hold.
var Files = []string{RulesFile, TokensFile, WeightsFile, FuzzyFile, ImagesFile, ScoresFile, TokenizerFile}

// DB is one loaded, verified database version.
type DB struct {
	// Version is the database version from the manifest, e.g. "2026112201".
	Version string
	// Created is the manifest's creation time.
	Created time.Time
	// Rules are the compiled phrase and pattern rules; nil in Empty.
	Rules *rules.Set
	// Tokens are the classifier's token counts; nil in Empty.
	Tokens *bayes.Model
	// Weights are the classifier's linear model over the same tokens; nil
	// in Empty.
	Weights *bayes.Weights
	// Fuzzy are the fuzzy signatures of known spam; nil in Empty.
	Fuzzy *fuzzy.Index
	// Images are the signatures of known spam images; nil in Empty.
	Images *imghash.Index
	// Scores replace the built-in scores of the named signs of other checks
	// (see ParseScores); nil in Empty.
	Scores map[string]float64
	// Calibration turns the classifier's outcome into the bayes sign's
	// score: from the scores file's BAYES_CAL_* entries, else
	// bayes.DefaultCalibration.
	Calibration bayes.Calibration
	// Brands are the brands phishing borrows: the database's brands file,
	// else BuiltinBrands.
	Brands []Brand
}

// Empty returns the database used before any bundle is loaded.
func Empty() *DB { return &DB{Version: "none", Brands: BuiltinBrands()} }

// Load reads, verifies and decodes the bundle in fsys. With trusted keys
// the manifest must carry a valid signature by one of them.
func Load(fsys fs.FS, trusted []ed25519.PublicKey) (*DB, error) {
	v, err := bundle.Open(fsys, trusted)
	if err != nil {
		return nil, fmt.Errorf("load content database: %w", err)
	}
	return Decode(v)
}

// LoadDir is Load on a directory.
func LoadDir(dir string, trusted []ed25519.PublicKey) (*DB, error) {
	v, err := bundle.OpenDir(dir, trusted)
	if err != nil {
		return nil, fmt.Errorf("load content database: %w", err)
	}
	return Decode(v)
}

// tokenizerOf reads the tokenizer file: a decimal version, with a final
// newline or none; absent is version 1, anything else 0.
func tokenizerOf(b []byte) int {
	if b == nil {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// Decode builds a database from a verified bundle.
func Decode(v *bundle.Verified) (*DB, error) {
	m := v.Manifest
	fail := func(what string, err error) error {
		return fmt.Errorf("load content database %s: %s: %w", m.Version, what, err)
	}
	// Before the list of files: a database of an earlier release lacks
	// the tokenizer file, and that is the error to report.
	switch t := tokenizerOf(v.Files[TokenizerFile]); t {
	case bayes.TokenizerVersion:
	case 0:
		return nil, fail(TokenizerFile, fmt.Errorf("%q is not a tokenizer version", v.Files[TokenizerFile]))
	default:
		return nil, fail(TokenizerFile, fmt.Errorf("%w: version %d, this server's is %d; build the database with the scilla-db of the same release (docs/updates.md)",
			ErrTokenizer, t, bayes.TokenizerVersion))
	}
	for _, name := range Files {
		if _, ok := v.Files[name]; !ok {
			return nil, fmt.Errorf("load content database %s: %w: %s not in manifest", m.Version, bundle.ErrMissing, name)
		}
	}
	rs, err := rules.Parse(RulesFile, string(v.Files[RulesFile]))
	if err != nil {
		return nil, fail(RulesFile, err)
	}
	set, err := rules.Compile(rs)
	if err != nil {
		return nil, fail(RulesFile, err)
	}
	tok, err := bayes.UnmarshalModel(v.Files[TokensFile])
	if err != nil {
		return nil, fail(TokensFile, err)
	}
	wts, err := bayes.UnmarshalWeights(v.Files[WeightsFile])
	if err != nil {
		return nil, fail(WeightsFile, err)
	}
	fz, err := fuzzy.Unmarshal(v.Files[FuzzyFile])
	if err != nil {
		return nil, fail(FuzzyFile, err)
	}
	im, err := imghash.Unmarshal(v.Files[ImagesFile])
	if err != nil {
		return nil, fail(ImagesFile, err)
	}
	scores, err := ParseScores(ScoresFile, v.Files[ScoresFile])
	if err != nil {
		return nil, fail(ScoresFile, err)
	}
	for _, r := range set.Rules() {
		if _, ok := scores[r.Name]; ok {
			return nil, fail(ScoresFile, fmt.Errorf("%s is a rule: its score is in its rule line", r.Name))
		}
	}
	cal, err := takeCalibration(scores)
	if err != nil {
		return nil, fail(ScoresFile, err)
	}
	brands := BuiltinBrands()
	if src, ok := v.Files[BrandsFile]; ok {
		if brands, err = ParseBrands(BrandsFile, src); err != nil {
			return nil, fail(BrandsFile, err)
		}
	}
	return &DB{
		Version:     m.Version,
		Created:     m.Created,
		Rules:       set,
		Tokens:      tok,
		Weights:     wts,
		Fuzzy:       fuzzy.NewIndex(fz),
		Images:      imghash.NewIndex(im),
		Scores:      scores,
		Calibration: cal,
		Brands:      brands,
	}, nil
}

//go:embed default
var embedded embed.FS

// DefaultFS returns the embedded default bundle.
func DefaultFS() fs.FS {
	sub, err := fs.Sub(embedded, "default")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	return sub
}

// Default loads the embedded default database (unsigned: it is part of the
// binary, so it is as trusted as the binary).
func Default() (*DB, error) {
	db, err := Load(DefaultFS(), nil)
	if err != nil {
		return nil, fmt.Errorf("embedded default: %w", err)
	}
	return db, nil
}
