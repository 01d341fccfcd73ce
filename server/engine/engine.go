package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scilla-mail/scilla/internal/gopool"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Version is the engine version reported in X-Spamtest-Version and Status.
const Version = "scilla/1.0"

// Licenser decides, per recipient, whether the licence lets a message be
// filtered. It must answer from memory without blocking; nil admits all.
type Licenser interface {
	// Admit returns one Info per protected recipient: verdict.InfoNone to
	// filter, verdict.NoLicense or verdict.LicenseLimitExceeded to pass untouched.
	Admit(rcpts []string, size int) []verdict.Info
}

// Snapshot is the policy and database a scan runs with, swapped as a whole.
type Snapshot struct {
	Policy *policy.Policy
	DB     *contentdb.DB
}

// Options configure an Engine.
type Options struct {
	Checks   []Check
	Licenser Licenser
	Limits   message.Limits
	Log      *slog.Logger
	// Sent, when set, is told the Message-ID and the From name of every
	// message a local user submits (the envelope has an authenticated user),
	// whoever it is for, so that the answers to it, and strangers writing in
	// the user's name, are recognised (server/replies).
	Sent SentLog
	// Autolearn, when set, is offered every rated message with its verdict
	// and learns those the verdict is sure about (server/autolearn).
	Autolearn Autolearner
}

// Autolearner learns from the engine's verdicts. Offer must not block:
// it is called on the scan's path.
type Autolearner interface {
	Offer(raw []byte, v *Verdict)
}

// SentLog remembers the mail local users send, the names they go by and
// the domains they write to.
type SentLog interface {
	Remember(ctx context.Context, messageID string) error
	RememberNames(ctx context.Context, displayNames ...string) error
	RememberDomains(ctx context.Context, domains ...string) error
}

// Engine runs scans. It is safe for concurrent use.
type Engine struct {
	checks    []Check
	waiters   []Check
	licenser  Licenser
	limits    message.Limits
	log       *slog.Logger
	sent      SentLog
	autolearn Autolearner
	snap      atomic.Pointer[Snapshot]
	// waiters run on reused goroutines: a fresh goroutine per waiter and
	// scan would grow its stack to the check's depth every time.
	goers gopool.Pool
}

// New returns an engine running snap until the next Swap.
func New(opts Options, snap *Snapshot) *Engine {
	e := &Engine{licenser: opts.Licenser, limits: opts.Limits, log: opts.Log, sent: opts.Sent, autolearn: opts.Autolearn}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.limits == (message.Limits{}) {
		e.limits = message.DefaultLimits
	}
	for _, c := range opts.Checks {
		if w, ok := c.(Waiter); ok && w.Waits() {
			e.waiters = append(e.waiters, c)
		} else {
			e.checks = append(e.checks, c)
		}
	}
	e.snap.Store(snap)
	return e
}

// Snapshot returns the snapshot new scans start with.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Swap installs a new snapshot; scans in flight keep the one they started with.
func (e *Engine) Swap(s *Snapshot) { e.snap.Store(s) }

// Verdict is the outcome of one scan.
type Verdict struct {
	ScanID    string
	Groups    []*GroupVerdict
	DBVersion string
	Elapsed   time.Duration
}

// GroupVerdict is the outcome for one recipient group.
type GroupVerdict struct {
	Group      *policy.Group
	Recipients []string
	Status     verdict.Status
	Info       verdict.Info
	Score      float64
	// Rate is 0..100 for X-Spamtest-Rate.
	Rate       int
	Signs      []Sign
	Method     string
	Categories []string
	// Action is the group's action for Status (Accept when not rated).
	Action policy.Action
	// Headers are the check-provided headers (e.g. Authentication-Results).
	Headers []Header
}

// ErrPanic marks a scan that panicked; the verdict is NOT_PROCESSED.
var ErrPanic = errors.New("engine: panic during scan")

