package main

import (
	"flag"
	"fmt"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func cmdStatus(args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	conn, ctx, done, err := sf.adminConn(10 * time.Second)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	st, err := scillav1.NewAdminServiceClient(conn).Status(ctx, &scillav1.StatusRequest{})
	if err != nil {
		return fail("status failed: %s", rpcError(sf.server, err))
	}
	p := st.GetPool()
	fmt.Printf("version:   %s\n", st.GetVersion())
	fmt.Printf("uptime:    %s\n", st.GetUptime().AsDuration())
	fmt.Printf("pool:      %d busy, %d idle, %d queued, max %d (started %d, recycled %d)\n",
		p.GetBusy(), p.GetIdle(), p.GetQueued(), p.GetMaxWorkers(), p.GetStarted(), p.GetRecycled())
	fmt.Printf("database:  %s", st.GetDatabaseVersion())
	if st.GetDatabaseCreated() != nil {
		fmt.Printf(" (created %s)", st.GetDatabaseCreated().AsTime().UTC().Format(time.RFC3339))
	}
	fmt.Println()
	if u := st.GetUpdate(); u != nil {
		fmt.Printf("updates:   from %s", u.GetSource())
		if u.GetPreviousVersion() != "" {
			fmt.Printf(", %s kept for rollback", u.GetPreviousVersion())
		}
		fmt.Println()
		if u.GetLastAttempt() != nil {
			fmt.Printf("  last:    %s %s\n", u.GetLastAttempt().AsTime().Local().Format(time.RFC3339), u.GetLastResult())
		}
		if u.GetNextAttempt() != nil {
			fmt.Printf("  next:    %s\n", u.GetNextAttempt().AsTime().Local().Format(time.RFC3339))
		}
	}
	fmt.Printf("policy:    %s (loaded %s)\n", st.GetPolicySource(), st.GetPolicyLoaded().AsTime().Local().Format(time.RFC3339))
	if r := st.GetRedis(); r != nil {
		state := "reachable"
		if !r.GetReachable() {
			state = "UNREACHABLE (scans go on with the last synced state; learning fails until it is back)"
		}
		fmt.Printf("redis:     %s, %s\n", r.GetAddress(), state)
		if r.GetLastSync() != nil {
			fmt.Printf("  synced:  %s\n", r.GetLastSync().AsTime().Local().Format(time.RFC3339))
		} else {
			fmt.Printf("  synced:  never since the start\n")
		}
		if !r.GetReachable() && r.GetLastError() != "" {
			fmt.Printf("  error:   %s\n", r.GetLastError())
		}
	} else {
		fmt.Printf("redis:     off (learning and licence usage are local)\n")
	}
	if st.GetLicenseState() != "" {
		fmt.Printf("licence:   %s\n", st.GetLicenseState())
	}
	for _, w := range st.GetWarnings() {
		fmt.Printf("warning:   %s\n", w)
	}
	return 0
}
