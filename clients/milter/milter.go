// Package milter is Scilla's milter for Postfix (smtpd_milters) and
// Sendmail (INPUT_MAIL_FILTER). It collects the envelope, the macros and the
// message, asks scillad for a verdict at end of message through the clients
// library, and applies the Plan in the SMTP session: headers stripped and
// added, the Subject changed in place, copy and redirect as recipient
// changes, delete as discard, and a 550 with the policy text when every
// recipient is rejected.
//
// It is built on github.com/d--j/go-milter (milter protocol v6) rather than
// emersion/go-milter: the latter negotiates protocol v2 and replaces its
// per-connection handler after every final response, which loses the
// connection data (client address, HELO, connect macros) for the second and
// later messages of one SMTP session. See DESIGN §8.
//
// A milter cannot answer per recipient after DATA, so when some groups
// reject and others deliver, the rejected groups' recipients get the
// message tagged (never silently dropped) and the milter logs it.
package milter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/internal/gopool"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Options are what the milter asks the MTA for: every modification it may
// make, and no replies for the stages where it never says anything but
// "continue", so the MTA waits only for the end-of-message reply.
const (
	actions = gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptAddRcpt | gomilter.OptRemoveRcpt
	// protocol stages we do not need and replies we never send.
	protocol = gomilter.OptNoUnknown | gomilter.OptNoData |
		gomilter.OptNoConnReply | gomilter.OptNoHeloReply | gomilter.OptNoMailReply | gomilter.OptNoRcptReply |
		gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptNoDataReply | gomilter.OptNoUnknownReply
)

// scanner is what the milter needs from clients.Client.
type scanner interface {
	Check(ctx context.Context, env *scillav1.Envelope, msg []byte, requestID string) *clients.Plan
	Settings() clients.Settings
}

// Server runs milter sessions for an MTA.
type Server struct {
	srv      *gomilter.Server
	scan     scanner
	log      *slog.Logger
	hostname string
	// sizeLimit is the client's size limit in bytes (0: none), read once:
	// it is checked on every header and body chunk.
	sizeLimit int
	sessions  atomic.Int64
	runs      *gopool.Pool // scans run on reused goroutines (see check)
	// idle is how long an MTA connection may stay silent (idleTimeout;
	// tests shorten it).
	idle time.Duration
}

// New returns a milter server that scans with c. hostname is reported to
// scillad as the MTA host; log may be nil.
func New(c *clients.Client, hostname string, log *slog.Logger) *Server {
	return newServer(c, hostname, log)
}

func newServer(c scanner, hostname string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{scan: c, log: log, hostname: hostname, sizeLimit: int(c.Settings().SizeLimit), runs: new(gopool.Pool), idle: idleTimeout}
	s.srv = gomilter.NewServer(
		gomilter.WithMilter(func() gomilter.Milter { return &session{srv: s, counts: map[string]int{}} }),
		gomilter.WithActions(actions),
		gomilter.WithProtocols(protocol),
		gomilter.WithNegotiationCallback(negotiate),
		// No per-packet deadlines in the library (each costs timer work on
		// every packet); batchConn keeps a coarse idle deadline instead and
		// bounds every flush.
		gomilter.WithReadTimeout(0),
		gomilter.WithWriteTimeout(0),
		gomilter.WithMacroRequest(gomilter.StageConnect, []gomilter.MacroName{gomilter.MacroMTAFQDN, gomilter.MacroClientAddr, gomilter.MacroClientName, gomilter.MacroDaemonName}),
		gomilter.WithMacroRequest(gomilter.StageMail, []gomilter.MacroName{gomilter.MacroQueueId, gomilter.MacroAuthAuthen, gomilter.MacroAuthType}),
		gomilter.WithMacroRequest(gomilter.StageEOM, []gomilter.MacroName{gomilter.MacroQueueId, gomilter.MacroAuthAuthen}),
	)
	return s
}

// negotiate accepts whatever subset of our wishes the MTA offers (old
// Sendmail and Postfix versions offer fewer no-reply flags), down to
// protocol version 2; the session code copes with either.
func negotiate(mtaVersion, milterVersion uint32, mtaActions, milterActions gomilter.OptAction, mtaProtocol, milterProtocol gomilter.OptProtocol, offered gomilter.DataSize) (uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize, error) {
	v := min(mtaVersion, milterVersion)
	if v < 2 {
		return 0, 0, 0, 0, fmt.Errorf("milter: MTA speaks protocol version %d, need at least 2", mtaVersion)
	}
	if mtaActions&milterActions != milterActions {
		return 0, 0, 0, 0, fmt.Errorf("milter: MTA does not allow the needed actions (offered %v, need %v)", mtaActions, milterActions)
	}
	return v, milterActions, milterProtocol & mtaProtocol, offered, nil
}

// Sessions returns the number of milter connections served so far.
func (s *Server) Sessions() int64 { return s.sessions.Load() }

