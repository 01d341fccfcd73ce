// Package build compiles a content database from its sources: the rule
// source files and a labelled training list. The same sources always give
// the same bytes (sorted tables, no maps in output order, the creation time
// passed in), so a published database can be rebuilt and compared.
package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
	"github.com/scilla-mail/scilla/server/fuzzy"
	"github.com/scilla-mail/scilla/server/imghash"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/rules"
)

// RuleSources reads every *.rules file in dir, in name order, and joins them
// into the one rules file of a bundle. The joined text is parsed and
// compiled, so a bad rule fails the build, not the server.
func RuleSources(dir string) ([]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.rules"))
	if err != nil {
		return nil, fmt.Errorf("rule sources: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("rule sources: no *.rules files in %s", dir)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("rule sources: %w", err)
		}
		if _, err := rules.Parse(filepath.Base(n), string(src)); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "# ---- %s ----\n", filepath.Base(n))
		b.Write(src)
		if len(src) > 0 && src[len(src)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	out := []byte(b.String())
	rs, err := rules.Parse(contentdb.RulesFile, string(out))
	if err != nil {
		return nil, err
	}
	if _, err := rules.Compile(rs); err != nil {
		return nil, err
	}
	return out, nil
}

// ScoresSource is the file in the rules directory that holds the scores of
// the signs of other checks (contentdb.ParseScores).
const ScoresSource = "signs.scores"

// Scores reads the scores file of the sources (ScoresSource in dir) and
// returns it in the database's normalised form.
func Scores(dir string) ([]byte, error) {
	path := filepath.Join(dir, ScoresSource)
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sign scores: %w", err)
	}
	scores, err := contentdb.ParseScores(path, src)
	if err != nil {
		return nil, err
	}
	return contentdb.FormatScores(scores), nil
}

// BrandsSource is the optional file in the rules directory that replaces
// the header check's built-in brands (contentdb.ParseBrands).
const BrandsSource = "brands.list"

// Brands reads the brands file of the sources, if there is one, and
// returns it in the database's normalised form; nil without the file.
func Brands(dir string) ([]byte, error) {
	path := filepath.Join(dir, BrandsSource)
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("brands: %w", err)
	}
	brands, err := contentdb.ParseBrands(path, src)
	if err != nil {
		return nil, err
	}
	return contentdb.FormatBrands(brands), nil
}

// Files builds the data files of a database: the joined rules, the sign
// scores, the brands, the token counts and linear weights of the training messages, the
// fuzzy signatures of the training spam and the signatures of its images.
func Files(rulesDir string, train []corpus.Item) (map[string][]byte, error) {
	rs, err := RuleSources(rulesDir)
	if err != nil {
		return nil, err
	}
	scores, err := Scores(rulesDir)
	if err != nil {
		return nil, err
	}
	brands, err := Brands(rulesDir)
	if err != nil {
		return nil, err
	}
	b := bayes.NewBuilder()
	var toks [][]string
	var labels []bool
	var sigs []fuzzy.Signature
	var imgs []imghash.Hash
	stems := bayes.NewStems()
	for _, it := range train {
		m := message.Parse(it.Raw, message.DefaultLimits)
		ts := bayes.Tokens(m, stems)
		b.Add(it.Spam, ts)
		toks = append(toks, ts)
		labels = append(labels, it.Spam)
		if !it.Spam {
			continue
		}
		if s, ok := fuzzy.Sign(m.Text); ok {
			sigs = append(sigs, s)
		}
		for _, p := range m.Images {
			if h, err := imghash.Of(p.Body); err == nil {
				imgs = append(imgs, h)
			}
		}
	}
	tok, err := b.Model(1).MarshalBinary()
	if err != nil {
		return nil, err
	}
	wts, err := bayes.TrainWeights(toks, labels, bayes.DefaultTrainParams()).MarshalBinary()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		contentdb.RulesFile:     rs,
		contentdb.TokensFile:    tok,
		contentdb.WeightsFile:   wts,
		contentdb.FuzzyFile:     fuzzy.Marshal(sigs),
		contentdb.ImagesFile:    imghash.Marshal(imgs),
		contentdb.ScoresFile:    scores,
		contentdb.TokenizerFile: []byte(strconv.Itoa(bayes.TokenizerVersion) + "\n"),
	}
	if brands != nil {
		files[contentdb.BrandsFile] = brands
	}
	return files, nil
}
