// Package pipe is scilla-pipe: an SMTP or LMTP content filter that scans
// each message on scillad and hands it on by SMTP, LMTP or a command.
//
// It is the filter in Postfix's content_filter (after-queue, re-injection
// on a second smtpd) and smtpd_proxy_filter (before-queue) setups and an
// Exim lmtp transport (command = scilla-pipe -stdio ...). The upstream MTA
// gets its reply only after the next hop accepted (or refused) the
// message, so a crash anywhere in between loses nothing: the MTA keeps the
// message queued and retries.
//
// With splitting on, each recipient group gets its own copy with its own
// edits; otherwise every group's changes go onto one copy (like the milter).
// Recipients whose group rejects get a per-recipient 5xx in LMTP; in SMTP,
// where one reply covers the whole message, they get a bounce (DSN) sent to
// the sender while the others are delivered.
package pipe

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Scanner is what the pipe needs from clients.Client.
type Scanner interface {
	Check(ctx context.Context, env *scillav1.Envelope, msg []byte, requestID string) *clients.Plan
}

// Sender hands messages on; *Deliverer is the implementation.
type Sender interface {
	Send(ctx context.Context, from string, rcpts []string, msg []byte, opt Options) []smtpserver.Reply
}

// Config configures a Pipe.
type Config struct {
	// Split makes one copy per recipient group.
	Split bool
	// Hostname names this host in logs, DSNs and the scan request.
	Hostname string
	// Client is the fixed client data for sessions without XFORWARD (the
	// stdin mode for Exim passes it on the command line). Empty fields are
	// taken from the connection.
	Client ClientInfo
}

// ClientInfo is what the MTA knows about its SMTP client.
type ClientInfo struct {
	IP, Name, Helo, QueueID, AuthUser string
}

// Pipe scans and passes on messages; it implements smtpserver.Handler.
type Pipe struct {
	scan Scanner
	out  Sender
	cfg  Config
	log  *slog.Logger
}

// New returns a Pipe. log may be nil.
func New(scan Scanner, out Sender, cfg Config, log *slog.Logger) *Pipe {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipe{scan: scan, out: out, cfg: cfg, log: log}
}

var _ smtpserver.Handler = (*Pipe)(nil)

// Deliver implements smtpserver.Handler.
func (p *Pipe) Deliver(ctx context.Context, env *smtpserver.Envelope, msg []byte) []smtpserver.Reply {
	senv := p.envelope(env)
	plan := p.scan.Check(ctx, senv, msg, senv.QueueId)
	log := p.log.With("scan_id", plan.ScanID, "queue_id", senv.QueueId)

	n := len(env.Rcpts)
	replies := make([]smtpserver.Reply, n)
	all := func(r smtpserver.Reply) []smtpserver.Reply {
		for i := range replies {
			replies[i] = r
		}
		return p.finish(ctx, env, msg, replies, log, plan)
	}
	switch plan.Outcome {
	case clients.Reject, clients.TempFail:
		return all(smtpserver.Reply{Code: plan.Reply.Code, Enhanced: plan.Reply.Enhanced, Text: plan.Reply.Text})
	case clients.Discard:
		log.Info("message discarded by policy", "rcpts", n)
		return all(smtpserver.Reply{Code: 250, Enhanced: "2.0.0", Text: "Ok"})
	}

	// Which original recipients (by index) each copy stands for. The
	// server's group recipients are the normalised addresses Check sent.
	index := map[string][]int{}
	for i, r := range senv.RcptTo {
		k := strings.ToLower(r)
		index[k] = append(index[k], i)
	}
	covered := make([]bool, n)
	type copyPlan struct {
		idx     []int
		deliver []string
		edits   clients.Edits
		reject  *clients.Reply
		delete  bool
		group   uint32
	}
	var copies []*copyPlan
	var merged *copyPlan
	for _, g := range plan.Groups {
		cp := &copyPlan{deliver: g.Deliver, edits: g.Edits, reject: g.Reject, delete: g.Delete, group: g.GroupID}
		for _, r := range g.Recipients {
			for _, i := range index[strings.ToLower(r)] {
				if !covered[i] {
					covered[i] = true
					cp.idx = append(cp.idx, i)
				}
			}
		}
		if !p.cfg.Split && cp.reject == nil && !cp.delete {
			// One copy for every delivering group, with the merged edits.
			if merged == nil {
				merged = &copyPlan{edits: plan.Merged}
				copies = append(copies, merged)
			}
			merged.idx = append(merged.idx, cp.idx...)
			merged.deliver = appendNew(merged.deliver, cp.deliver...)
			continue
		}
		copies = append(copies, cp)
	}
	// Recipients the server did not place in any group still get the mail.
	var left []int
	var leftAddr []string
	for i, c := range covered {
		if !c {
			left = append(left, i)
			leftAddr = append(leftAddr, env.Rcpts[i])
		}
	}
	if len(left) > 0 {
		log.Warn("recipients missing from the verdict, delivering with the merged edits", "rcpts", strings.Join(leftAddr, ","))
		copies = append(copies, &copyPlan{idx: left, deliver: leftAddr, edits: plan.Merged})
	}

	opt := Options{Body: env.Body, UTF8: env.UTF8}
	for _, cp := range copies {
		switch {
		case cp.reject != nil:
			for _, i := range cp.idx {
				replies[i] = smtpserver.Reply{Code: cp.reject.Code, Enhanced: cp.reject.Enhanced, Text: cp.reject.Text}
			}
		case cp.delete:
			for _, i := range cp.idx {
				replies[i] = smtpserver.Reply{Code: 250, Enhanced: "2.0.0", Text: "Ok"}
			}
			log.Info("group copy deleted by policy", "group_id", cp.group, "rcpts", len(cp.idx))
		default:
			data := cp.edits.Apply(msg)
			res := p.out.Send(ctx, env.From, cp.deliver, data, opt)
			byAddr := map[string]smtpserver.Reply{}
			for j, a := range cp.deliver {
				byAddr[strings.ToLower(a)] = res[j]
			}
			for _, i := range cp.idx {
				if r, ok := byAddr[strings.ToLower(senv.RcptTo[i])]; ok {
					replies[i] = r
				} else if r, ok := byAddr[strings.ToLower(env.Rcpts[i])]; ok {
					replies[i] = r
				} else {
					// Redirected: the recipient's fate is that of the
					// redirect addresses.
					replies[i] = worst(res)
				}
			}
		}
	}
	return p.finish(ctx, env, msg, replies, log, plan)
}

