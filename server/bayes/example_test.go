package bayes_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/message"
)

// A server opens one Store in its state directory, learns through the admin
// API, and rates messages with the database's counts plus the learned ones.
func ExampleStore_Learn() {
	dir, _ := os.MkdirTemp("", "learn")
	defer os.RemoveAll(dir)
	st, err := bayes.OpenStore(filepath.Join(dir, "learn.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	spam, _ := os.ReadFile("testdata/spam1.eml")
	ham, _ := os.ReadFile("testdata/ham1.eml")
	ctx := context.Background()

	r, _ := st.Learn(ctx, "", bayes.LabelSpam, [][]byte{spam})
	fmt.Printf("learned %d, totals %d/%d\n", r.Learned, r.SpamTotal, r.HamTotal)
	r, _ = st.Learn(ctx, "", bayes.LabelSpam, [][]byte{spam})
	fmt.Printf("again: unchanged %d\n", r.Unchanged)
	r, _ = st.Learn(ctx, "", bayes.LabelHam, [][]byte{spam, ham})
	fmt.Printf("relabelled %d, learned %d, totals %d/%d\n", r.Relabelled, r.Learned, r.SpamTotal, r.HamTotal)

	// Rating: database model (none here) plus the learned counts. With no
	// spam learned there is no evidence either way.
	cl := bayes.NewClassifier(bayes.DefaultParams())
	toks := bayes.Tokens(message.Parse(ham, message.DefaultLimits), nil)
	fmt.Println("no spam known:", cl.Classify(toks, st.Source("")).Prob)
	st.Learn(ctx, "", bayes.LabelSpam, [][]byte{spam})
	fmt.Println("ham rated below 0.5:", cl.Classify(toks, st.Source("")).Prob < 0.5)
	// Output:
	// learned 1, totals 1/0
	// again: unchanged 1
	// relabelled 1, learned 1, totals 0/2
	// no spam known: 0.5
	// ham rated below 0.5: true
}