// Close stops the server at once.
func (s *Server) Close() error {
	defer s.runs.Stop()
	return s.srv.Close()
}

// Shutdown stops accepting connections and waits for running sessions to
// end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.runs.Stop()
	return s.srv.Shutdown(ctx)
}

// session is one milter connection; it may carry many SMTP connections
// (QUIT_NC) and many messages each. Connection data lives until the next
// NewConnection, message data until the next MailFrom or Abort.
type session struct {
	gomilter.NoOpMilter
	srv *Server

	// connection data
	clientName, clientAddr, helo string

	// message data
	from, auth string
	rcpts      []string
	msg        bytes.Buffer
	over       bool           // stopped buffering at the size limit
	size       int            // full message size, also past the limit
	counts     map[string]int // header occurrences by lower-case name
	subjectIdx int            // 1-based index of the first Subject, 0 = none
	subject    string
}

func (m *session) NewConnection(gomilter.Modifier) error {
	m.srv.sessions.Add(1)
	m.clientName, m.clientAddr, m.helo = "", "", ""
	m.reset()
	return nil
}

func (m *session) reset() {
	m.from, m.auth, m.rcpts = "", "", nil
	m.msg.Reset()
	m.over, m.size, m.subjectIdx, m.subject = false, 0, 0, ""
	clear(m.counts)
}

func (m *session) Connect(host, family string, _ uint16, addr string, mod gomilter.Modifier) (*gomilter.Response, error) {
	m.clientName = host
	if family == "tcp4" || family == "tcp6" {
		m.clientAddr = addr
	}
	if a := mod.Get(gomilter.MacroClientAddr); a != "" {
		m.clientAddr = a
	}
	return gomilter.RespContinue, nil
}

func (m *session) Helo(name string, _ gomilter.Modifier) (*gomilter.Response, error) {
	m.helo = name
	return gomilter.RespContinue, nil
}

func (m *session) MailFrom(from, _ string, mod gomilter.Modifier) (*gomilter.Response, error) {
	m.reset()
	m.from = from
	m.auth = mod.Get(gomilter.MacroAuthAuthen)
	return gomilter.RespContinue, nil
}

func (m *session) RcptTo(rcpt, _ string, _ gomilter.Modifier) (*gomilter.Response, error) {
	m.rcpts = append(m.rcpts, rcpt)
	return gomilter.RespContinue, nil
}

func (m *session) Header(name, value string, _ gomilter.Modifier) (*gomilter.Response, error) {
	k := lowerName(name)
	m.counts[k]++
	if k == "subject" && m.subjectIdx == 0 {
		m.subjectIdx, m.subject = m.counts[k], value
	}
	// The MTA hands values without the space after the colon and with LF
	// between folded lines; rebuild CRLF wire form for the scanner.
	if strings.IndexByte(value, '\n') >= 0 {
		m.write(name + ": " + strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", "\r\n") + "\r\n")
		return gomilter.RespContinue, nil
	}
	// Unfolded (most fields): no need to build the line first.
	m.size += len(name) + len(value) + 4
	if !m.over {
		m.msg.WriteString(name)
		m.msg.WriteString(": ")
		m.msg.WriteString(value)
		m.msg.WriteString("\r\n")
		m.checkSize()
	}
	return gomilter.RespContinue, nil
}

// lowerName returns strings.ToLower(name), without allocating when name
// is lower-case ASCII already.
func lowerName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(name)
		}
	}
	return name
}

// count returns how many fields called name (any case) the message has.
func (m *session) count(name string) int {
	var buf [64]byte
	if len(name) > len(buf) {
		return m.counts[strings.ToLower(name)]
	}
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			return m.counts[strings.ToLower(name)]
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return m.counts[string(b)] // no allocation for a map lookup
}

func (m *session) Headers(gomilter.Modifier) (*gomilter.Response, error) {
	m.write("\r\n")
	return gomilter.RespContinue, nil
}

func (m *session) BodyChunk(chunk []byte, mod gomilter.Modifier) (*gomilter.Response, error) {
	m.size += len(chunk)
	if m.over {
		if mod.Protocol()&gomilter.OptSkip != 0 {
			return gomilter.RespSkip, nil
		}
		return gomilter.RespContinue, nil
	}
	m.msg.Write(chunk)
	m.checkSize()
	return gomilter.RespContinue, nil
}

func (m *session) write(s string) {
	m.size += len(s)
	if !m.over {
		m.msg.WriteString(s)
		m.checkSize()
	}
}

// checkSize stops buffering once the message is over the size limit: it
// will pass unscanned, so there is no point holding it in memory.
func (m *session) checkSize() {
	if lim := m.srv.sizeLimit; lim > 0 && m.msg.Len() > lim {
		m.over = true
		m.msg.Reset()
	}
}

func (m *session) Abort(gomilter.Modifier) error {
	m.reset()
	return nil
}

