package main

import (
	"flag"
	"fmt"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// cmdUpdate asks scillad to check its update source now and install a newer
// content database, or with --rollback to go back to the previous one.
func cmdUpdate(args []string) int {
	fs := flag.NewFlagSet("update", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, true)
	rollback := fs.Bool("rollback", false, "make the previous installed database current again (it is kept by every update)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the update (the server also stops at update.timeout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail("update takes no arguments, got %q", fs.Args())
	}
	conn, ctx, done, err := sf.adminConn(*timeout)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	resp, err := scillav1.NewAdminServiceClient(conn).Update(ctx, &scillav1.UpdateRequest{Rollback: *rollback})
	if err != nil {
		return fail("update failed: %s", rpcError(sf.server, err))
	}
	fmt.Println(resp.GetResult())
	return 0
}
