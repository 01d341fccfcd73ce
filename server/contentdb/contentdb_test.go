package contentdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	bayescheck "github.com/scilla-mail/scilla/server/check/bayes"
	rulescheck "github.com/scilla-mail/scilla/server/check/rules"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/build"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/server/contentdb/corpus"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/updater/bundle"
)

func TestDefaultLoads(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	if db.Version == "" || db.Created.IsZero() || db.Rules.Len() < 50 || db.Tokens.Len() < 1000 || db.Fuzzy.Len() < 100 {
		t.Errorf("default database looks empty: %s %d rules %d tokens %d fuzzy", db.Version, db.Rules.Len(), db.Tokens.Len(), db.Fuzzy.Len())
	}
	if db.Weights.Len() < 1000 || db.Scores["FORGED_MAILER"] == 0 {
		t.Errorf("default database without linear weights (%d) or sign scores (%v)", db.Weights.Len(), db.Scores)
	}
	if sp, h := db.Tokens.Totals(); sp != 500 || h != 2625 {
		t.Errorf("trained on %d spam / %d ham, want the train split (500/2625)", sp, h)
	}
}

// TestDefaultMatchesSources rebuilds the default database from its sources
// and compares it byte for byte with the embedded one. When it fails, run
// `make db` (the tokenizer, the parser or a rule source changed).
func TestDefaultMatchesSources(t *testing.T) {
	root, err := corpus.Locate()
	if err != nil {
		t.Skipf("corpus not available (%v); `make corpus` fetches it", err)
	}
	train := filepath.Join("..", "..", "updater", "db-src", "train.txt")
	items, err := corpus.LoadList(root, train)
	if err != nil {
		t.Fatal(err)
	}
	files, err := build.Files(filepath.Join("..", "..", "updater", "db-src", "rules"), items)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := bundle.Open(contentdb.DefaultFS(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bundle.Build(emb.Manifest.Version, emb.Manifest.Created, files)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if !bytes.Equal(data, emb.Files[name]) {
			t.Errorf("%s differs from what its sources build: run `make db`", name)
		}
	}
	embManifest, _ := os.ReadFile(filepath.Join("default", bundle.ManifestName))
	if !bytes.Equal(m.Marshal(), embManifest) {
		t.Errorf("manifest differs from what the sources build: run `make db`")
	}
}

// copyDefault copies the embedded bundle into a directory.
func copyDefault(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	v, err := bundle.Open(contentdb.DefaultFS(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Write(dir, v.Manifest.Version, v.Manifest.Created, v.Files, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRefusesCorruptedDatabase(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  error
	}{
		{"bad hash", func(t *testing.T, dir string) {
			p := filepath.Join(dir, contentdb.TokensFile)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, bundle.ErrIntegrity},
		{"missing file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, contentdb.FuzzyFile)) }, bundle.ErrMissing},
		{"wrong format version", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"format": 1`), []byte(`"format": 7`), 1), 0o644)
		}, bundle.ErrFormat},
		{"file left out of the manifest", rebuilt(func(files map[string][]byte) { delete(files, contentdb.ImagesFile) }), bundle.ErrMissing},
		// A database of an earlier release: no tokenizer file.
		{"built before tokenizer versions", rebuilt(func(files map[string][]byte) { delete(files, contentdb.TokenizerFile) }), contentdb.ErrTokenizer},
		{"built with another tokenizer", rebuilt(func(files map[string][]byte) {
			files[contentdb.TokenizerFile] = []byte(strconv.Itoa(bayes.TokenizerVersion+1) + "\n")
		}), contentdb.ErrTokenizer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDefault(t)
			if _, err := contentdb.LoadDir(dir, nil); err != nil {
				t.Fatalf("intact copy refused: %v", err)
			}
			c.spoil(t, dir)
			db, err := contentdb.LoadDir(dir, nil)
			if !errors.Is(err, c.want) || db != nil {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	// A database of an earlier release, without a brands list, loads with
	// the built-in list.
	dir := copyDefault(t)
	rebuilt(func(files map[string][]byte) { delete(files, contentdb.BrandsFile) })(t, dir)
	if db, err := contentdb.LoadDir(dir, nil); err != nil || len(db.Brands) != len(contentdb.BuiltinBrands()) {
		t.Errorf("database without brands.list: %v, brands %v", err, db != nil && db.Brands != nil)
	}
	// A consistent bundle whose rules do not parse is refused too.
	dir = copyDefault(t)
	rebuilt(func(files map[string][]byte) { files[contentdb.RulesFile] = []byte("[c]\nBROKEN rule\n") })(t, dir)
	if _, err := contentdb.LoadDir(dir, nil); err == nil || !strings.Contains(err.Error(), "rules") {
		t.Errorf("bad rules accepted: %v", err)
	}
	// So are consistent bundles with sign scores or linear weights that do
	// not decode, or scores for a rule (whose score is in its rule line).
	for _, c := range []struct{ file, bad, want string }{
		{contentdb.ScoresFile, "FORGED_MAILER lots\n", "not a number"},
		{contentdb.ScoresFile, "PHARMA_ONLINE 1\n", "PHARMA_ONLINE is a rule"},
		{contentdb.ScoresFile, "BAYES_CAL_LOGIT 0.3\nBAYES_CAL_CONST 0\n", "needs all of BAYES_CAL_LOGIT"},
		{contentdb.WeightsFile, "SCLINR1\n\xff", "weights"},
		{contentdb.TokenizerFile, "two\n", "not a tokenizer version"},
		{contentdb.BrandsFile, "PayPal: paypal\n", "not in lower case"},
	} {
		dir := copyDefault(t)
		rebuilt(func(files map[string][]byte) { files[c.file] = []byte(c.bad) })(t, dir)
		if _, err := contentdb.LoadDir(dir, nil); err == nil || !strings.Contains(err.Error(), c.file) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: got %v, want an error about %q", c.file, c.bad, err, c.want)
		}
	}
}

// rebuilt returns a spoiler that changes a bundle's files and writes it
// again with a manifest that matches them: consistent, so only decoding can
// refuse it.
func rebuilt(change func(files map[string][]byte)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		v, err := bundle.OpenDir(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		change(v.Files)
		d2 := t.TempDir()
		if _, err := bundle.Write(d2, "x", time.Now(), v.Files, nil); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(dir)
		if err := os.Rename(d2, dir); err != nil {
			t.Fatal(err)
		}
	}
}

// tinyDB builds a database whose one rule and version name tell scans apart.
func tinyDB(t *testing.T, version, rule string) *contentdb.DB {
	t.Helper()
	b := bayes.NewBuilder()
	b.Add(true, []string{"offer"})
	b.Add(false, []string{"meeting"})
	tok, _ := b.Model(1).MarshalBinary()
	wts, _ := bayes.TrainWeights([][]string{{"offer"}, {"meeting"}}, []bool{true, false}, bayes.DefaultTrainParams()).MarshalBinary()
	return contentdbtest.DB(t, version, map[string][]byte{
		contentdb.RulesFile:   []byte("[test]\n" + rule + " 1.0 body: hello -- Marker of version " + version + "\n"),
		contentdb.TokensFile:  tok,
		contentdb.WeightsFile: wts,
		contentdb.ScoresFile:  []byte("ENVELOPE_FROM_MISMATCH 0.4\n"),
	})
}

// TestSwapUnderConcurrentScans swaps databases while scans run: no scan
// fails, and every verdict is consistent with the one database it reports.
func TestSwapUnderConcurrentScans(t *testing.T) {
	dbA, dbB := tinyDB(t, "A", "MARK_A"), tinyDB(t, "B", "MARK_B")
	want := map[string]string{"A": "MARK_A", "B": "MARK_B"}
	e := engine.New(engine.Options{Checks: []engine.Check{rulescheck.New(), bayescheck.New(nil)}},
		&engine.Snapshot{Policy: policy.Default(), DB: dbA})
	raw := []byte("Subject: hi\r\n\r\nhello, a special offer for the meeting\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var scans, seenB atomic.Int64
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				v, err := e.Scan(context.Background(), "swap", &engine.Envelope{Rcpts: []string{"u@example.com"}}, raw)
				if err != nil {
					errs <- err
					return
				}
				scans.Add(1)
				if v.DBVersion == "B" {
					seenB.Add(1)
				}
				var names []string
				for _, s := range v.Groups[0].Signs {
					names = append(names, s.Name)
				}
				if !strings.Contains(strings.Join(names, ","), want[v.DBVersion]) {
					errs <- fmt.Errorf("scan with database %s has signs %v", v.DBVersion, names)
					return
				}
			}
		}()
	}
	for i := 0; ctx.Err() == nil; i++ {
		db := dbA
		if i%2 == 0 {
			db = dbB
		}
		e.Swap(&engine.Snapshot{Policy: policy.Default(), DB: db})
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if scans.Load() == 0 || seenB.Load() == 0 {
		t.Errorf("%d scans, %d with the swapped-in database", scans.Load(), seenB.Load())
	}
}