// Scan rates one message. It always returns a verdict: on error or panic
// every group is NOT_PROCESSED and the error says why.
func (e *Engine) Scan(ctx context.Context, scanID string, env *Envelope, raw []byte) (v *Verdict, err error) {
	start := time.Now()
	snap := e.snap.Load()
	log := slog.New(scanHandler{h: e.log.Handler(), id: scanID})
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic during scan", "panic", r, "stack", string(debug.Stack()))
			v, err = e.notProcessed(scanID, env, snap), fmt.Errorf("%w: %v", ErrPanic, r)
		}
		if v != nil {
			v.Elapsed = time.Since(start)
		}
	}()

	v = &Verdict{ScanID: scanID, DBVersion: snap.DB.Version}
	if env.AuthUser != "" && e.sent != nil {
		e.rememberSent(ctx, log, env, raw)
	}
	rated := e.resolve(snap.Policy, env, len(raw), v)
	if len(rated) == 0 {
		return v, nil
	}
	msg := message.ParseContext(ctx, raw, e.limits)
	for _, gv := range rated {
		if err := ctx.Err(); err != nil {
			return e.notProcessed(scanID, env, snap), fmt.Errorf("scan %s: %w", scanID, err)
		}
		in := &Input{ScanID: scanID, Msg: msg, Env: env, Group: gv.Group, DB: snap.DB, Log: log}
		if err := e.rate(ctx, in, gv); err != nil {
			return e.notProcessed(scanID, env, snap), err
		}
	}
	if e.sent != nil && env.AuthUser == "" && !env.RcptsFromHeader {
		e.rememberRecipients(ctx, log, msg, v)
	}
	if e.autolearn != nil {
		e.autolearn.Offer(raw, v)
	}
	return v, nil
}

// rememberSent tells the sent log the Message-ID of a submitted message,
// the name in its From and the domains of its recipients but the sender's
// own. Only the header is read; a failure to remember is logged: it never
// holds up the mail.
func (e *Engine) rememberSent(ctx context.Context, log *slog.Logger, env *Envelope, raw []byte) {
	h := message.ParseHeader(raw, e.limits)
	if id := strings.TrimSpace(h.Get("Message-Id")); id != "" {
		if err := e.sent.Remember(ctx, id); err != nil {
			log.Warn("sent message not remembered", "err", err)
		}
	}
	own := []string{message.Address{Addr: env.AuthUser}.Domain()}
	if from := message.ParseAddressList(h.Get("From")); len(from) == 1 {
		own = append(own, from[0].Domain())
		if from[0].Name != "" {
			if err := e.sent.RememberNames(ctx, from[0].Name); err != nil {
				log.Warn("sender name not remembered", "err", err)
			}
		}
	}
	var domains []string
	for _, r := range env.Rcpts {
		if d := (message.Address{Addr: strings.Trim(r, "<>")}).Domain(); d != "" && !slices.Contains(own, d) && !slices.Contains(domains, d) && len(domains) < maxRecipientDomains {
			domains = append(domains, d)
		}
	}
	if len(domains) == 0 {
		return
	}
	if err := e.sent.RememberDomains(ctx, domains...); err != nil {
		log.Warn("recipient domains not remembered", "err", err)
	}
}

// maxRecipientDomains bounds the domains one submission teaches: a user
// writes to a few; a mailing to thousands teaches no more.
const maxRecipientDomains = 50

// maxRecipientNames bounds the names one message teaches.
const maxRecipientNames = 10

// rememberRecipients tells the sent log the names an inbound message calls
// its recipients by ("Jan Kowalski" <jan@example.com>): the staff's names,
// known so even where their own mail does not pass through the server. Only
// To and Cc entries at the domain of a recipient of the envelope, in a group
// that rated the message clean, count: a copy to another company names
// someone else, and spam may call its victims anything.
func (e *Engine) rememberRecipients(ctx context.Context, log *slog.Logger, msg *message.Message, v *Verdict) {
	clean := map[string]bool{}
	for _, gv := range v.Groups {
		if gv.Info != verdict.InfoNone || gv.Status == verdict.Spam || gv.Status == verdict.ProbableSpam || gv.Status == verdict.Blacklisted {
			continue
		}
		for _, r := range gv.Recipients {
			if d := (message.Address{Addr: r}).Domain(); d != "" {
				clean[d] = true
			}
		}
	}
	if len(clean) == 0 {
		return
	}
	var names []string
	for _, field := range append(msg.Header.Values("To"), msg.Header.Values("Cc")...) {
		for _, a := range message.ParseAddressList(field) {
			if a.Name != "" && clean[a.Domain()] && len(names) < maxRecipientNames {
				names = append(names, a.Name)
			}
		}
	}
	if err := e.sent.RememberNames(ctx, names...); err != nil {
		log.Warn("recipient names not remembered", "err", err)
	}
}

