// Command scilla-license is the licence issuer's tool: it makes issuer key
// pairs, issues signed licence keys and verifies key files.
//
//	scilla-license keygen -out issuer            # writes issuer.key (secret) and issuer.pub
//	scilla-license issue -issuer-key issuer.key -serial SC-2026-0001 -licensee "Example Ltd" \
//	    -expires 2027-12-31 -mailboxes 500 -daily-traffic 20GiB -out example.key
//	scilla-license verify -issuer-file issuer.pub example.key
//
// A server trusts an issuer when its public key ("ed25519:...", the .pub
// file) is listed under license.issuers in the server configuration.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/licensing"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: scilla-license COMMAND [flags]

commands:
  keygen   make an issuer key pair (PREFIX.key, secret; PREFIX.pub, public)
  issue    issue a signed licence key
  verify   check a licence key file and print its contents

Run scilla-license COMMAND -h for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "keygen":
		err = keygen(args[1:], stdout, stderr)
	case "issue":
		err = issue(args[1:], stdout, stderr)
	case "verify":
		err = verify(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "scilla-license: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "scilla-license %s: %v\n", args[0], err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "scilla-license %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("scilla-license "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	out := fs.String("out", "issuer", "write `PREFIX`.key (the secret issuer key) and PREFIX.pub (the public key for servers)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	priv, pub, err := licensing.GenerateIssuer()
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite an issuer key, it cannot be recovered.
	f, err := os.OpenFile(*out+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return fmt.Errorf("write private key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if err := os.WriteFile(*out+".pub", []byte(pub+"\n"), 0o644); err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	fmt.Fprintf(stdout, "private key: %s.key (keep it secret)\npublic key:  %s.pub\n%s\n", *out, *out, pub)
	return nil
}

func issue(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("issue", stderr)
	var (
		keyFile   = fs.String("issuer-key", "", "the issuer's private key `FILE` (from keygen)")
		product   = fs.String("product", licensing.Product, "product the key is for")
		serial    = fs.String("serial", "", "serial number (letters, digits, '-', '_', '.')")
		typ       = fs.String("type", "commercial", "licence type: commercial or trial")
		licensee  = fs.String("licensee", "", "the customer's name")
		issued    = fs.String("issued", "now", "issue `DATE` (YYYY-MM-DD or RFC 3339 in UTC); the key is not valid before it")
		expires   = fs.String("expires", "", "absolute expiry `DATE` (YYYY-MM-DD or RFC 3339 in UTC)")
		period    = fs.String("period", "", "validity counted from activation, e.g. 365d (instead of -expires)")
		mailboxes = fs.Uint64("mailboxes", 0, "protected mailboxes allowed (0 = unlimited)")
		daily     = fs.String("daily-traffic", "0", "protected traffic allowed per day, e.g. 20GiB, 500MB or bytes (0 = unlimited)")
		out       = fs.String("out", "", "write the key to `FILE` instead of standard output")
	)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *keyFile == "" || *serial == "" || *licensee == "" {
		return usagef("-issuer-key, -serial and -licensee are required")
	}
	if (*expires == "") == (*period == "") {
		return usagef("give exactly one of -expires and -period")
	}
	data, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("read issuer key: %w", err)
	}
	priv, err := licensing.ParsePrivateKey(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	k := licensing.Key{Product: *product, Serial: *serial, Licensee: *licensee, MaxMailboxes: *mailboxes}
	if k.Type, err = licensing.ParseType(*typ); err != nil {
		return usageError{err}
	}
	if k.Issued, err = parseDate(*issued); err != nil {
		return usagef("-issued: %v", err)
	}
	if *expires != "" {
		if k.Expires, err = parseDate(*expires); err != nil {
			return usagef("-expires: %v", err)
		}
	} else if k.Period, err = licensing.ParsePeriod(*period); err != nil {
		return usagef("-period: %v", err)
	}
	if k.MaxDailyBytes, err = parseSize(*daily); err != nil {
		return usagef("-daily-traffic: %v", err)
	}
	key, err := licensing.Sign(k, priv)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(key)
		return err
	}
	if err := os.WriteFile(*out, key, 0o644); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	fmt.Fprintf(stderr, "licence key %s written to %s\n", k.Serial, *out)
	return nil
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func verify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	var issuers, issuerFiles listFlag
	fs.Var(&issuers, "issuer", "trust this issuer public `KEY` (ed25519:...); repeatable")
	fs.Var(&issuerFiles, "issuer-file", "trust the issuer public key in `FILE` (a .pub from keygen); repeatable")
	at := fs.String("at", "now", "check validity at `TIME` (YYYY-MM-DD or RFC 3339 in UTC)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one key FILE")
	}
	for _, f := range issuerFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read issuer public key: %w", err)
		}
		issuers = append(issuers, strings.TrimSpace(string(b)))
	}
	trusted, err := licensing.NewIssuers(issuers)
	if err != nil {
		return usageError{err}
	}
	when, err := parseDate(*at)
	if err != nil {
		return usagef("-at: %v", err)
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	k, err := licensing.Verify(data, trusted, when)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(stdout, "%s: valid %s licence key\n", fs.Arg(0), k.Type)
	fmt.Fprintf(stdout, "  product:    %s\n  serial:     %s\n  licensee:   %s\n  issued:     %s\n  validity:   %s\n",
		k.Product, k.Serial, k.Licensee, k.Issued.Format(time.RFC3339), k.Validity())
	fmt.Fprintf(stdout, "  mailboxes:  %s\n  daily:      %s\n  issuer:     %s\n", limit(k.MaxMailboxes, strconv.FormatUint(k.MaxMailboxes, 10)),
		limit(k.MaxDailyBytes, licensing.FormatBytes(k.MaxDailyBytes)), k.Issuer)
	return nil
}

func limit(n uint64, text string) string {
	if n == 0 {
		return "unlimited"
	}
	return text
}

// parseDate reads "now", YYYY-MM-DD (midnight UTC) or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if s == "now" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or 2006-01-02T15:04:05Z)", s)
	}
	return t.UTC(), nil
}

// parseSize reads a byte count with an optional unit: B, KB/MB/GB/TB
// (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024).
func parseSize(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), uint64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || (n > 0 && n*mult/mult != n) {
		return 0, fmt.Errorf("%q is not a size like 20GiB, 500MB or a number of bytes", s)
	}
	return n * mult, nil
}
