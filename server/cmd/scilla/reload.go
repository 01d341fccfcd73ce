package main

import (
	"flag"
	"fmt"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// cmdReload asks scillad to re-read its config, policy and content database
// (as SIGHUP does); anything invalid is refused and the old one keeps serving.
func cmdReload(args []string) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	conn, ctx, done, err := sf.adminConn(time.Minute)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	resp, err := scillav1.NewAdminServiceClient(conn).Reload(ctx, &scillav1.ReloadRequest{})
	if err != nil {
		return fail("reload failed: %s", rpcError(sf.server, err))
	}
	for _, line := range resp.GetReloaded() {
		fmt.Println("reloaded", line)
	}
	return 0
}
