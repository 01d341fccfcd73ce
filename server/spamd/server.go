// Package spamd lets mail servers that speak SpamAssassin's spamd protocol
// or rspamd's protocols use scillad without a plug-in: Exim's `spam =` ACL
// condition (both its default spamd variant and `variant=rspamd`), spamc,
// and rspamc-style HTTP clients (POST /checkv2).
//
// A request becomes one Scan through the same function the gRPC service
// uses; the verdict is folded into the one score, threshold and action the
// protocols can carry (see summarize). The package decides nothing itself:
// the status decided by the policy is reported as spam or not, and the
// threshold shown is moved so that score >= threshold says the same.
//
// It deliberately does not implement spamd's TELL (learning goes through
// the admin API) nor rspamd's controller endpoints.
package spamd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/internal/conf"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
	"github.com/scilla-mail/scilla/server/message"
)

// ScanFunc scans one message: the same path as the gRPC Scan call.
type ScanFunc func(ctx context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error)

// Server answers spamd, rspamc and rspamd-HTTP clients.
type Server struct {
	cfg     Config
	scan    ScanFunc
	log     *slog.Logger
	allowed []netip.Prefix
	metrics *Metrics
	sem     chan struct{}
	wg      sync.WaitGroup
}

// New returns a server for cfg that scans through scan. cfg should have
// passed Validate.
func New(cfg Config, scan ScanFunc, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allowed, _ := parseNetworks(cfg.AllowedNetworks) // checked by Validate
	return &Server{cfg: cfg, scan: scan, log: log.With("component", "spamd"), allowed: allowed, sem: make(chan struct{}, max(cfg.MaxConnections, 1))}
}

// WithMetrics makes the server record its metrics in m; it returns s.
func (s *Server) WithMetrics(m *Metrics) *Server {
	s.metrics = m
	return s
}

// permitted reports whether a TCP peer is in the allowed networks; unix
// socket peers always are.
func (s *Server) permitted(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return true
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ListenAndServe opens every configured listener and serves them until ctx
// is done, then waits for connections in progress. It returns at once, nil,
// when no listener is configured.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if !s.cfg.Enabled() {
		return nil
	}
	var lns []net.Listener
	for _, a := range s.cfg.Listen {
		network, addr, err := conf.ParseAddress(a)
		if err != nil {
			return err
		}
		if network == "unix" {
			removeStaleSocket(addr)
		}
		ln, err := net.Listen(network, addr)
		if err == nil && network == "unix" {
			// Exim runs as its own user; access is guarded by the directory.
			err = os.Chmod(addr, 0o666)
		}
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("spamd: listen on %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- s.Serve(ctx, ln) }()
	}
	var first error
	for range lns {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// removeStaleSocket deletes a unix socket left by an earlier run; it leaves
// anything that is not a socket alone (net.Listen then reports the clash).
func removeStaleSocket(path string) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// waits for the connections in progress to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("listening", "addr", ln.Addr().String())
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("spamd: accept on %s: %w", ln.Addr(), err)
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			conn.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			// A scan in progress finishes even while the server stops.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
			defer cancel()
			s.serveConn(cctx, conn)
		}()
	}
}

// lingerClose sends the answer, half-closes, and discards what the refused
// client is still sending for a moment: closing with unread input would
// reset the connection and the client would never see the answer.
func lingerClose(conn net.Conn, bw *bufio.Writer) {
	bw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
}

