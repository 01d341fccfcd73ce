package web

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// overview shows Admin.Status.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	st, err := call(r, statusTimeout, s.o.Admin.Status, &scillav1.StatusRequest{})
	s.render(w, r, "overview", st, err)
}

// statsRange is one choice of the statistics page's range.
type statsRange struct {
	Name string
	d    time.Duration
	res  scillav1.Resolution
}

// statsRanges are the statistics page's ranges.
func statsRanges() []statsRange {
	return []statsRange{
		{"1h", time.Hour, scillav1.Resolution_RESOLUTION_HOUR},
		{"24h", 24 * time.Hour, scillav1.Resolution_RESOLUTION_HOUR},
		{"7d", 7 * 24 * time.Hour, scillav1.Resolution_RESOLUTION_DAY},
	}
}

// statsView is the statistics page's data.
type statsView struct {
	Range   string
	Ranges  []statsRange
	Cluster bool
	// Statuses head the per-status columns, in the order of DESIGN §2.
	Statuses []scillav1.Status
	Resp     *scillav1.StatisticsResponse
	// Results are the group results over every status; Spam those with
	// SPAM or PROBABLE_SPAM.
	Results, Spam uint64
	Groups        []statusRow[*scillav1.GroupStatistics]
	Series        []statusRow[*scillav1.StatisticsPoint]
}

// statusRow is a line of a table with a column per status.
type statusRow[T any] struct {
	Of       T
	ByStatus []uint64
}

// byStatus spreads counts over the columns of order.
func byStatus(counts []*scillav1.StatusCount, order []scillav1.Status) []uint64 {
	out := make([]uint64, len(order))
	for _, c := range counts {
		if i := slices.Index(order, c.GetStatus()); i >= 0 {
			out[i] = c.GetResults()
		}
	}
	return out
}

// statistics shows Admin.Statistics for the last hour, 24 hours or 7 days
// (?range=1h|24h|7d), of this server or with ?cluster=1 of every server
// sharing its Redis.
func (s *Server) statistics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := statsView{Ranges: statsRanges(), Cluster: q.Get("cluster") != "", Range: q.Get("range"), Statuses: []scillav1.Status{
		scillav1.Status_STATUS_SPAM, scillav1.Status_STATUS_PROBABLE_SPAM, scillav1.Status_STATUS_FORMAL,
		scillav1.Status_STATUS_TRUSTED, scillav1.Status_STATUS_BLACKLISTED, scillav1.Status_STATUS_NOT_DETECTED,
	}}
	if v.Range == "" {
		v.Range = "24h"
	}
	i := slices.IndexFunc(v.Ranges, func(c statsRange) bool { return c.Name == v.Range })
	if i < 0 {
		s.render(w, r, "statistics", v, status.Errorf(codes.InvalidArgument, "range %q: choose 1h, 24h or 7d", v.Range))
		return
	}
	now := s.now()
	resp, err := call(r, statsTimeout, s.o.Admin.Statistics, &scillav1.StatisticsRequest{
		From: timestamppb.New(now.Add(-v.Ranges[i].d)), To: timestamppb.New(now),
		Resolution: v.Ranges[i].res, Cluster: v.Cluster,
	})
	v.Resp = resp
	for i, n := range byStatus(resp.GetTotals().GetStatuses(), v.Statuses) {
		v.Results += n
		if st := v.Statuses[i]; st == scillav1.Status_STATUS_SPAM || st == scillav1.Status_STATUS_PROBABLE_SPAM {
			v.Spam += n
		}
	}
	for _, g := range resp.GetTotals().GetGroups() {
		v.Groups = append(v.Groups, statusRow[*scillav1.GroupStatistics]{g, byStatus(g.GetStatuses(), v.Statuses)})
	}
	for _, p := range resp.GetSeries() {
		v.Series = append(v.Series, statusRow[*scillav1.StatisticsPoint]{p, byStatus(p.GetStatuses(), v.Statuses)})
	}
	s.render(w, r, "statistics", v, err)
}

