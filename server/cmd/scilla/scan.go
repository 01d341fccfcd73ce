package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdScan(args []string) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, false)
	var rcpts multiFlag
	from := fs.String("from", "", "envelope sender (MAIL FROM)")
	fs.Var(&rcpts, "rcpt", "envelope recipient (repeatable; default postmaster@localhost)")
	ip := fs.String("ip", "", "client IP address")
	helo := fs.String("helo", "", "HELO name")
	auth := fs.String("auth", "", "SMTP AUTH user: scan as a submission by this user (its Message-ID, From name and recipients' domains are remembered for REPLY_TO_SENT, LOCAL_NAME_FREEMAIL and LOOKALIKE_CORRESPONDENT)")
	asJSON := fs.Bool("json", false, "print the response as JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the verdict")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scilla scan [flags] FILE|-")
		return 2
	}
	msg, err := readInput(fs.Arg(0))
	if err != nil {
		return fail("%v", err)
	}
	if len(rcpts) == 0 {
		rcpts = multiFlag{"postmaster@localhost"}
	}
	conn, err := sf.dial()
	if err != nil {
		return fail("%v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	resp, err := scillav1.NewScannerServiceClient(conn).Scan(ctx, &scillav1.ScanRequest{
		Message: msg,
		Envelope: &scillav1.Envelope{
			ClientIp: *ip,
			Helo:     *helo,
			AuthUser: *auth,
			MailFrom: *from,
			RcptTo:   rcpts,
			MtaKind:  scillav1.MtaKind_MTA_KIND_CLI,
		},
	})
	if err != nil {
		return fail("scan failed: %s", rpcError(sf.server, err))
	}
	if *asJSON {
		out, _ := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(resp)
		fmt.Println(string(out))
		return 0
	}
	printVerdict(os.Stdout, resp)
	return 0
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// printVerdict writes the readable form: one block per group, status first.
func printVerdict(w io.Writer, resp *scillav1.ScanResponse) {
	for _, r := range resp.GetResults() {
		status := strings.TrimPrefix(r.GetStatus().String(), "STATUS_")
		fmt.Fprintf(w, "%s\tgroup %d %q\tscore %.2f\trate %d", status, r.GetGroupId(), r.GetGroupName(), r.GetScore(), r.GetRate())
		if r.GetInfo() != scillav1.Info_INFO_NONE && r.GetInfo() != scillav1.Info_INFO_UNSPECIFIED {
			fmt.Fprintf(w, "\tinfo %s", strings.TrimPrefix(r.GetInfo().String(), "INFO_"))
		}
		fmt.Fprintf(w, "\taction %s\n", strings.ToLower(strings.TrimPrefix(r.GetAction().String(), "ACTION_")))
		if r.GetMethod() != "" {
			fmt.Fprintf(w, "  method: %s\n", r.GetMethod())
		}
		if len(r.GetCategories()) > 0 {
			fmt.Fprintf(w, "  categories: %s\n", strings.Join(r.GetCategories(), ", "))
		}
		fmt.Fprintf(w, "  recipients: %s\n", strings.Join(r.GetRecipients(), ", "))
		for _, rule := range r.GetRules() {
			fmt.Fprintf(w, "  rule %-28s %7.2f  %s\n", rule.GetName(), rule.GetScore(), rule.GetDescription())
		}
		if m := r.GetModifications(); m != nil {
			if m.GetSubjectPrefix() != "" {
				fmt.Fprintf(w, "  subject prefix: %q\n", m.GetSubjectPrefix())
			}
			for _, h := range m.GetAddHeaders() {
				fmt.Fprintf(w, "  header %s: %s\n", h.GetName(), h.GetValue())
			}
		}
	}
	fmt.Fprintf(w, "scan %s\tengine %s\tdatabase %s\t%s\n", resp.GetScanId(), resp.GetEngineVersion(), resp.GetDatabaseVersion(), resp.GetElapsed().AsDuration().Round(time.Microsecond))
}