// resolve splits the recipients into groups and licence outcomes, appends
// one GroupVerdict per (group, info) to v, and returns those to be rated.
func (e *Engine) resolve(p *policy.Policy, env *Envelope, size int, v *Verdict) []*GroupVerdict {
	type key struct {
		g    *policy.Group
		info verdict.Info
	}
	byKey := map[key]*GroupVerdict{}
	add := func(k key, rcpt string) {
		gv := byKey[k]
		if gv == nil {
			gv = &GroupVerdict{Group: k.g, Info: k.info}
			if k.info != verdict.InfoNone {
				gv.Status = verdict.NotDetected
			}
			byKey[k] = gv
			v.Groups = append(v.Groups, gv)
		}
		gv.Recipients = append(gv.Recipients, rcpt)
	}
	var protected []string
	var groups []*policy.Group
	for _, r := range env.Rcpts {
		g, ok := p.Resolve(r)
		if !ok {
			add(key{g, verdict.NotProtected}, r)
			continue
		}
		protected = append(protected, r)
		groups = append(groups, g)
	}
	infos := make([]verdict.Info, len(protected))
	if e.licenser != nil && len(protected) > 0 {
		infos = e.licenser.Admit(protected, size)
	}
	for i, r := range protected {
		add(key{groups[i], infos[i]}, r)
	}
	var rated []*GroupVerdict
	for _, gv := range v.Groups {
		if gv.Info == verdict.InfoNone {
			rated = append(rated, gv)
		}
	}
	return rated
}

// rate runs the checks for one group and sets its status, score and action.
func (e *Engine) rate(ctx context.Context, in *Input, gv *GroupVerdict) error {
	s := in.Group.Settings
	if !s.Detection {
		gv.Status, gv.Method = verdict.Trusted, "detection off"
		gv.Action = in.Group.Actions[gv.Status]
		return nil
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results []Result
		panicV  any
	)
	collect := func(c Check) {
		r, err := c.Run(ctx, in)
		if err != nil {
			in.Log.Warn("check failed", "check", c.Name(), "err", err)
		}
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	for _, c := range e.waiters {
		wg.Add(1)
		e.goers.Go(func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					panicV = fmt.Sprintf("check %s: %v", c.Name(), r)
					mu.Unlock()
				}
			}()
			collect(c)
		})
	}
	for _, c := range e.checks {
		collect(c)
		mu.Lock() // waiters append to results concurrently
		stop := final(results)
		mu.Unlock()
		if stop {
			break
		}
	}
	wg.Wait()
	if panicV != nil {
		panic(panicV)
	}
	for _, r := range results {
		gv.Signs = append(gv.Signs, r.Signs...)
		gv.Headers = append(gv.Headers, r.Headers...)
	}
	if in.DB != nil {
		rescore(gv.Signs, in.DB.Scores)
	}
	decide(gv, s)
	gv.Action = in.Group.Actions[gv.Status]
	return nil
}

// NotProcessed is the verdict when a scan could not run or finish (timeout,
// panic, no free worker): every recipient passes untouched, tagged Not
// processed, in its group.
func (e *Engine) NotProcessed(scanID string, env *Envelope) *Verdict {
	return e.notProcessed(scanID, env, e.snap.Load())
}

func (e *Engine) notProcessed(scanID string, env *Envelope, snap *Snapshot) *Verdict {
	v := &Verdict{ScanID: scanID, DBVersion: snap.DB.Version}
	byGroup := map[*policy.Group]*GroupVerdict{}
	for _, r := range env.Rcpts {
		g, _ := snap.Policy.Resolve(r)
		gv := byGroup[g]
		if gv == nil {
			gv = &GroupVerdict{Group: g, Status: verdict.NotDetected, Info: verdict.NotProcessed}
			byGroup[g] = gv
			v.Groups = append(v.Groups, gv)
		}
		gv.Recipients = append(gv.Recipients, r)
	}
	return v
}

// NormalizeAddress lower-cases the domain of an address and strips <>.
func NormalizeAddress(a string) string {
	a = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">"))
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return a[:i+1] + strings.ToLower(a[i+1:])
	}
	return a
}

// scanHandler adds the scan id to the records of one scan's logger. Unlike
// Logger.With it costs nothing until a record is written: most scans write
// none besides their "scanned" line, which carries the id itself.
type scanHandler struct {
	h  slog.Handler
	id string
}

func (s scanHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s scanHandler) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(slog.String("scan_id", s.id))
	return s.h.Handle(ctx, r)
}

func (s scanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return scanHandler{h: s.h.WithAttrs(as), id: s.id}
}

// WithGroup puts the id in front of the group, as Logger.With would.
func (s scanHandler) WithGroup(name string) slog.Handler {
	return s.h.WithAttrs([]slog.Attr{slog.String("scan_id", s.id)}).WithGroup(name)
}
