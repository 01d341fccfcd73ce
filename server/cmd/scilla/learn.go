package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func cmdLearn(args []string) int {
	fs := flag.NewFlagSet("learn", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, true)
	spam := fs.Bool("spam", false, "the messages are spam")
	ham := fs.Bool("ham", false, "the messages are ham (not spam)")
	forget := fs.Bool("forget", false, "remove the messages' earlier training")
	domain := fs.String("domain", "", "protected domain the training is for (default: global)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var label scillav1.Label
	n := 0
	for _, f := range []struct {
		on bool
		l  scillav1.Label
	}{{*spam, scillav1.Label_LABEL_SPAM}, {*ham, scillav1.Label_LABEL_HAM}, {*forget, scillav1.Label_LABEL_FORGET}} {
		if f.on {
			label, n = f.l, n+1
		}
	}
	if n != 1 || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: scilla learn --spam|--ham|--forget FILE|DIR|MBOX|-...")
		return 2
	}
	conn, ctx, done, err := sf.adminConn(30 * time.Minute)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	client := scillav1.NewAdminServiceClient(conn)
	// Messages go in batches, so a whole mailbox fits the server's message
	// size limit and the first answer comes early.
	const batchBytes, batchCount = 8 << 20, 500
	batch := &scillav1.LearnRequest{Label: label, Domain: *domain}
	sum := &scillav1.LearnResponse{}
	var last *scillav1.LearnResponse
	var size, msgs int
	send := func() error {
		if len(batch.Messages) == 0 {
			return nil
		}
		resp, err := client.Learn(ctx, batch)
		if err != nil {
			return fmt.Errorf("learn failed: %s", rpcError(sf.server, err))
		}
		sum.Learned += resp.GetLearned()
		sum.Unchanged += resp.GetUnchanged()
		sum.Relabelled += resp.GetRelabelled()
		last = resp
		batch.Messages, size = nil, 0
		return nil
	}
	err = eachMessage(fs.Args(), func(msg []byte) error {
		if size+len(msg) > batchBytes || len(batch.Messages) >= batchCount {
			if err := send(); err != nil {
				return err
			}
		}
		batch.Messages = append(batch.Messages, msg)
		size += len(msg)
		msgs++
		return nil
	})
	if err == nil {
		err = send()
	}
	if err != nil {
		return fail("%v", err)
	}
	if msgs == 0 {
		return fail("no messages in %s", strings.Join(fs.Args(), " "))
	}
	fmt.Printf("%d messages: learned %d, unchanged %d, relabelled %d; totals: %d spam, %d ham\n",
		msgs, sum.Learned, sum.Unchanged, sum.Relabelled, last.GetSpamTotal(), last.GetHamTotal())
	return 0
}