func (m *session) EndOfMessage(mod gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer m.reset()
	// The milter library does not recover panics: one would end the whole
	// process. Tempfail the message instead; the MTA retries it.
	defer func() {
		if v := recover(); v != nil {
			m.srv.log.Error("panic at end of message; tempfailed", "panic", v, "stack", string(debug.Stack()))
			resp, err = gomilter.RespTempFail, nil
		}
	}()
	queueID := mod.Get(gomilter.MacroQueueId)
	if a := mod.Get(gomilter.MacroAuthAuthen); a != "" {
		m.auth = a
	}
	env := &scillav1.Envelope{
		ClientIp: m.clientAddr, ClientHostname: m.clientName, Helo: m.helo,
		MailFrom: m.from, RcptTo: append([]string(nil), m.rcpts...), AuthUser: m.auth,
		QueueId: queueID, MtaKind: scillav1.MtaKind_MTA_KIND_MILTER, MtaHost: m.srv.hostname,
	}
	var plan *clients.Plan
	if m.over {
		plan = clients.NotProcessedPlan(env.RcptTo, fmt.Errorf("message of %d bytes is over the size limit", m.size))
	} else {
		plan = m.check(env, queueID)
	}
	resp, aerr := m.apply(plan, mod, queueID)
	if aerr != nil {
		m.srv.log.Error("apply verdict", "scan_id", plan.ScanID, "queue_id", queueID, "err", aerr)
		return gomilter.RespTempFail, nil
	}
	// One line per message only with -v: at hundreds of messages a second
	// formatting and writing it is a noticeable share of the milter's
	// CPU. Failures above and in the client are logged at any level.
	if ctx := context.Background(); m.srv.log.Enabled(ctx, slog.LevelDebug) {
		m.srv.log.Debug("message done", "scan_id", plan.ScanID, "queue_id", queueID, "outcome", plan.Outcome.String(),
			"rcpts", len(env.RcptTo), "added_rcpts", len(plan.AddRecipients), "deleted_rcpts", len(plan.DeleteRecipients))
	}
	return resp, nil
}

// check scans the message on one of the server's reused goroutines: the
// milter library starts a goroutine per MTA connection, and Postfix opens a
// connection per SMTP session, often per message; growing a fresh stack to
// the depth of the gRPC call for every message costs more than handing the
// call to a goroutine that has it already.
func (m *session) check(env *scillav1.Envelope, queueID string) *clients.Plan {
	var plan *clients.Plan
	m.srv.runs.Run(func() { plan = m.srv.scan.Check(context.Background(), env, m.msg.Bytes(), queueID) })
	return plan
}

// apply carries out plan on the current message.
func (m *session) apply(plan *clients.Plan, mod gomilter.Modifier, queueID string) (*gomilter.Response, error) {
	switch plan.Outcome {
	case clients.Reject, clients.TempFail:
		return gomilter.RejectWithCodeAndReason(uint16(plan.Reply.Code), plan.Reply.Enhanced+" "+plan.Reply.Text)
	case clients.Discard:
		return gomilter.RespDiscard, nil
	}
	for _, g := range plan.PartialReject {
		m.srv.log.Warn("group rejected but others accept; a milter cannot refuse per recipient after DATA, delivering tagged",
			"scan_id", plan.ScanID, "queue_id", queueID, "group_id", g.GroupID, "rcpts", strings.Join(g.Recipients, ","))
	}
	e := plan.Merged
	// Strip forged verdict headers: ChangeHeader with an empty value
	// deletes; go from the last instance down so indexes stay valid.
	for _, name := range e.StripHeaders {
		for i := m.count(name); i >= 1; i-- {
			if err := mod.ChangeHeader(i, name, ""); err != nil {
				return nil, fmt.Errorf("delete header %s[%d]: %w", name, i, err)
			}
		}
	}
	if e.SubjectPrefix != "" {
		if m.subjectIdx > 0 {
			if v, changed := clients.PrefixSubject(m.subject, e.SubjectPrefix); changed {
				if err := mod.ChangeHeader(m.subjectIdx, "Subject", v); err != nil {
					return nil, fmt.Errorf("change subject: %w", err)
				}
			}
		} else {
			v, _ := clients.PrefixSubject("", e.SubjectPrefix)
			if err := mod.AddHeader("Subject", v); err != nil {
				return nil, fmt.Errorf("add subject: %w", err)
			}
		}
	}
	for _, h := range e.AddHeaders {
		if err := mod.AddHeader(h.Name, h.Value); err != nil {
			return nil, fmt.Errorf("add header %s: %w", h.Name, err)
		}
	}
	for _, r := range plan.AddRecipients {
		if err := mod.AddRecipient(r, ""); err != nil {
			return nil, fmt.Errorf("add recipient: %w", err)
		}
	}
	for _, r := range plan.DeleteRecipients {
		if err := mod.DeleteRecipient(r); err != nil {
			return nil, fmt.Errorf("delete recipient: %w", err)
		}
	}
	return gomilter.RespAccept, nil
}
