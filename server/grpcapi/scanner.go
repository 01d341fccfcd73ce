// Package grpcapi serves Scilla's gRPC API: the Scanner service that mail
// server plug-ins call, and the authenticated Admin service. It turns
// requests into engine scans on the worker pool and engine verdicts into
// protobuf responses; it holds no filtering logic of its own.
package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/headers"
	"github.com/scilla-mail/scilla/server/pool"
	"github.com/scilla-mail/scilla/server/stats"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Limits are the scan settings that can change on reload.
type Limits struct {
	// MaxMessageBytes is the largest message accepted.
	MaxMessageBytes int
	// Deadline is the longest a scan may take, waiting for a worker included.
	Deadline time.Duration
}

// Scanner implements scillav1.ScannerServiceServer.
type Scanner struct {
	scillav1.UnimplementedScannerServiceServer
	eng     *engine.Engine
	pool    *pool.Pool
	metrics *Metrics
	log     *slog.Logger
	stats   *stats.Store
	limits  atomic.Pointer[Limits]
}

// NewScanner returns the Scanner service. m may be nil.
func NewScanner(eng *engine.Engine, p *pool.Pool, m *Metrics, log *slog.Logger, lim Limits) *Scanner {
	s := &Scanner{eng: eng, pool: p, metrics: m, log: log}
	s.limits.Store(&lim)
	return s
}

// WithStats makes every scan recorded in st for the Statistics call; call it
// before serving.
func (s *Scanner) WithStats(st *stats.Store) *Scanner {
	s.stats = st
	return s
}

// SetLimits applies new limits to scans that start after the call.
func (s *Scanner) SetLimits(l Limits) { s.limits.Store(&l) }

// NewScanID returns a new unique, roughly time-ordered scan id: the Unix
// time in milliseconds as at least 11 hex digits, a dash and 8 random hex
// digits.
func NewScanID() string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	var digits [16]byte
	ms := strconv.AppendUint(digits[:0], uint64(time.Now().UnixMilli()), 16)
	b := make([]byte, 0, 24)
	for i := len(ms); i < 11; i++ {
		b = append(b, '0')
	}
	b = append(b, ms...)
	b = append(b, '-')
	b = hex.AppendEncode(b, r[:])
	return string(b)
}

// Scan implements the Scan RPC.
func (s *Scanner) Scan(ctx context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	lim := s.limits.Load()
	if n := len(req.GetMessage()); n > lim.MaxMessageBytes {
		return nil, status.Errorf(codes.ResourceExhausted, "message: %d bytes is over the server limit of %d bytes (server.max_message_bytes)", n, lim.MaxMessageBytes)
	}
	scanID := NewScanID()
	env := envelope(req.GetEnvelope())

	ctx, cancel := context.WithTimeout(ctx, lim.Deadline)
	defer cancel()
	start := time.Now()
	// The job writes its outcome into o before it returns; Do returning nil
	// means the job has returned (Do received its completion), so reading o
	// then is safe. When Do gives up at the deadline the job may still be
	// running, and o is not read.
	o := &scanOutcome{}
	err := s.pool.Do(ctx, func() {
		o.v, o.err = s.eng.Scan(ctx, scanID, env, req.GetMessage())
	})
	var v *engine.Verdict
	if err == nil {
		v, err = o.v, o.err
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, status.FromContextError(ctx.Err()).Err() // the client went away
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "scan not processed", slog.String("scan_id", scanID), slog.Any("err", err), slog.String("queue_id", env.QueueID))
		if v == nil || errors.Is(err, pool.ErrPanic) || errors.Is(err, context.DeadlineExceeded) {
			v = s.eng.NotProcessed(scanID, env)
		}
	}
	v.Elapsed = time.Since(start)
	resp := s.response(v, env)
	s.metrics.observe(v, err)
	s.stats.Record(v, len(req.GetMessage()))
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "scanned", slog.String("scan_id", scanID), slog.String("queue_id", env.QueueID),
			slog.String("from", env.MailFrom), slog.Int("rcpts", len(env.Rcpts)), slog.Int("bytes", len(req.GetMessage())),
			slog.String("results", summary(resp)), slog.Duration("elapsed", v.Elapsed.Round(time.Microsecond)))
	}
	return resp, nil
}

