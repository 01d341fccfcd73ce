package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/policy"
)

// cmdPolicy: `scilla policy check FILE` validates a policy file offline;
// `scilla policy reload` asks the running server to re-read its policy.
func cmdPolicy(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: scilla policy check FILE | scilla policy reload")
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, "usage: scilla policy check FILE")
			return 2
		}
		p, err := policy.LoadWith(args[1], policy.Options{Rules: check.RuleNames()})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s: OK, %d groups\n", args[1], len(p.Groups))
		for _, g := range p.Groups {
			fmt.Printf("  group %d %q: level %s\n", g.ID, g.Name, g.Settings.Level)
		}
		return 0
	case "reload":
		fs := flag.NewFlagSet("policy reload", flag.ContinueOnError)
		var sf serverFlags
		sf.register(fs, true)
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		conn, ctx, done, err := sf.adminConn(30 * time.Second)
		if err != nil {
			return fail("%v", err)
		}
		defer done()
		resp, err := scillav1.NewAdminServiceClient(conn).ReloadPolicy(ctx, &scillav1.ReloadPolicyRequest{})
		if err != nil {
			return fail("policy reload failed: %s", rpcError(sf.server, err))
		}
		fmt.Printf("policy %s loaded, %d groups\n", resp.GetPolicySource(), resp.GetGroups())
		return 0
	}
	fmt.Fprintf(os.Stderr, "scilla policy: unknown subcommand %q\n", args[0])
	return 2
}
