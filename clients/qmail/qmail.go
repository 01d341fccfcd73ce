// Package qmail is scilla-qmail: a drop-in for qmail-queue(8) that scans
// each message with scillad before handing it to the original qmail-queue.
//
// It reads the message from descriptor 0 to its end, then the envelope from
// descriptor 1, exactly as qmail-queue does (qmail-smtpd closes the message
// pipe before it writes the envelope). The client's address comes from
// TCPREMOTEIP, TCPREMOTEHOST and TCPREMOTEINFO, the only environment it
// trusts: it is installed setuid qmailq like the original, so every other
// setting comes from the root-owned config file.
//
// The verdict is applied per recipient group: groups whose edits differ get
// their own run of the original qmail-queue (fresh pipes each time, QMAILQUEUE
// removed from its environment); deleted groups are dropped; rejected groups,
// when others deliver, get a bounce to the sender. Its own failures exit with
// qmail-queue's codes so qmail-smtpd answers the client correctly.
//
// It holds no policy: clients.NewPlan turns the verdict into actions.
package qmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/scilla-mail/scilla/clients"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Checker scans one message; *clients.Client is one.
type Checker interface {
	Check(ctx context.Context, env *scillav1.Envelope, msg []byte, requestID string) *clients.Plan
}

// Runner does one qmail-queue run.
type Runner struct {
	Config Config
	Client Checker
	Log    *slog.Logger
	// Getenv reads the client variables (TCPREMOTEIP, TCPREMOTEHOST,
	// TCPREMOTEINFO) and nothing else.
	Getenv func(string) string
	// Environ is the environment passed to the original qmail-queue,
	// QMAILQUEUE removed.
	Environ []string
	// ErrFD is descriptor 6 for custom error replies; nil when closed.
	ErrFD *os.File
	// Hostname names this host in logs, the envelope and bounces.
	Hostname string
	// Now is the clock (bounce dates, request ids).
	Now func() time.Time
}

// Run reads the message from msgIn and the envelope from envIn, scans, and
// queues; it returns the process exit code.
func (r *Runner) Run(ctx context.Context, msgIn, envIn io.Reader) (code int) {
	defer func() {
		if p := recover(); p != nil {
			r.Log.Error("internal error", "panic", fmt.Sprint(p))
			code = ExitBug
		}
	}()
	msg, err := io.ReadAll(io.LimitReader(msgIn, int64(r.Config.MaxMessage)+1))
	if err != nil {
		r.Log.Error("cannot read the message", "err", err)
		return ExitReadFailed
	}
	if int64(len(msg)) > int64(r.Config.MaxMessage) {
		r.Log.Error("message bigger than max_message", "limit", int64(r.Config.MaxMessage))
		return ExitNoMemory
	}
	env, err := ReadEnvelope(envIn)
	if err != nil {
		var qe *Error
		if errors.As(err, &qe) {
			r.Log.Error("bad envelope", "err", err, "exit", qe.Code)
			return qe.Code
		}
		return ExitReadFailed
	}
	requestID := fmt.Sprintf("qmail-%d-%d", r.now().UnixNano(), os.Getpid())
	log := r.Log.With("request_id", requestID)
	if len(env.To) == 0 {
		// Nothing to scan for; qmail-queue decides what an empty list means.
		return r.queue(ctx, log, msg, env)
	}
	senv := &scillav1.Envelope{
		ClientIp:       strings.TrimSpace(r.Getenv("TCPREMOTEIP")),
		ClientHostname: strings.TrimSpace(r.Getenv("TCPREMOTEHOST")),
		MailFrom:       env.From,
		RcptTo:         slices.Clone(env.To),
		MtaKind:        scillav1.MtaKind_MTA_KIND_QMAIL,
		MtaHost:        r.Hostname,
	}
	if r.Config.RemoteInfoIsAuthUser {
		senv.AuthUser = strings.TrimSpace(r.Getenv("TCPREMOTEINFO"))
	}
	plan := r.Client.Check(ctx, senv, msg, requestID)
	if ctx.Err() != nil {
		log.Error("timeout while scanning", "err", ctx.Err())
		return ExitTimeout
	}
	log = log.With("scan_id", plan.ScanID)
	switch plan.Outcome {
	case clients.Reject:
		log.Info("message refused", "reply", plan.Reply.String(), "rcpts", len(env.To))
		return r.refuse(log, true, plan.Reply)
	case clients.TempFail:
		log.Warn("message refused temporarily", "reply", plan.Reply.String(), "err", plan.Err)
		return r.refuse(log, false, plan.Reply)
	case clients.Discard:
		log.Info("message discarded by policy", "rcpts", len(env.To))
		return ExitOK
	}
	return r.deliver(ctx, log, msg, env, plan)
}

// batch is one run of the original qmail-queue: one content, its recipients.
type batch struct {
	edits clients.Edits
	to    []string
}

