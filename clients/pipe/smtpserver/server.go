// Package smtpserver is a small SMTP and LMTP server (RFC 5321, RFC 2033)
// for scilla-pipe: enough of the protocol for an MTA handing mail to a
// content filter (PIPELINING, 8BITMIME, SMTPUTF8, SIZE,
// ENHANCEDSTATUSCODES) plus Postfix's XFORWARD, which emersion/go-smtp does
// not offer. It hands each complete message to a Handler and writes the
// Handler's replies, one per recipient in LMTP. It deliberately has no
// AUTH, STARTTLS, BDAT or DSN: it is meant to sit on loopback behind an
// MTA, or on stdin/stdout.
package smtpserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Envelope is one mail transaction as received.
type Envelope struct {
	// Helo is the EHLO/HELO/LHLO argument.
	Helo string
	// From is the reverse path without brackets ("" for the null sender).
	From string
	// Rcpts are the accepted recipients in order.
	Rcpts []string
	// Body is the BODY= parameter ("", "7BIT", "8BITMIME").
	Body string
	// UTF8 is set when MAIL carried SMTPUTF8.
	UTF8 bool
	// XForward is what the MTA told us about its own client.
	XForward XForward
	// Remote is the peer address of the connection ("" on stdin).
	Remote string
	// LMTP is set when the session speaks LMTP.
	LMTP bool
}

// Handler processes complete messages.
type Handler interface {
	// Deliver handles one message. It returns one reply per recipient in
	// LMTP sessions and exactly one reply in SMTP sessions. The server
	// acknowledges the message to the client only with these replies, so a
	// handler must reply 2xx only once the message is safely passed on.
	Deliver(ctx context.Context, env *Envelope, msg []byte) []Reply
}

// Server serves SMTP or LMTP sessions.
type Server struct {
	// Hostname is announced in the greeting and EHLO reply.
	Hostname string
	// LMTP selects LMTP (LHLO, per-recipient replies) instead of SMTP.
	LMTP bool
	// MaxSize is the largest message accepted, in bytes.
	MaxSize int64
	// MaxRecipients per transaction.
	MaxRecipients int
	// ReadTimeout bounds waiting for one command or one chunk of DATA.
	ReadTimeout time.Duration
	// Handler receives the messages.
	Handler Handler
	// Log receives session errors; may be nil.
	Log *slog.Logger

	mu       sync.Mutex
	ln       []net.Listener
	conns    map[net.Conn]struct{}
	closing  bool
	sessions sync.WaitGroup
}

// Limits on what a client may send.
const (
	maxLine   = 4096 // command line incl. CRLF (RFC 5321 says 512)
	maxErrors = 10   // protocol errors before we hang up
)

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = append(s.ln, ln)
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.sessions.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.sessions.Done()
			s.ServeConn(c, c, c.RemoteAddr().String())
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, lets running sessions finish until ctx
// expires, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, ln := range s.ln {
		ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// Close stops the server and closes every session at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Shutdown(ctx)
	return nil
}

// deadliner is implemented by net.Conn.
type deadliner interface{ SetReadDeadline(time.Time) error }

// ServeConn runs one session over r and w (a network connection, or stdin
// and stdout) until QUIT, EOF or a fatal error. remote names the peer in
// logs.
func (s *Server) ServeConn(r io.Reader, w io.Writer, remote string) {
	ss := &session{
		srv: s, remote: remote,
		r:   bufio.NewReaderSize(r, maxLine),
		w:   bufio.NewWriter(w),
		log: s.Log,
	}
	if ss.log == nil {
		ss.log = slog.New(slog.DiscardHandler)
	}
	ss.dl, _ = r.(deadliner)
	ss.run()
}

type session struct {
	srv    *Server
	remote string
	r      *bufio.Reader
	w      *bufio.Writer
	dl     deadliner
	log    *slog.Logger

	helo   string
	xf     XForward
	env    *Envelope // nil outside a transaction
	errors int
}

var errLineTooLong = errors.New("line too long")

func (ss *session) proto() string {
	if ss.srv.LMTP {
		return "LMTP"
	}
	return "ESMTP"
}

func (ss *session) run() {
	ss.reply(220, "", ss.srv.Hostname+" "+ss.proto()+" Scilla")
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			if !ss.fail(500, "5.5.2", "Error: line too long") {
				return
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				ss.log.Info("smtp session ended", "remote", ss.remote, "err", err)
			}
			return
		}
		if !ss.command(line) {
			return
		}
	}
}

