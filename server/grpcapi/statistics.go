package grpcapi

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/stats"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Statistics defaults and bounds.
const (
	defaultStatsRange = 24 * time.Hour
	defaultTopSigns   = 10
	maxTopSigns       = 1000
	defaultTopDomains = 10
	maxTopDomains     = 100000
)

// Statistics implements the Statistics RPC.
func (a *Admin) Statistics(ctx context.Context, req *scillav1.StatisticsRequest) (*scillav1.StatisticsResponse, error) {
	if a.d.Stats == nil {
		return nil, status.Error(codes.Unimplemented, "statistics are not available")
	}
	to := time.Now()
	if req.GetTo() != nil {
		if err := req.GetTo().CheckValid(); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "to: %v", err)
		}
		to = req.GetTo().AsTime()
	}
	from := to.Add(-defaultStatsRange)
	if req.GetFrom() != nil {
		if err := req.GetFrom().CheckValid(); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "from: %v", err)
		}
		from = req.GetFrom().AsTime()
	}
	if !from.Before(to) {
		return nil, status.Errorf(codes.InvalidArgument, "from (%s) must be before to (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	if from.Unix() < 0 {
		return nil, status.Error(codes.InvalidArgument, "from: must be after 1970")
	}
	res := req.GetResolution()
	if res == scillav1.Resolution_RESOLUTION_UNSPECIFIED {
		res = scillav1.Resolution_RESOLUTION_HOUR
	}
	if res != scillav1.Resolution_RESOLUTION_HOUR && res != scillav1.Resolution_RESOLUTION_DAY {
		return nil, status.Errorf(codes.InvalidArgument, "resolution: %v is not RESOLUTION_HOUR or RESOLUTION_DAY", res)
	}
	top := int(req.GetTop())
	if top == 0 {
		top = defaultTopSigns
	}
	if top > maxTopSigns {
		return nil, status.Errorf(codes.InvalidArgument, "top: %d is over %d", top, maxTopSigns)
	}
	topDomains := int(req.GetTopDomains())
	if topDomains == 0 {
		topDomains = defaultTopDomains
	}
	if topDomains > maxTopDomains {
		return nil, status.Errorf(codes.InvalidArgument, "top_domains: %d is over %d", topDomains, maxTopDomains)
	}
	r, err := a.d.Stats.Query(stats.Query{From: from, To: to, Day: res == scillav1.Resolution_RESOLUTION_DAY, Group: req.GetGroupId(), Cluster: req.GetCluster()})
	switch {
	case errors.Is(err, stats.ErrNoCluster):
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	case err != nil && req.GetCluster():
		return nil, status.Errorf(codes.Unavailable, "%v", err)
	case err != nil:
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	resp := &scillav1.StatisticsResponse{
		From:               timestamppb.New(r.From),
		To:                 timestamppb.New(r.To),
		Resolution:         res,
		OtherSignHits:      r.OtherSigns,
		Servers:            uint32(r.Servers),
		DomainCount:        uint32(len(r.Domains)),
		OtherDomainResults: r.OtherDomains.Results,
		Totals: &scillav1.StatisticsTotals{
			Messages:   r.Messages,
			Recipients: r.Recipients,
			Bytes:      r.Bytes,
			Statuses:   statusCounts(&r.Status),
			Infos:      infoCounts(&r.Info),
		},
	}
	for _, m := range stats.Top(r.Method, -1) {
		resp.Totals.Methods = append(resp.Totals.Methods, &scillav1.NameCount{Name: m.Name, Count: m.Count})
	}
	for _, sg := range stats.Top(r.Signs, top) {
		resp.TopSigns = append(resp.TopSigns, &scillav1.NameCount{Name: sg.Name, Count: sg.Count})
	}
	for _, d := range r.TopDomains(topDomains) {
		resp.Domains = append(resp.Domains, &scillav1.DomainStatistics{
			Domain: d.Name, Results: d.Results, Recipients: d.Recipients, SpamResults: d.Spam.Results, SpamRecipients: d.Spam.Recipients})
	}
	ids := make([]uint32, 0, len(r.Groups))
	for id := range r.Groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := r.Groups[id]
		resp.Totals.Groups = append(resp.Totals.Groups, &scillav1.GroupStatistics{
			GroupId:    id,
			GroupName:  g.Name,
			Results:    g.Results,
			Recipients: g.Recipients,
			Bytes:      g.Bytes,
			Statuses:   statusCounts(&g.Status),
			Infos:      infoCounts(&g.Info),
		})
	}
	for _, p := range r.Series {
		resp.Series = append(resp.Series, &scillav1.StatisticsPoint{
			Start:    timestamppb.New(p.Start),
			Messages: p.Messages,
			Statuses: statusCounts(&p.Status),
		})
	}
	return resp, nil
}

// statusCounts lists the statuses with results, in enum order.
func statusCounts(c *[stats.NumStatus]stats.Count) []*scillav1.StatusCount {
	var out []*scillav1.StatusCount
	for i, n := range c {
		if n.Results > 0 {
			out = append(out, &scillav1.StatusCount{Status: scillav1.Status(i), Results: n.Results, Recipients: n.Recipients})
		}
	}
	return out
}

// infoCounts lists the infos with results, in enum order.
func infoCounts(c *[stats.NumInfo]stats.Count) []*scillav1.InfoCount {
	var out []*scillav1.InfoCount
	for i, n := range c {
		if n.Results > 0 {
			out = append(out, &scillav1.InfoCount{Info: protoInfo(verdict.Info(i)), Results: n.Results, Recipients: n.Recipients})
		}
	}
	return out
}