// scanOutcome is what a scan job hands back to the RPC.
type scanOutcome struct {
	v   *engine.Verdict
	err error
}

func envelope(e *scillav1.Envelope) *engine.Envelope {
	env := &engine.Envelope{
		ClientHost: e.GetClientHostname(),
		Helo:       e.GetHelo(),
		MailFrom:   engine.NormalizeAddress(e.GetMailFrom()),
		AuthUser:   e.GetAuthUser(),
		QueueID:    e.GetQueueId(),

		RcptsFromHeader: e.GetRcptFromHeader(),
	}
	if ip, err := netip.ParseAddr(strings.Trim(e.GetClientIp(), "[]")); err == nil {
		env.ClientIP = ip.Unmap()
	}
	for _, r := range e.GetRcptTo() {
		env.Rcpts = append(env.Rcpts, engine.NormalizeAddress(r))
	}
	return env
}

// response turns a verdict into the API form; headers.Build computes every
// group's action and edits, so all clients apply the same thing.
func (s *Scanner) response(v *engine.Verdict, env *engine.Envelope) *scillav1.ScanResponse {
	resp := &scillav1.ScanResponse{
		ScanId:          v.ScanID,
		EngineVersion:   engine.Version,
		DatabaseVersion: v.DBVersion,
		Elapsed:         durationpb.New(v.Elapsed),
		StripHeaders:    headers.StripNames(),
	}
	for _, gv := range v.Groups {
		h := headers.Build(v, gv, env.MailFrom)
		r := &scillav1.GroupResult{
			GroupId:       gv.Group.ID,
			GroupName:     gv.Group.Name,
			Recipients:    gv.Recipients,
			Status:        scillav1.Status(gv.Status),
			Info:          protoInfo(gv.Info),
			Action:        scillav1.Action(h.Action + 1),
			CopyTo:        h.CopyTo,
			RedirectTo:    h.RedirectTo,
			RejectText:    h.RejectText,
			Score:         gv.Score,
			Rate:          uint32(gv.Rate),
			Method:        gv.Method,
			Categories:    gv.Categories,
			Modifications: &scillav1.Modifications{SubjectPrefix: h.SubjectPrefix},
		}
		for _, sg := range gv.Signs {
			r.Rules = append(r.Rules, &scillav1.Rule{Name: sg.Name, Score: sg.Score, Description: sg.Desc, Category: sg.Category})
		}
		for _, hd := range h.Headers {
			r.Modifications.AddHeaders = append(r.Modifications.AddHeaders, &scillav1.Header{Name: hd.Name, Value: hd.Value})
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// protoInfo maps verdict.Info onto the API enum.
func protoInfo(i verdict.Info) scillav1.Info {
	switch i {
	case verdict.NotProtected:
		return scillav1.Info_INFO_NOT_PROTECTED
	case verdict.NoLicense:
		return scillav1.Info_INFO_NO_LICENSE
	case verdict.NotProcessed:
		return scillav1.Info_INFO_NOT_PROCESSED
	case verdict.LicenseLimitExceeded:
		return scillav1.Info_INFO_LICENSE_LIMIT_EXCEEDED
	}
	return scillav1.Info_INFO_NONE
}

func summary(resp *scillav1.ScanResponse) string {
	var b []byte
	for i, r := range resp.Results {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendUint(b, uint64(r.GroupId), 10)
		b = append(b, ':')
		b = append(b, strings.TrimPrefix(r.Status.String(), "STATUS_")...)
		if r.Info != scillav1.Info_INFO_NONE {
			b = append(b, '/')
			b = append(b, strings.TrimPrefix(r.Info.String(), "INFO_")...)
		}
	}
	return string(b)
}