// serveConn answers one request and closes the connection, as spamd does:
// Exim reads the answer until the server closes.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	log := s.log.With("remote", conn.RemoteAddr().String())
	br := bufio.NewReaderSize(conn, 16<<10)
	bw := bufio.NewWriter(conn)
	defer bw.Flush()
	if !s.permitted(conn.RemoteAddr()) {
		log.Warn("connection from a network not in spamd.allowed_networks refused")
		fmt.Fprintf(bw, "SPAMD/1.0 77 EX_NOPERM\r\n")
		s.metrics.observe("unknown", "refused", time.Time{})
		lingerClose(conn, bw)
		return
	}
	if _, err := br.Peek(1); err != nil {
		return // connected and left: a health check
	}
	start := time.Now()
	req, err := ReadRequest(br, s.cfg.MaxSize)
	if err != nil {
		log.Warn("bad request", "err", err)
		writeProtocolError(bw, req, err)
		proto := "unknown"
		if req != nil {
			proto = req.Protocol.String()
		}
		s.metrics.observe(proto, "bad_request", start)
		return
	}
	switch req.Method {
	case "PING":
		writePong(bw, req)
		s.metrics.observe(req.Protocol.String(), "ping", start)
		return
	case "SKIP":
		return
	case "TELL":
		fmt.Fprintf(bw, "SPAMD/1.1 69 EX_UNAVAILABLE TELL is not supported: use `scilla learn`\r\n")
		s.metrics.observe(req.Protocol.String(), "bad_request", start)
		return
	}
	outcome := "ham"
	defer func() { s.metrics.observe(req.Protocol.String(), outcome, start) }()
	var res result
	var plan *clients.Plan
	if req.Oversize {
		res = result{Action: actionNone, Required: round1(s.cfg.RequiredScore), Note: fmt.Sprintf("message of %d bytes is over the size limit of %d", req.Size, s.cfg.MaxSize)}
		res.Required = max(res.Required, 0.1)
		outcome = "oversize"
		log.Info("message over size limit, not scanned", "size", req.Size, "limit", s.cfg.MaxSize)
	} else {
		sreq := scanRequest(req, s.cfg.DefaultRecipient)
		scanStart := time.Now()
		resp, err := s.scan(ctx, sreq)
		if err != nil {
			log.Error("scan failed", "queue_id", sreq.GetEnvelope().GetQueueId(), "err", err)
			writeUnavailable(bw, req)
			outcome = "scan_error"
			return
		}
		res = s.cfg.summarize(resp)
		if res.Spam {
			outcome = "spam"
		}
		plan = clients.NewPlan(resp)
		log.Info("scanned", "scan_id", res.ScanID, "protocol", req.Protocol.String(), "method", req.Method,
			"queue_id", sreq.GetEnvelope().GetQueueId(), "rcpts", len(sreq.GetEnvelope().GetRcptTo()),
			"spam", res.Spam, "score", res.Score, "required", res.Required, "action", res.Action,
			"elapsed", time.Since(scanStart).Round(time.Microsecond))
	}
	switch req.Protocol {
	case SpamC:
		writeSpamd(bw, req, &res, plan)
	case RspamC:
		writeRspamc(bw, req, &res)
	case HTTP:
		writeHTTP(bw, req, &res, plan)
	}
}

// scanRequest builds the Scan request from the protocol's envelope headers.
// The rspamd dialects carry the SMTP envelope; spamc carries only a user
// name, which is taken as the recipient list when it holds addresses.
// Without any recipient the message's To and Cc addresses stand in, so the
// policy can still pick the protected domain and group, and failing those
// defaultRcpt: a message is always scanned.
func scanRequest(req *Request, defaultRcpt string) *scillav1.ScanRequest {
	h := req.Header
	env := &scillav1.Envelope{MtaKind: scillav1.MtaKind_MTA_KIND_SPAMD}
	if req.Protocol == SpamC {
		for _, u := range strings.Split(h.Get("User"), ",") {
			if u = strings.TrimSpace(u); strings.Contains(u, "@") {
				env.RcptTo = append(env.RcptTo, trimAngle(u))
			}
		}
	} else {
		env.MailFrom = trimAngle(h.Get("From"))
		for _, r := range h.Values("Rcpt") {
			if r = trimAngle(r); r != "" {
				env.RcptTo = append(env.RcptTo, r)
			}
		}
		env.ClientIp = strings.TrimSpace(h.Get("Ip"))
		env.ClientHostname = strings.TrimSpace(h.Get("Hostname"))
		env.Helo = strings.TrimSpace(h.Get("Helo"))
		env.AuthUser = strings.TrimSpace(h.Get("User"))
		env.QueueId = strings.TrimSpace(h.Get("Queue-Id"))
	}
	if len(env.RcptTo) == 0 {
		env.RcptTo = headerRecipients(req.Body)
		env.RcptFromHeader = true
	}
	if len(env.RcptTo) == 0 && defaultRcpt != "" {
		env.RcptTo = []string{defaultRcpt}
	}
	return &scillav1.ScanRequest{Envelope: env, Message: req.Body, RequestId: env.QueueId}
}

// headerRecipients returns the addresses in the message's To and Cc, read
// leniently (groups, bare words); entries that are not addresses are skipped.
func headerRecipients(msg []byte) []string {
	var out []string
	for _, name := range []string{"To", "Cc"} {
		v, ok := clients.HeaderValue(msg, name)
		if !ok {
			continue
		}
		for _, a := range message.ParseAddressList(v) {
			if strings.Contains(a.Addr, "@") && !strings.ContainsAny(a.Addr, " \t\r\n") {
				out = append(out, a.Addr)
			}
		}
	}
	return out
}