// readLine reads one CRLF (or LF) terminated line, flushing pending
// replies first when no more input is buffered (so pipelined commands get
// their replies in one write).
func (ss *session) readLine() (string, error) {
	if ss.r.Buffered() == 0 {
		if err := ss.w.Flush(); err != nil {
			return "", err
		}
	}
	if ss.dl != nil && ss.srv.ReadTimeout > 0 {
		_ = ss.dl.SetReadDeadline(time.Now().Add(ss.srv.ReadTimeout))
	}
	line, err := ss.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Skip the rest of the over-long line.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = ss.r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (ss *session) reply(code int, enhanced, text string) {
	r := Reply{Code: code, Enhanced: enhanced, Text: text}
	ss.w.WriteString(r.String() + "\r\n")
}

// fail writes an error reply and counts it; false means hang up.
func (ss *session) fail(code int, enhanced, text string) bool {
	ss.errors++
	if ss.errors > maxErrors {
		ss.reply(421, "4.7.0", ss.srv.Hostname+" Error: too many errors")
		ss.w.Flush()
		return false
	}
	ss.reply(code, enhanced, text)
	return true
}

// command runs one command; false ends the session.
func (ss *session) command(line string) bool {
	verb, arg := parseCommand(line)
	switch verb {
	case "HELO", "EHLO", "LHLO":
		if (verb == "LHLO") != ss.srv.LMTP {
			return ss.fail(500, "5.5.1", "Error: "+verb+" is not used in "+ss.proto())
		}
		if arg == "" {
			return ss.fail(501, "5.5.4", "Syntax: "+verb+" hostname")
		}
		ss.helo, ss.env, ss.xf = arg, nil, XForward{}
		if verb == "HELO" {
			ss.reply(250, "", ss.srv.Hostname)
			return true
		}
		lines := []string{ss.srv.Hostname, "PIPELINING", "SIZE " + strconv.FormatInt(ss.srv.MaxSize, 10),
			"8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "XFORWARD " + XForwardAttributes}
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			ss.w.WriteString("250" + sep + l + "\r\n")
		}
	case "XFORWARD":
		if ss.env != nil {
			return ss.fail(503, "5.5.1", "Error: MAIL transaction in progress")
		}
		xf := ss.xf
		if err := parseXForward(arg, &xf); err != nil {
			return ss.fail(501, "5.5.4", "Error: "+err.Error())
		}
		ss.xf = xf
		ss.reply(250, "2.0.0", "Ok")
	case "MAIL":
		return ss.mail(arg)
	case "RCPT":
		return ss.rcpt(arg)
	case "DATA":
		return ss.data(arg)
	case "RSET":
		ss.env, ss.xf = nil, XForward{}
		ss.reply(250, "2.0.0", "Ok")
	case "NOOP":
		ss.reply(250, "2.0.0", "Ok")
	case "VRFY":
		ss.reply(252, "2.5.2", "Cannot VRFY user")
	case "HELP":
		ss.reply(214, "2.0.0", "See RFC 5321")
	case "QUIT":
		ss.reply(221, "2.0.0", "Bye")
		ss.w.Flush()
		return false
	default:
		return ss.fail(502, "5.5.2", "Error: command not recognized")
	}
	return true
}

func (ss *session) mail(arg string) bool {
	if ss.helo == "" {
		return ss.fail(503, "5.5.1", "Error: send "+map[bool]string{true: "LHLO", false: "HELO/EHLO"}[ss.srv.LMTP]+" first")
	}
	if ss.env != nil {
		return ss.fail(503, "5.5.1", "Error: nested MAIL command")
	}
	from, params, err := parsePath(arg, "FROM:")
	if err != nil {
		return ss.fail(501, "5.5.4", "Syntax: MAIL FROM:<address>")
	}
	env := &Envelope{Helo: ss.helo, From: from, XForward: ss.xf, Remote: ss.remote, LMTP: ss.srv.LMTP}
	for k, v := range params {
		switch k {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return ss.fail(501, "5.5.4", "Error: bad SIZE parameter")
			}
			if n > ss.srv.MaxSize {
				return ss.fail(552, "5.3.4", "Error: message too large")
			}
		case "BODY":
			switch u := strings.ToUpper(v); u {
			case "7BIT", "8BITMIME":
				env.Body = u
			default:
				return ss.fail(501, "5.5.4", "Error: bad BODY parameter")
			}
		case "SMTPUTF8":
			env.UTF8 = true
		default:
			return ss.fail(555, "5.5.4", "Error: unsupported parameter "+k)
		}
	}
	ss.env = env
	ss.reply(250, "2.1.0", "Ok")
	return true
}