// license shows License.Info.
func (s *Server) license(w http.ResponseWriter, r *http.Request) {
	info, err := call(r, licenseTimeout, s.o.License.Info, &scillav1.InfoRequest{})
	s.render(w, r, "license", info, err)
}

// databaseView is the database page's data.
type databaseView struct {
	Status *scillav1.StatusResponse
	// Done is what the action just run did, one line each.
	Done []string
}

func (s *Server) database(w http.ResponseWriter, r *http.Request) {
	st, err := call(r, statusTimeout, s.o.Admin.Status, &scillav1.StatusRequest{})
	s.render(w, r, "database", databaseView{Status: st}, err)
}

// databaseAction runs the button pressed on the database page: action =
// update, reload or reload-policy; then shows the page with what it did.
func (s *Server) databaseAction(w http.ResponseWriter, r *http.Request) {
	var v databaseView
	var err error
	action := r.PostFormValue("action")
	switch action {
	case "update":
		var resp *scillav1.UpdateResponse
		if resp, err = call(r, updateTimeout, s.o.Admin.Update, &scillav1.UpdateRequest{}); err == nil {
			v.Done = []string{resp.GetResult()}
		}
	case "reload":
		var resp *scillav1.ReloadResponse
		if resp, err = call(r, reloadTimeout, s.o.Admin.Reload, &scillav1.ReloadRequest{}); err == nil {
			v.Done = resp.GetReloaded()
		}
	case "reload-policy":
		var resp *scillav1.ReloadPolicyResponse
		if resp, err = call(r, policyTimeout, s.o.Admin.ReloadPolicy, &scillav1.ReloadPolicyRequest{}); err == nil {
			v.Done = []string{fmt.Sprintf("policy %s reloaded: %d groups", resp.GetPolicySource(), resp.GetGroups())}
		}
	default:
		err = status.Errorf(codes.InvalidArgument, "action %q: want update, reload or reload-policy", action)
	}
	s.log.Info("console: database action", "action", action, "remote", r.RemoteAddr, "done", v.Done, "err", err)
	st, stErr := call(r, statusTimeout, s.o.Admin.Status, &scillav1.StatusRequest{})
	v.Status = st
	if err == nil {
		err = stErr
	}
	s.render(w, r, "database", v, err)
}

// scanView is the scan page's data.
type scanView struct {
	Form scanForm
	Resp *scillav1.ScanResponse
}

func (s *Server) scanPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "scan", scanView{}, nil)
}

// scan runs a test scan through the Scanner, validated as gRPC Scan
// requests are.
func (s *Server) scan(w http.ResponseWriter, r *http.Request) {
	form, req, err := parseScanForm(r)
	if err == nil {
		if verr := req.Validate(); verr != nil {
			err = verr
		}
	}
	if err != nil {
		s.render(w, r, "scan", scanView{Form: form}, status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	resp, err := call(r, scanTimeout, s.o.Scanner.Scan, req)
	s.render(w, r, "scan", scanView{Form: form, Resp: resp}, err)
}

// learnView is the learning page's data.
type learnView struct {
	// Sent is how many messages the upload held.
	Sent  int
	Label string
	Resp  *scillav1.LearnResponse
}

func (s *Server) learnPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "learn", learnView{}, nil)
}

// learn trains the classifier with the uploaded messages (Admin.Learn).
func (s *Server) learn(w http.ResponseWriter, r *http.Request) {
	req, err := parseLearnForm(r)
	if err != nil {
		s.render(w, r, "learn", learnView{}, status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	resp, err := call(r, learnTimeout, s.o.Admin.Learn, req)
	s.log.Info("console: learn", "remote", r.RemoteAddr, "label", enumName(req.GetLabel()), "messages", len(req.GetMessages()), "err", err)
	s.render(w, r, "learn", learnView{Sent: len(req.GetMessages()), Label: enumName(req.GetLabel()), Resp: resp}, err)
}
