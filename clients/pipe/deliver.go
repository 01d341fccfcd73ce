package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
)

// Target is where scilla-pipe hands mail on.
type Target struct {
	// LMTP is set for an LMTP next hop, else SMTP.
	LMTP bool
	// Network and Addr of the next hop ("tcp" or "unix"); empty for exec.
	Network, Addr string
	// Command is run for each delivery and spoken SMTP to on its stdin and
	// stdout (e.g. "/usr/sbin/sendmail -bs").
	Command []string
}

// ParseTarget parses "smtp:host:port", "lmtp:host:port",
// "smtp:unix:/path", "lmtp:unix:/path" or "exec:command args".
func ParseTarget(s string) (Target, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Target{}, fmt.Errorf("target %q: want smtp:host:port, lmtp:host:port, lmtp:unix:/path or exec:command", s)
	}
	switch strings.ToLower(kind) {
	case "exec":
		f := strings.Fields(rest)
		if len(f) == 0 {
			return Target{}, fmt.Errorf("target %q: empty command", s)
		}
		return Target{Command: f}, nil
	case "smtp", "lmtp":
		t := Target{LMTP: strings.EqualFold(kind, "lmtp"), Network: "tcp", Addr: rest}
		if p, ok := strings.CutPrefix(rest, "unix:"); ok {
			t.Network, t.Addr = "unix", p
		} else if p, ok := strings.CutPrefix(rest, "inet:"); ok {
			t.Addr = p
		}
		if t.Network == "tcp" {
			host, port, err := net.SplitHostPort(t.Addr)
			if err != nil || port == "" {
				return Target{}, fmt.Errorf("target %q: want host:port", s)
			}
			t.Addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
		return t, nil
	}
	return Target{}, fmt.Errorf("target %q: unknown kind %q (want smtp, lmtp or exec)", s, kind)
}

func (t Target) String() string {
	if t.Command != nil {
		return "exec:" + strings.Join(t.Command, " ")
	}
	p := "smtp"
	if t.LMTP {
		p = "lmtp"
	}
	if t.Network == "unix" {
		return p + ":unix:" + t.Addr
	}
	return p + ":" + t.Addr
}

// Deliverer sends messages to a Target, one connection per message.
type Deliverer struct {
	Target   Target
	Hostname string
	// Timeout bounds one whole delivery.
	Timeout time.Duration
}

// Options of one delivery (ESMTP MAIL parameters to pass on).
type Options struct {
	Body string // BODY=
	UTF8 bool   // SMTPUTF8
}

// Send delivers msg and returns one reply per recipient: the next hop's
// answer for that recipient, or a 4xx when the next hop could not be
// reached or went away (nothing is acknowledged that was not accepted).
func (d *Deliverer) Send(ctx context.Context, from string, rcpts []string, msg []byte, opt Options) []smtpserver.Reply {
	out := make([]smtpserver.Reply, len(rcpts))
	fill := func(r smtpserver.Reply) {
		for i := range out {
			if out[i].Code == 0 {
				out[i] = r
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	conn, wait, err := d.dial(ctx)
	if err != nil {
		fill(smtpserver.Reply{Code: 451, Enhanced: "4.4.1", Text: "Error: next hop unavailable"})
		return out
	}
	defer func() {
		conn.Close()
		if wait != nil {
			_ = wait()
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var c *smtp.Client
	if d.Target.LMTP {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout, c.SubmissionTimeout = d.Timeout, d.Timeout
	if err := c.Hello(d.Hostname); err != nil {
		fill(toReply(err, "greeting"))
		return out
	}
	mo := &smtp.MailOptions{UTF8: opt.UTF8}
	if opt.Body == "8BITMIME" {
		mo.Body = smtp.Body8BitMIME
	}
	if err := c.Mail(from, mo); err != nil {
		fill(toReply(err, "MAIL"))
		return out
	}
	var accepted []string
	for i, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			out[i] = toReply(err, "RCPT")
			continue
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		_ = c.Quit()
		return out
	}
	w, err := c.Data()
	if err != nil {
		fill(toReply(err, "DATA"))
		return out
	}
	if _, err := w.Write(msg); err != nil {
		fill(toReply(err, "message"))
		return out
	}
	if d.Target.LMTP {
		resp, err := w.CloseWithLMTPResponse()
		var lerr smtp.LMTPDataError
		errors.As(err, &lerr)
		for i, r := range rcpts {
			if out[i].Code != 0 {
				continue
			}
			switch {
			case lerr[r] != nil:
				out[i] = toReply(lerr[r], "DATA")
			case resp[r] != nil:
				out[i] = smtpserver.Reply{Code: 250, Text: downstreamText(resp[r].StatusText)}
			case err != nil && len(lerr) == 0:
				out[i] = toReply(err, "DATA")
			default:
				out[i] = smtpserver.Reply{Code: 451, Enhanced: "4.4.2", Text: "Error: no LMTP reply for recipient"}
			}
		}
	} else {
		resp, err := w.CloseWithResponse()
		if err != nil {
			fill(toReply(err, "DATA"))
			return out
		}
		fill(smtpserver.Reply{Code: 250, Text: downstreamText(resp.StatusText)})
	}
	_ = c.Quit()
	return out
}

func enhanced(c smtp.EnhancedCode) string {
	if c == smtp.NoEnhancedCode || c == (smtp.EnhancedCode{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}

// toReply turns a client error into the reply for our own client: the
// next hop's SMTP error as it was, anything else (network) a 4xx.
func toReply(err error, stage string) smtpserver.Reply {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 400 && se.Code < 600 {
		return smtpserver.Reply{Code: se.Code, Enhanced: enhanced(se.EnhancedCode), Text: oneLine(se.Message)}
	}
	return smtpserver.Reply{Code: 451, Enhanced: "4.4.2", Text: "Error: next hop failed during " + stage}
}

// downstreamText is the next hop's acceptance text (e.g. "2.0.0 Ok:
// queued as 4Q1x"), given an enhanced code when it had none.
func downstreamText(s string) string {
	s = oneLine(s)
	if len(s) >= 5 && s[0] == '2' && s[1] == '.' {
		return s
	}
	return "2.0.0 " + s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// dial connects to the target, or starts the command.
func (d *Deliverer) dial(ctx context.Context) (net.Conn, func() error, error) {
	if d.Target.Command == nil {
		var dl net.Dialer
		c, err := dl.DialContext(ctx, d.Target.Network, d.Target.Addr)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", d.Target, err)
		}
		return c, nil, nil
	}
	cmd := exec.CommandContext(ctx, d.Target.Command[0], d.Target.Command[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", d.Target, err)
	}
	return &pipeConn{r: stdout, w: stdin}, cmd.Wait, nil
}

// pipeConn is a command's stdout and stdin as a net.Conn.
type pipeConn struct {
	r io.ReadCloser
	w io.WriteCloser
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeConn) Close() error {
	p.w.Close()
	return p.r.Close()
}
func (p *pipeConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "exec" }
