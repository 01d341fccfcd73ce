package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// cmdStats prints the server's scan statistics for a time range.
func cmdStats(args []string) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs, true)
	since := fs.String("since", "24h", "the range ends now and starts this long ago: a duration (90m, 24h), days (7d) or weeks (2w)")
	from := fs.String("from", "", "start of the range: 2006-01-02, 2006-01-02T15:04 (UTC) or RFC 3339; replaces --since")
	to := fs.String("to", "", "end of the range (same forms as --from); default now")
	by := fs.String("by", "", "series resolution: hour or day (default hour, day for ranges over 3 days)")
	group := fs.Uint("group", 0, "only this group id; 0 = every group")
	top := fs.Uint("top", 10, "how many of the most frequent rules to show")
	domains := fs.Uint("domains", 10, "how many recipient domains to show, most results first")
	cluster := fs.Bool("cluster", false, "add up every server sharing the server's Redis, not the server alone")
	asJSON := fs.Bool("json", false, "print the response as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail("stats takes no arguments, got %q", fs.Args())
	}
	req, err := statsRequest(time.Now(), *since, *from, *to, *by, *group, *top)
	if err != nil {
		return fail("%v", err)
	}
	req.Cluster = *cluster
	req.TopDomains = uint32(*domains)
	conn, ctx, done, err := sf.adminConn(30 * time.Second)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	resp, err := scillav1.NewAdminServiceClient(conn).Statistics(ctx, req)
	if err != nil {
		return fail("statistics failed: %s", rpcError(sf.server, err))
	}
	if *asJSON {
		out, _ := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(resp)
		fmt.Println(string(out))
		return 0
	}
	printStats(os.Stdout, resp)
	return 0
}

// statsRequest builds the request from the flags; now is the clock.
func statsRequest(now time.Time, since, from, to, by string, group, top uint) (*scillav1.StatisticsRequest, error) {
	end := now
	if to != "" {
		t, err := parseDate(to)
		if err != nil {
			return nil, fmt.Errorf("--to: %w", err)
		}
		end = t
	}
	var start time.Time
	if from != "" {
		t, err := parseDate(from)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		start = t
	} else {
		d, err := parseSince(since)
		if err != nil {
			return nil, fmt.Errorf("--since: %w", err)
		}
		start = end.Add(-d)
	}
	if !start.Before(end) {
		return nil, fmt.Errorf("the range is empty: %s is not before %s", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	req := &scillav1.StatisticsRequest{From: timestamppb.New(start), To: timestamppb.New(end), GroupId: uint32(group), Top: uint32(top)}
	switch by {
	case "":
		req.Resolution = scillav1.Resolution_RESOLUTION_HOUR
		if end.Sub(start) > 72*time.Hour {
			req.Resolution = scillav1.Resolution_RESOLUTION_DAY
		}
	case "hour":
		req.Resolution = scillav1.Resolution_RESOLUTION_HOUR
	case "day":
		req.Resolution = scillav1.Resolution_RESOLUTION_DAY
	default:
		return nil, fmt.Errorf("--by: %q is not hour or day", by)
	}
	return req, nil
}

// parseSince reads a Go duration, or a number of days (7d) or weeks (2w).
func parseSince(s string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 16)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("%q is not a duration (24h, 7d, 2w)", s)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration (24h, 7d, 2w)", s)
	}
	return d, nil
}

// parseDate reads a date or time; without a zone it is UTC, like the
// server's hour and day buckets.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02, 2006-01-02T15:04 in UTC, or RFC 3339)", s)
}

func statusName(s scillav1.Status) string { return strings.TrimPrefix(s.String(), "STATUS_") }

func infoName(i scillav1.Info) string { return strings.TrimPrefix(i.String(), "INFO_") }