func trimAngle(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

// writeSpamd answers a spamc request exactly as SpamAssassin's spamd does
// for the client's protocol version: Exim sends "REPORT SPAMC/1.2" and
// parses "SPAMD/1.1 0 EX_OK\r\nSpam: True ; S / T\r\n\r\n<report>".
func writeSpamd(w *bufio.Writer, req *Request, res *result, plan *clients.Plan) {
	spamHdr := fmt.Sprintf("Spam: %s ; %.1f / %.1f", trueFalse(res.Spam), res.Score, res.Required)
	if req.Method == "REPORT_IFSPAM" {
		spamHdr = fmt.Sprintf("Spam: %s ; %.1f / %.1f", map[bool]string{true: "Yes", false: "No"}[res.Spam], res.Score, res.Required)
	}
	fmt.Fprintf(w, "SPAMD/1.1 0 EX_OK\r\n")
	var body string
	switch req.Method {
	case "CHECK":
		fmt.Fprintf(w, "%s\r\n\r\n", spamHdr)
		return
	case "PROCESS", "HEADERS":
		msg := req.Body
		if plan != nil {
			msg = plan.Merged.Apply(msg)
		}
		if req.Method == "HEADERS" {
			head, _ := clients.SplitHeader(msg)
			msg = append(append([]byte(nil), head...), crlfOrLF(msg)...)
		}
		switch {
		case req.versionAtLeast(1, 3):
			fmt.Fprintf(w, "Content-length: %d\r\n%s\r\n\r\n", len(msg), spamHdr)
		case req.versionAtLeast(1, 2):
			fmt.Fprintf(w, "Content-length: %d\r\n\r\n", len(msg))
		}
		w.Write(msg)
		return
	case "SYMBOLS":
		body = res.symbols()
		if !req.versionAtLeast(1, 3) {
			body += "\r\n"
		}
	case "REPORT":
		body = crlf(res.report())
	case "REPORT_IFSPAM":
		if res.Spam {
			body = crlf(res.report())
		}
	}
	if req.versionAtLeast(1, 3) {
		fmt.Fprintf(w, "Content-length: %d\r\n", len(body))
	}
	fmt.Fprintf(w, "%s\r\n\r\n%s", spamHdr, body)
}

// writeRspamc answers rspamd's legacy line protocol, the one Exim's
// `variant=rspamd` speaks. Exim parses
// "RSPAMD/%s 0 EX_OK\r\nMetric: default; %s %f / %f / %f\r\n" and then an
// "Action: " line into $spam_action.
func writeRspamc(w *bufio.Writer, req *Request, res *result) {
	fmt.Fprintf(w, "RSPAMD/1.3 0 EX_OK\r\n")
	fmt.Fprintf(w, "Metric: default; %s; %.2f / %.2f / %.2f\r\n", trueFalse(res.Spam), res.Score, res.Required, res.Required)
	fmt.Fprintf(w, "Action: %s\r\n", res.Action)
	// Repeated under Scilla's name so one Exim ACL works with both
	// variants (SpamAssassin's has no action; see deploy/exim).
	fmt.Fprintf(w, "Scilla-Action: %s\r\n", res.Action)
	for _, r := range res.Group.GetRules() {
		fmt.Fprintf(w, "Symbol: %s(%.2f)\r\n", headerSafe(r.GetName()), r.GetScore())
	}
	if g := res.Group; g != nil {
		fmt.Fprintf(w, "Scilla-Status: %s\r\n", statusText(g.GetStatus()))
		fmt.Fprintf(w, "Scilla-Group: %08d %s\r\n", g.GetGroupId(), headerSafe(g.GetGroupName()))
		if g.GetAction() == scillav1.Action_ACTION_REJECT && g.GetRejectText() != "" {
			fmt.Fprintf(w, "Message: %s\r\n", headerSafe(g.GetRejectText()))
		}
	}
	if res.ScanID != "" {
		fmt.Fprintf(w, "Scan-Id: %s\r\n", res.ScanID)
	}
	if res.Note != "" {
		fmt.Fprintf(w, "Note: %s\r\n", headerSafe(res.Note))
	}
	fmt.Fprintf(w, "\r\n")
}

// httpSymbol and httpReply are rspamd's /checkv2 JSON answer.
type httpSymbol struct {
	Name        string  `json:"name"`
	Score       float64 `json:"score"`
	Description string  `json:"description,omitempty"`
}

type httpHeader struct {
	Value string `json:"value"`
	Order int    `json:"order"`
}

type httpMilter struct {
	AddHeaders    map[string][]httpHeader `json:"add_headers,omitempty"`
	RemoveHeaders map[string]int          `json:"remove_headers,omitempty"`
}

type httpReply struct {
	IsSkipped     bool                  `json:"is_skipped"`
	Score         float64               `json:"score"`
	RequiredScore float64               `json:"required_score"`
	Action        string                `json:"action"`
	Symbols       map[string]httpSymbol `json:"symbols"`
	Messages      map[string]string     `json:"messages,omitempty"`
	Subject       string                `json:"subject,omitempty"`
	Milter        *httpMilter           `json:"milter,omitempty"`
	ScanID        string                `json:"scan_id,omitempty"`
	Status        string                `json:"scilla_status,omitempty"`
}

// writeHTTP answers rspamd's HTTP protocol with its JSON result. The milter
// block carries Scilla's header edits so rspamd-aware clients can apply
// them; "subject" is set for the rewrite subject action.
func writeHTTP(w *bufio.Writer, req *Request, res *result, plan *clients.Plan) {
	rep := httpReply{
		IsSkipped:     res.Group == nil,
		Score:         res.Score,
		RequiredScore: res.Required,
		Action:        res.Action,
		Symbols:       map[string]httpSymbol{},
		ScanID:        res.ScanID,
	}
	if g := res.Group; g != nil {
		rep.Status = statusText(g.GetStatus())
		for _, r := range g.GetRules() {
			rep.Symbols[r.GetName()] = httpSymbol{Name: r.GetName(), Score: r.GetScore(), Description: r.GetDescription()}
		}
		if res.Action == actionReject && g.GetRejectText() != "" {
			rep.Messages = map[string]string{"smtp_message": headerSafe(g.GetRejectText())}
		}
	}
	if plan != nil && plan.Outcome == clients.Deliver {
		m := &httpMilter{AddHeaders: map[string][]httpHeader{}, RemoveHeaders: map[string]int{}}
		for _, n := range plan.Merged.StripHeaders {
			m.RemoveHeaders[n] = 0
		}
		for _, h := range plan.Merged.AddHeaders {
			m.AddHeaders[h.Name] = append(m.AddHeaders[h.Name], httpHeader{Value: h.Value, Order: 0})
		}
		rep.Milter = m
		if res.Action == actionSubject {
			subj, _ := clients.HeaderValue(req.Body, "Subject")
			rep.Subject, _ = clients.PrefixSubject(strings.TrimSpace(subj), plan.Merged.SubjectPrefix)
			rep.Subject = strings.TrimSpace(rep.Subject)
		}
	}
	body, err := json.Marshal(rep)
	if err != nil { // cannot happen with these types
		writeUnavailable(w, req)
		return
	}
	writeHTTPStatus(w, 200, "OK", "application/json", body)
}

func writeHTTPStatus(w *bufio.Writer, code int, text, ctype string, body []byte) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", code, text, ctype, len(body))
	w.Write(body)
}

