// Command scilla is Scilla's admin CLI.
//
//	scilla scan [--server ADDR] [--from A] [--rcpt A]... [--ip IP] [--helo H] [--json] FILE|-
//	scilla status [--server ADDR]
//	scilla reload
//	scilla update [--rollback]
//	scilla learn --spam|--ham|--forget FILE|DIR|MBOX|-...
//	scilla policy check FILE | scilla policy reload
//	scilla license install FILE | remove --all|--reserve | info
//	scilla stats [--since 24h|7d] [--from DATE --to DATE] [--by hour|day] [--group N] [--top N] [--json]
//
// The server address is tcp:HOST:PORT or unix:/PATH (default
// tcp:127.0.0.1:2277, or $SCILLA_SERVER). Admin calls send the token from
// --token-file (or $SCILLA_TOKEN_FILE) when one is set.
package main

import (
	"fmt"
	"os"
)

type command struct {
	run  func(args []string) int
	help string
}

func commands() map[string]command {
	return map[string]command{
		"scan":    {cmdScan, "scan a message and print the verdict"},
		"status":  {cmdStatus, "show the server's state"},
		"reload":  {cmdReload, "reload config, policy and content database"},
		"update":  {cmdUpdate, "update the content database now, or roll it back"},
		"learn":   {cmdLearn, "train the classifier with spam or ham"},
		"policy":  {cmdPolicy, "check a policy file, or reload the server's"},
		"license": {cmdLicense, "install, remove or show licence keys"},
		"stats":   {cmdStats, "show scan statistics for a time range"},
	}
}

func main() {
	cmds := commands()
	if len(os.Args) < 2 {
		usage(cmds)
		os.Exit(2)
	}
	c, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "scilla: unknown command %q\n", os.Args[1])
		usage(cmds)
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:]))
}

func usage(cmds map[string]command) {
	fmt.Fprintln(os.Stderr, "usage: scilla COMMAND [flags] [args]\n\ncommands:")
	for _, name := range []string{"scan", "status", "reload", "update", "learn", "policy", "license", "stats"} {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, cmds[name].help)
	}
}

// fail prints a one-line reason and returns exit code 1.
func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "scilla: "+format+"\n", args...)
	return 1
}