// deliver queues one copy per distinct set of edits and a bounce for the
// groups that rejected while others deliver. The bounce goes first: if it
// cannot be queued nothing has been, and the sender's retry duplicates
// nothing.
func (r *Runner) deliver(ctx context.Context, log *slog.Logger, msg []byte, env *Envelope, plan *clients.Plan) int {
	var batches []*batch
	var rejected []*clients.GroupPlan
	for _, g := range plan.Groups {
		switch {
		case g.Reject != nil:
			rejected = append(rejected, g)
			continue
		case g.Delete || len(g.Deliver) == 0:
			log.Info("recipients dropped by policy", "group", g.GroupName, "rcpts", len(g.Recipients))
			continue
		}
		var b *batch
		for _, x := range batches {
			if sameEdits(x.edits, g.Edits) {
				b = x
				break
			}
		}
		if b == nil {
			b = &batch{edits: g.Edits}
			batches = append(batches, b)
		}
		for _, t := range g.Deliver {
			if !slices.Contains(b.to, t) {
				b.to = append(b.to, t)
			}
		}
	}
	if len(rejected) > 0 {
		if env.From == "" {
			log.Warn("rejected recipients of a bounce dropped: no one to tell", "groups", len(rejected))
		} else {
			bounce := clients.BounceMessage(r.bounceHost(), env.From, r.now(), msg, rejected)
			if code := r.queue(ctx, log, bounce, &Envelope{From: "", To: []string{env.From}}); code != ExitOK {
				return code
			}
			log.Info("bounce queued for rejected recipients", "to", env.From, "groups", len(rejected))
		}
	}
	for _, b := range batches {
		if code := r.queue(ctx, log, b.edits.Apply(msg), &Envelope{From: env.From, To: b.to}); code != ExitOK {
			return code
		}
	}
	log.Info("queued", "copies", len(batches), "rcpts", len(env.To))
	return ExitOK
}

func sameEdits(a, b clients.Edits) bool {
	return a.SubjectPrefix == b.SubjectPrefix && slices.Equal(a.AddHeaders, b.AddHeaders) && slices.Equal(a.StripHeaders, b.StripHeaders)
}

// queue runs the original qmail-queue once with fresh pipes: the message on
// descriptor 0, closed, then the envelope on descriptor 1. It returns the
// original's exit code, or 52 on timeout and 81 when it cannot run or dies.
func (r *Runner) queue(ctx context.Context, log *slog.Logger, msg []byte, env *Envelope) int {
	msgR, msgW, err := os.Pipe()
	if err != nil {
		log.Error("make message pipe", "err", err)
		return ExitBug
	}
	envR, envW, err := os.Pipe()
	if err != nil {
		msgR.Close()
		msgW.Close()
		log.Error("make envelope pipe", "err", err)
		return ExitBug
	}
	cmd := exec.CommandContext(ctx, r.Config.Queue)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = msgR, envR, os.Stderr
	cmd.Env = r.Environ
	if r.ErrFD != nil {
		// Descriptor 6 goes through, for a chained filter that reports
		// its own custom error.
		cmd.ExtraFiles = []*os.File{nil, nil, nil, r.ErrFD}
	}
	err = cmd.Start()
	msgR.Close()
	envR.Close()
	if err != nil {
		msgW.Close()
		envW.Close()
		log.Error("cannot run the original qmail-queue", "path", r.Config.Queue, "err", err)
		return ExitBug
	}
	// A write fails only when the original exited early; its exit code
	// then says why.
	_, werr := msgW.Write(msg)
	msgW.Close()
	if werr == nil {
		_, werr = envW.Write(env.Bytes())
	}
	envW.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		log.Error("timeout waiting for the original qmail-queue", "err", ctx.Err())
		return ExitTimeout
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			log.Error("the original qmail-queue crashed", "signal", ws.Signal().String())
			return ExitBug
		}
		log.Warn("the original qmail-queue failed", "exit", ee.ExitCode(), "write_err", werr)
		return ee.ExitCode()
	default:
		log.Error("wait for the original qmail-queue", "err", err)
		return ExitBug
	}
}

// refuse reports a refusal: the reply on descriptor 6 with exit 82 when the
// caller supports it, else exit 31 (permanent) or 71 (temporary).
func (r *Runner) refuse(log *slog.Logger, permanent bool, reply clients.Reply) int {
	code := ExitTempRefused
	kind := "Z"
	if permanent {
		code, kind = ExitRefused, "D"
	}
	if r.ErrFD == nil {
		return code
	}
	text := strings.TrimSpace(reply.Enhanced + " " + reply.Text)
	if _, err := r.ErrFD.Write([]byte(kind + text)); err != nil {
		log.Warn("cannot write the reply to descriptor 6", "err", err)
		return code
	}
	return ExitCustom
}

// CustomErrorFD returns descriptor 6 when the config and the caller allow
// custom error replies, else nil. "auto" requires an open pipe.
func CustomErrorFD(mode string) *os.File {
	if mode == "off" {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(6, &st); err != nil {
		return nil
	}
	if mode == "auto" && st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return nil
	}
	return os.NewFile(6, "qmail-queue-error")
}

// Environ returns env without QMAILQUEUE, so the original qmail-queue (or
// anything it runs) cannot loop back into scilla-qmail.
func Environ(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "QMAILQUEUE=") {
			out = append(out, kv)
		}
	}
	return out
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) bounceHost() string {
	if r.Config.BounceHost != "" {
		return r.Config.BounceHost
	}
	return r.Hostname
}
