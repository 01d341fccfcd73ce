package main

import (
	"flag"
	"fmt"
	"os"
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
		fmt.Fprintln(os.Stderr, "usage: scilla learn --spam|--ham|--forget FILE...")
		return 2
	}
	req := &scillav1.LearnRequest{Label: label, Domain: *domain}
	for _, name := range fs.Args() {
		msg, err := readInput(name)
		if err != nil {
			return fail("%v", err)
		}
		req.Messages = append(req.Messages, msg)
	}
	conn, ctx, done, err := sf.adminConn(5 * time.Minute)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	resp, err := scillav1.NewAdminServiceClient(conn).Learn(ctx, req)
	if err != nil {
		return fail("learn failed: %s", rpcError(sf.server, err))
	}
	fmt.Printf("learned %d, unchanged %d, relabelled %d; totals: %d spam, %d ham\n",
		resp.GetLearned(), resp.GetUnchanged(), resp.GetRelabelled(), resp.GetSpamTotal(), resp.GetHamTotal())
	return 0
}