// printStats writes the readable report.
func printStats(w io.Writer, r *scillav1.StatisticsResponse) {
	// The series' columns, in the order of DESIGN §2.
	statusNames := []scillav1.Status{
		scillav1.Status_STATUS_SPAM, scillav1.Status_STATUS_PROBABLE_SPAM, scillav1.Status_STATUS_FORMAL,
		scillav1.Status_STATUS_TRUSTED, scillav1.Status_STATUS_BLACKLISTED, scillav1.Status_STATUS_NOT_DETECTED,
	}
	tot := r.GetTotals()
	layout := "2006-01-02 15:04"
	if r.GetResolution() == scillav1.Resolution_RESOLUTION_DAY {
		layout = "2006-01-02"
	}
	fmt.Fprintf(w, "from %s to %s UTC\n\n", r.GetFrom().AsTime().UTC().Format("2006-01-02 15:04"), r.GetTo().AsTime().UTC().Format("2006-01-02 15:04"))
	if n := r.GetServers(); n > 1 {
		fmt.Fprintf(w, "servers:    %d\n", n)
	}
	fmt.Fprintf(w, "messages:   %d\n", tot.GetMessages())
	fmt.Fprintf(w, "recipients: %d\n", tot.GetRecipients())
	fmt.Fprintf(w, "bytes:      %s\n", byteSize(tot.GetBytes()))
	var results uint64
	for _, s := range tot.GetStatuses() {
		results += s.GetResults()
	}
	fmt.Fprintf(w, "spam:       %s of the results (SPAM and PROBABLE_SPAM)\n", percent(spamResults(tot.GetStatuses()), results))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nresults by status:")
	for _, s := range tot.GetStatuses() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d rcpts\n", statusName(s.GetStatus()), s.GetResults(), percent(s.GetResults(), results), s.GetRecipients())
	}
	for _, i := range tot.GetInfos() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d rcpts\n", infoName(i.GetInfo()), i.GetResults(), percent(i.GetResults(), results), i.GetRecipients())
	}
	tw.Flush()

	if len(tot.GetGroups()) > 0 {
		fmt.Fprintln(w, "\nby group:")
		for _, g := range tot.GetGroups() {
			fmt.Fprintf(tw, "  %08d %s\t%d results\t%d rcpts\t%s spam\n", g.GetGroupId(), g.GetGroupName(), g.GetResults(), g.GetRecipients(), percent(spamResults(g.GetStatuses()), g.GetResults()))
		}
		tw.Flush()
	}
	if len(r.GetDomains()) > 0 {
		fmt.Fprintf(w, "\nby recipient domain (%d of %d):\n", len(r.GetDomains()), r.GetDomainCount())
		for _, d := range r.GetDomains() {
			fmt.Fprintf(tw, "  %s\t%d results\t%d rcpts\t%s spam\n", d.GetDomain(), d.GetResults(), d.GetRecipients(), percent(d.GetSpamResults(), d.GetResults()))
		}
		if n := r.GetOtherDomainResults(); n > 0 {
			fmt.Fprintf(tw, "  (other)\t%d results\n", n)
		}
		tw.Flush()
	}
	if len(tot.GetMethods()) > 0 {
		fmt.Fprintln(w, "\nby method:")
		for _, m := range tot.GetMethods() {
			fmt.Fprintf(tw, "  %s\t%d\n", m.GetName(), m.GetCount())
		}
		tw.Flush()
	}
	if len(r.GetTopSigns()) > 0 {
		fmt.Fprintln(w, "\ntop rules:")
		for _, s := range r.GetTopSigns() {
			fmt.Fprintf(tw, "  %s\t%d\n", s.GetName(), s.GetCount())
		}
		if n := r.GetOtherSignHits(); n > 0 {
			fmt.Fprintf(tw, "  (other)\t%d\n", n)
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nseries (UTC):\n")
	fmt.Fprintf(tw, "  \tmessages")
	for _, s := range statusNames {
		fmt.Fprintf(tw, "\t%s", statusName(s))
	}
	fmt.Fprintln(tw)
	for _, p := range r.GetSeries() {
		byStatus := map[scillav1.Status]uint64{}
		for _, s := range p.GetStatuses() {
			byStatus[s.GetStatus()] = s.GetResults()
		}
		fmt.Fprintf(tw, "  %s\t%d", p.GetStart().AsTime().UTC().Format(layout), p.GetMessages())
		for _, s := range statusNames {
			fmt.Fprintf(tw, "\t%d", byStatus[s])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// spamResults adds up the SPAM and PROBABLE_SPAM results.
func spamResults(c []*scillav1.StatusCount) uint64 {
	var n uint64
	for _, s := range c {
		if s.GetStatus() == scillav1.Status_STATUS_SPAM || s.GetStatus() == scillav1.Status_STATUS_PROBABLE_SPAM {
			n += s.GetResults()
		}
	}
	return n
}

func percent(n, of uint64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + " %"
}

func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