func writePong(w *bufio.Writer, req *Request) {
	switch req.Protocol {
	case HTTP:
		writeHTTPStatus(w, 200, "OK", "text/plain", []byte("pong\r\n"))
	case RspamC:
		fmt.Fprintf(w, "RSPAMD/1.3 0 PONG\r\n")
	default:
		fmt.Fprintf(w, "SPAMD/1.5 0 PONG\r\n")
	}
}

// writeUnavailable tells the client the scan failed; Exim then defers the
// message (or accepts it with the condition's defer_ok).
func writeUnavailable(w *bufio.Writer, req *Request) {
	switch req.Protocol {
	case HTTP:
		writeHTTPStatus(w, 503, "Service Unavailable", "application/json", []byte(`{"error":"scan failed"}`))
	case RspamC:
		fmt.Fprintf(w, "RSPAMD/1.3 69 EX_UNAVAILABLE scan failed\r\n")
	default:
		fmt.Fprintf(w, "SPAMD/1.0 69 EX_UNAVAILABLE Service Unavailable: scan failed\r\n")
	}
}

// writeProtocolError answers a request that could not be read. req is nil
// when even the request line was bad.
func writeProtocolError(w *bufio.Writer, req *Request, err error) {
	if req != nil && req.Protocol == HTTP {
		writeHTTPStatus(w, 400, "Bad Request", "text/plain", []byte("bad request\r\n"))
		return
	}
	msg := "Bad header line"
	if !errors.Is(err, ErrProtocol) {
		msg = "Bad request"
	}
	fmt.Fprintf(w, "SPAMD/1.0 76 %s\r\n", msg)
}

// headerSafe flattens text for a protocol line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// crlf converts LF line ends to CRLF, as spamd sends its report.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// crlfOrLF returns the message's own line ending.
func crlfOrLF(msg []byte) []byte {
	for i, c := range msg {
		if c == '\n' {
			if i > 0 && msg[i-1] == '\r' {
				return []byte("\r\n")
			}
			return []byte("\n")
		}
	}
	return []byte("\r\n")
}
