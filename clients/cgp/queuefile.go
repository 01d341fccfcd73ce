package cgp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Envelope is what a CommuniGate queue file says about a message before the
// message itself.
type Envelope struct {
	// From is the return-path; "" for the null sender.
	From string
	// To are the recipients in order.
	To []string
	// Source is the transport the message came in through ("SMTP", "PIPE",
	// "RULE", ...), "" when the file does not say.
	Source string
	// ClientIP is the remote address of an SMTP submission.
	ClientIP string
	// AuthUser is the authenticated submitter, if any.
	AuthUser string
}

// QueueFile is a parsed queue file.
type QueueFile struct {
	Envelope Envelope
	// Message is the RFC 5322 message after the envelope; nil when
	// Oversize.
	Message []byte
	// Oversize is set when the message is bigger than the reader's limit.
	Oversize bool
}

// Limits of the queue file reader.
const (
	maxEnvelopeLine = 64 << 10
	maxRecipients   = 100000
)

// ErrQueueFile is wrapped by every error about a malformed queue file.
var ErrQueueFile = errors.New("cgp: bad queue file")

// ReadQueueFile reads a CommuniGate queue file: envelope lines, an empty
// line, then the message. Envelope lines are recognised by their first
// letter, as CommuniGate writes them, or by header-style names, as in the
// Submitted folder format:
//
//	P ... <sender>            Return-Path: <sender>      the return-path
//	R ... <recipient>         Envelope-To: a, b          a recipient (or several)
//	S <transport> [<ip>] ...                             where the message came from
//	A <account>                                          the authenticated submitter
//
// Other envelope lines are skipped. A message bigger than maxMessage is not
// kept (QueueFile.Oversize).
func ReadQueueFile(r io.Reader, maxMessage int64) (*QueueFile, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	qf := &QueueFile{}
	env := &qf.Envelope
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: no empty line after the envelope", ErrQueueFile)
			}
			return nil, err
		}
		if line == "" {
			break
		}
		if n > maxRecipients+100 {
			return nil, fmt.Errorf("%w: envelope of more than %d lines", ErrQueueFile, maxRecipients+100)
		}
		if err := env.addLine(line); err != nil {
			return nil, err
		}
	}
	msg, err := io.ReadAll(io.LimitReader(br, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if int64(len(msg)) > maxMessage {
		qf.Oversize = true
		return qf, nil
	}
	qf.Message = msg
	return qf, nil
}

func (e *Envelope) addLine(line string) error {
	if name, value, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, " ") && len(name) > 1 {
		switch strings.ToLower(name) {
		case "return-path":
			e.From = angle(value)
		case "envelope-to":
			for _, a := range strings.Split(value, ",") {
				if err := e.addRcpt(angle(a)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "P":
		e.From = lastAngle(rest)
	case "R":
		return e.addRcpt(lastAngle(rest))
	case "S":
		transport, rest, _ := strings.Cut(strings.TrimSpace(rest), " ")
		e.Source = strings.ToUpper(transport)
		if i := strings.IndexByte(rest, '['); i >= 0 {
			if j := strings.IndexByte(rest[i:], ']'); j > 0 {
				e.ClientIP = rest[i+1 : i+j]
			}
		}
	case "A":
		e.AuthUser = strings.TrimSpace(rest)
	}
	return nil
}

func (e *Envelope) addRcpt(a string) error {
	if a == "" {
		return nil
	}
	if len(e.To) >= maxRecipients {
		return fmt.Errorf("%w: more than %d recipients", ErrQueueFile, maxRecipients)
	}
	e.To = append(e.To, a)
	return nil
}

// angle returns the address in <...>, or the trimmed text when there are
// no brackets.
func angle(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return strings.TrimSpace(s[i+1 : i+j])
		}
	}
	return s
}

// lastAngle returns the address in the last <...> of an envelope line whose
// leading fields are flags and dates.
func lastAngle(s string) string {
	i := strings.LastIndexByte(s, '<')
	if i < 0 {
		f := strings.Fields(s)
		if len(f) == 0 {
			return ""
		}
		return f[len(f)-1]
	}
	j := strings.IndexByte(s[i:], '>')
	if j < 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return strings.TrimSpace(s[i+1 : i+j])
}

// readLine reads one line of at most maxEnvelopeLine bytes, without CR LF.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxEnvelopeLine {
			return "", fmt.Errorf("%w: envelope line longer than %d bytes", ErrQueueFile, maxEnvelopeLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return "", fmt.Errorf("%w: no empty line after the envelope", ErrQueueFile)
			}
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}
