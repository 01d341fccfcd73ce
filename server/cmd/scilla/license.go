package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/licensing"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/grpcapi"
)

const licenseUsage = `usage:
  scilla license install [flags] FILE    install a licence key (active, or reserve when a key is active)
  scilla license remove [flags] --reserve | --all
  scilla license info [flags]            keys, validity, limits, usage, state and warnings

With scillad running the command uses its LicenseService (an admin call);
with scillad stopped it works on the licence files under --state-dir.

flags:
`

// cmdLicense is `scilla license install FILE | remove --all|--reserve | info`.
func cmdLicense(args []string) int {
	return runLicense(args, os.Stdout, os.Stderr)
}

func runLicense(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("license", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs, true)
	configFile := fs.String("config", os.Getenv("SCILLA_CONFIG"), "scillad's config `FILE`, for its license section (trusted issuers, licence dir) when scillad is stopped")
	all := fs.Bool("all", false, "remove: remove the active and the reserve key")
	reserve := fs.Bool("reserve", false, "remove: remove the reserve key")
	fs.Usage = func() { fmt.Fprint(stderr, licenseUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	op := licenseOp{sub: rest[0], all: *all}
	switch {
	case op.sub == "install" && len(rest) == 2:
		if op.key, err = os.ReadFile(rest[1]); err != nil {
			fmt.Fprintf(stderr, "scilla license: read key: %v\n", err)
			return 1
		}
	case op.sub == "remove" && len(rest) == 1 && *all != *reserve:
	case op.sub == "info" && len(rest) == 1:
	default:
		fmt.Fprintf(stderr, "scilla license: bad arguments %q\n", rest)
		fs.Usage()
		return 2
	}

	res, online, err := op.viaServer(&sf)
	if !online {
		if err != nil {
			fmt.Fprintf(stderr, "scilla license: scillad is not running (no answer at %s); working on %s directly\n", sf.server, sf.stateDir)
		}
		res, err = op.offline(sf.stateDir, *configFile)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scilla license %s: %v\n", op.sub, err)
		return 1
	}
	res.sub = op.sub
	res.print(stdout)
	return 0
}

// licenseOp is one license subcommand.
type licenseOp struct {
	sub string
	key []byte
	all bool
}

// licenseResult is what a subcommand prints, whichever way it ran.
type licenseResult struct {
	sub       string
	installed *scillav1.InstallResponse
	removed   int
	info      *scillav1.InfoResponse
}

// viaServer runs op through scillad's LicenseService. online is false when
// the server could not be reached, so the caller works offline.
func (op licenseOp) viaServer(sf *serverFlags) (res licenseResult, online bool, err error) {
	conn, ctx, done, err := sf.adminConn(10 * time.Second)
	if err != nil {
		return res, true, err
	}
	defer done()
	c := scillav1.NewLicenseServiceClient(conn)
	switch op.sub {
	case "install":
		res.installed, err = c.Install(ctx, &scillav1.InstallRequest{Key: op.key})
	case "remove":
		var r *scillav1.RemoveResponse
		if r, err = c.Remove(ctx, &scillav1.RemoveRequest{All: op.all}); err == nil {
			res.removed = int(r.GetRemoved())
		}
	}
	if err == nil {
		res.info, err = c.Info(ctx, &scillav1.InfoRequest{})
	}
	if status.Code(err) == codes.Unavailable {
		return res, false, errors.New(status.Convert(err).Message())
	}
	if err != nil {
		return res, true, errors.New(rpcError(sf.server, err))
	}
	return res, true, nil
}

// offline runs op on the licence state directly; it refuses while a
// running scillad holds the state.
func (op licenseOp) offline(stateDir, configFile string) (licenseResult, error) {
	var res licenseResult
	cfg, err := licenseConfig(configFile)
	if err != nil {
		return res, err
	}
	m, err := licensing.OpenOffline(stateDir, cfg, nil)
	if err != nil {
		return res, err
	}
	defer m.Close()
	switch op.sub {
	case "install":
		slot, ks, err := m.Install(op.key)
		if err != nil {
			return res, err
		}
		res.installed = &scillav1.InstallResponse{Slot: scillav1.LicenseSlot(slot), Key: grpcapi.KeyInfo(ks)}
	case "remove":
		if res.removed, err = m.Remove(op.all); err != nil {
			return res, err
		}
	}
	res.info = grpcapi.InfoResponse(m.Info())
	return res, m.Close()
}

// licenseConfig reads the license section of scillad's config file ("" for
// the defaults). Other sections are not looked at.
func licenseConfig(path string) (licensing.Config, error) {
	doc := struct {
		License licensing.Config `yaml:"license"`
	}{licensing.DefaultConfig()}
	if path == "" {
		return doc.License, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return doc.License, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return doc.License, fmt.Errorf("%s: %w", path, err)
	}
	if errs := doc.License.Validate(); len(errs) > 0 {
		return doc.License, fmt.Errorf("%s: license: %w", path, errors.Join(errs...))
	}
	return doc.License, nil
}

func (r licenseResult) print(w io.Writer) {
	if r.installed != nil {
		k := r.installed.GetKey()
		slot := "active"
		if r.installed.GetSlot() == scillav1.LicenseSlot_LICENSE_SLOT_RESERVE {
			slot = "reserve"
		}
		fmt.Fprintf(w, "installed key %s as the %s key\n\n", k.GetSerial(), slot)
	}
	if r.sub == "remove" {
		fmt.Fprintf(w, "removed %d key file(s)\n\n", r.removed)
	}
	info := r.info
	if info == nil {
		return
	}
	fmt.Fprintf(w, "state:     %s\n", info.GetState())
	printKey(w, "active", info.GetActive())
	printKey(w, "reserve", info.GetReserve())
	fmt.Fprintf(w, "usage:     %d protected mailboxes in the last 30 days, %s of protected traffic today (UTC)\n",
		info.GetMailboxesUsed(), licensing.FormatBytes(info.GetBytesToday()))
	for _, wn := range info.GetWarnings() {
		fmt.Fprintf(w, "warning:   %s\n", wn)
	}
}

func printKey(w io.Writer, slot string, k *scillav1.LicenseKeyInfo) {
	if k == nil {
		fmt.Fprintf(w, "%-10s none\n", slot+":")
		return
	}
	typ := strings.ToLower(strings.TrimPrefix(k.GetType().String(), "LICENSE_TYPE_"))
	fmt.Fprintf(w, "%-10s %s (%s %s key for %s)\n", slot+":", k.GetSerial(), k.GetState(), typ, k.GetLicensee())
	ts := func(name string, t interface{ AsTime() time.Time }, ok bool) {
		if ok {
			fmt.Fprintf(w, "  %-10s %s\n", name+":", t.AsTime().UTC().Format("2006-01-02 15:04 UTC"))
		}
	}
	ts("issued", k.GetIssued(), k.GetIssued() != nil)
	ts("activated", k.GetActivated(), k.GetActivated() != nil)
	ts("expires", k.GetExpires(), k.GetExpires() != nil)
	if k.GetExpires() == nil {
		fmt.Fprintf(w, "  %-10s starts when the key becomes active\n", "validity:")
	}
	mb, tr := "unlimited", "unlimited"
	if n := k.GetMaxMailboxes(); n > 0 {
		mb = fmt.Sprint(n)
	}
	if n := k.GetMaxDailyBytes(); n > 0 {
		tr = licensing.FormatBytes(n) + " a day"
	}
	fmt.Fprintf(w, "  %-10s %s protected mailboxes, %s protected traffic\n", "limits:", mb, tr)
}

// parseInterspersed parses flags anywhere among the arguments, so
// `scilla license install key.txt --server tcp:...` works, and returns the
// other arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}