// finish turns per-recipient replies into what the session sends: all of
// them in LMTP; one in SMTP, after bouncing permanently refused
// recipients when others were accepted.
func (p *Pipe) finish(ctx context.Context, env *smtpserver.Envelope, msg []byte, replies []smtpserver.Reply, log *slog.Logger, plan *clients.Plan) []smtpserver.Reply {
	ok, temp, perm := 0, 0, 0
	for _, r := range replies {
		switch {
		case r.OK():
			ok++
		case r.Temporary():
			temp++
		default:
			perm++
		}
	}
	log.Info("message done", "outcome", plan.Outcome.String(), "rcpts", len(replies), "accepted", ok, "tempfail", temp, "refused", perm)
	if env.LMTP {
		return replies
	}
	switch {
	case temp > 0:
		if ok > 0 {
			log.Warn("some recipients delivered, others failed temporarily: the whole message is retried and may arrive twice for the delivered ones")
		}
		return []smtpserver.Reply{firstWhere(replies, smtpserver.Reply.Temporary)}
	case perm > 0 && ok == 0:
		return []smtpserver.Reply{firstWhere(replies, func(r smtpserver.Reply) bool { return !r.OK() })}
	case perm > 0:
		// Accepted for some, refused for others: bounce the refused ones.
		if err := p.bounce(ctx, env, msg, replies); err != nil {
			log.Error("could not send bounce for refused recipients; asking the MTA to retry", "err", err)
			return []smtpserver.Reply{{Code: 451, Enhanced: "4.3.0", Text: "Error: could not return refused recipients"}}
		}
	}
	return []smtpserver.Reply{firstWhere(replies, smtpserver.Reply.OK)}
}

func firstWhere(rs []smtpserver.Reply, f func(smtpserver.Reply) bool) smtpserver.Reply {
	for _, r := range rs {
		if f(r) {
			return r
		}
	}
	return rs[0]
}

// worst returns the most severe reply: any 4xx, else any 5xx, else the
// first.
func worst(rs []smtpserver.Reply) smtpserver.Reply {
	if len(rs) == 0 {
		return smtpserver.Reply{Code: 451, Enhanced: "4.3.0", Text: "Error: no delivery"}
	}
	for _, r := range rs {
		if r.Temporary() {
			return r
		}
	}
	for _, r := range rs {
		if !r.OK() {
			return r
		}
	}
	return rs[0]
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		dup := false
		for _, l := range list {
			if strings.EqualFold(l, a) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, a)
		}
	}
	return list
}

// envelope builds the scan request envelope: XFORWARD data first (the
// real client behind the MTA), then the configured client data, then the
// connection itself.
func (p *Pipe) envelope(env *smtpserver.Envelope) *scillav1.Envelope {
	xf, ci := env.XForward, p.cfg.Client
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	peer := ""
	if host, _, err := net.SplitHostPort(env.Remote); err == nil {
		peer = host
	}
	return &scillav1.Envelope{
		ClientIp:       pick(xf.Addr, ci.IP, peer),
		ClientHostname: pick(xf.Name, ci.Name),
		Helo:           pick(xf.Helo, ci.Helo, env.Helo),
		MailFrom:       env.From,
		RcptTo:         append([]string(nil), env.Rcpts...),
		AuthUser:       ci.AuthUser,
		QueueId:        pick(xf.Ident, ci.QueueID, fmt.Sprintf("pipe-%d", time.Now().UnixNano())),
		MtaKind:        scillav1.MtaKind_MTA_KIND_PIPE,
		MtaHost:        p.cfg.Hostname,
	}
}
