package main

import (
	"context"
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
	conn, err := sf.dial()
	if err != nil {
		return fail("%v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ctx, err = sf.adminContext(ctx); err != nil {
		return fail("%v", err)
	}
	resp, err := scillav1.NewAdminServiceClient(conn).Reload(ctx, &scillav1.ReloadRequest{})
	if err != nil {
		return fail("reload failed: %s", rpcError(sf.server, err))
	}
	for _, line := range resp.GetReloaded() {
		fmt.Println("reloaded", line)
	}
	return 0
}
