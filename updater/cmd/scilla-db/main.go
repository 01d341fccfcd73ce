// Command scilla-db builds, verifies and evaluates content filtration
// database bundles: the publisher's side of DESIGN §7.
//
//	scilla-db keygen -out PREFIX
//	scilla-db build  -rules DIR -train LIST -out DIR -version V -created TIME [-key PREFIX.seed]
//	scilla-db verify DIR
//	scilla-db eval   -db DIR -list LIST
//	scilla-db cv     -train LIST
//	scilla-db fit    -train LIST [-write]
//	scilla-db score  [-db DIR] < message
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scilla-db:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: scilla-db keygen|build|verify|eval|cv|fit|score [flags]")
	}
	switch args[0] {
	case "keygen":
		return runKeygen(args[1:], out)
	case "build":
		return runBuild(args[1:], out)
	case "verify":
		return runVerify(args[1:], out)
	case "eval":
		return runEval(args[1:], out)
	case "score":
		return runScore(args[1:], os.Stdin, out)
	case "fit":
		return runFit(args[1:], out)
	case "cv":
		return runCV(args[1:], out)
	}
	return fmt.Errorf("unknown command %q (want keygen, build, verify, eval, cv, fit or score)", args[0])
}