func (ss *session) rcpt(arg string) bool {
	if ss.env == nil {
		return ss.fail(503, "5.5.1", "Error: need MAIL command")
	}
	to, params, err := parsePath(arg, "TO:")
	if err != nil || to == "" {
		return ss.fail(501, "5.5.4", "Syntax: RCPT TO:<address>")
	}
	if len(params) > 0 {
		return ss.fail(555, "5.5.4", "Error: RCPT parameters are not supported")
	}
	if len(ss.env.Rcpts) >= ss.srv.MaxRecipients {
		ss.reply(452, "4.5.3", "Error: too many recipients")
		return true
	}
	ss.env.Rcpts = append(ss.env.Rcpts, to)
	ss.reply(250, "2.1.5", "Ok")
	return true
}

func (ss *session) data(arg string) bool {
	if arg != "" {
		return ss.fail(501, "5.5.4", "Syntax: DATA")
	}
	if ss.env == nil {
		return ss.fail(503, "5.5.1", "Error: need MAIL command")
	}
	if len(ss.env.Rcpts) == 0 {
		return ss.fail(554, "5.5.1", "Error: no valid recipients")
	}
	ss.reply(354, "", "End data with <CR><LF>.<CR><LF>")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	msg, tooBig, err := ss.readData()
	env := ss.env
	ss.env, ss.xf = nil, XForward{}
	if err != nil {
		// The client went away (or stalled) mid-DATA: nothing was
		// acknowledged, so nothing is lost; drop the partial message.
		ss.log.Warn("client lost during DATA, message dropped (not acknowledged)", "remote", ss.remote, "from", env.From, "err", err)
		return false
	}
	var replies []Reply
	if tooBig {
		replies = []Reply{{Code: 552, Enhanced: "5.3.4", Text: "Error: message too large"}}
	} else {
		replies = ss.deliver(env, msg)
	}
	n := 1
	if ss.srv.LMTP {
		n = len(env.Rcpts)
	}
	for i := 0; i < n; i++ {
		r := Reply{Code: 451, Enhanced: "4.3.0", Text: "Error: internal error"}
		switch {
		case i < len(replies):
			r = replies[i]
		case len(replies) > 0:
			r = replies[len(replies)-1]
		}
		ss.w.WriteString(r.String() + "\r\n")
	}
	return true
}

// deliver calls the handler; a panic in it costs this message a 451 (the
// client keeps it and retries), not the process and every other session.
func (ss *session) deliver(env *Envelope, msg []byte) (replies []Reply) {
	defer func() {
		if v := recover(); v != nil {
			ss.log.Error("handler panic; message tempfailed", "remote", ss.remote, "panic", v, "stack", string(debug.Stack()))
			replies = []Reply{{Code: 451, Enhanced: "4.3.0", Text: "Error: internal error"}}
		}
	}()
	return ss.srv.Handler.Deliver(context.Background(), env, msg)
}

// readData reads dot-stuffed message data up to the lone "." line. Lines
// of any length are accepted; past MaxSize the data is read and discarded
// and tooBig is set.
func (ss *session) readData() (msg []byte, tooBig bool, err error) {
	var buf bytes.Buffer
	atLineStart := true
	for {
		if ss.dl != nil && ss.srv.ReadTimeout > 0 {
			_ = ss.dl.SetReadDeadline(time.Now().Add(ss.srv.ReadTimeout))
		}
		chunk, err := ss.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, fmt.Errorf("read DATA: %w", err)
		}
		full := err == nil // chunk ends a line
		if atLineStart && chunk[0] == '.' {
			if full && (string(chunk) == ".\r\n" || string(chunk) == ".\n") {
				return buf.Bytes(), tooBig, nil
			}
			chunk = chunk[1:] // dot-unstuffing (RFC 5321 §4.5.2)
		}
		atLineStart = full
		if int64(buf.Len()+len(chunk)) > ss.srv.MaxSize {
			tooBig = true
			buf.Reset()
		}
		if !tooBig {
			buf.Write(chunk)
		}
	}
}
