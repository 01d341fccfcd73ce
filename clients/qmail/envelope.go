package qmail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Envelope is what qmail-queue reads from descriptor 1: the sender, then
// the recipients (qmail-queue(8)).
type Envelope struct {
	// From is the envelope sender; "" for the null sender (bounces).
	From string
	// To are the envelope recipients in order.
	To []string
}

// Envelope limits. MaxAddress is qmail-queue's own limit (ADDR 1003, exit
// 11); MaxRecipients and MaxEnvelope bound memory against a caller that
// never ends the list.
const (
	MaxAddress    = 1003
	MaxRecipients = 100000
	MaxEnvelope   = 16 << 20
)

// ReadEnvelope reads "F<sender>\0", then "T<rcpt>\0" per recipient, then a
// final "\0". Anything after the final NUL is ignored, as qmail-queue does.
// Errors carry the exit code qmail-queue would use: 54 when the input ends
// or fails early, 91 for a format error, 11 for an address too long.
func ReadEnvelope(r io.Reader) (*Envelope, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxEnvelope+1), 64<<10)
	var env Envelope
	total := 0
	readAddr := func(kind string) (string, error) {
		b, err := br.ReadSlice(0)
		var long []byte
		for errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			if len(long) > MaxAddress {
				return "", &Error{Code: ExitAddressTooLong, Err: fmt.Errorf("envelope %s address longer than %d bytes", kind, MaxAddress)}
			}
			b, err = br.ReadSlice(0)
		}
		if long != nil {
			b = append(long, b...)
		}
		total += len(b)
		if err != nil {
			if total > MaxEnvelope {
				return "", &Error{Code: ExitEnvelopeFormat, Err: fmt.Errorf("envelope longer than %d bytes", MaxEnvelope)}
			}
			return "", readErr(fmt.Sprintf("envelope %s address", kind), err)
		}
		b = b[:len(b)-1]
		if len(b) > MaxAddress {
			return "", &Error{Code: ExitAddressTooLong, Err: fmt.Errorf("envelope %s address longer than %d bytes", kind, MaxAddress)}
		}
		return string(b), nil
	}
	c, err := br.ReadByte()
	if err != nil {
		return nil, readErr("envelope", err)
	}
	if c != 'F' {
		return nil, &Error{Code: ExitEnvelopeFormat, Err: fmt.Errorf("envelope starts with %q, want F", c)}
	}
	if env.From, err = readAddr("sender"); err != nil {
		return nil, err
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nil, readErr("envelope recipient list", err)
		}
		if c == 0 {
			return &env, nil
		}
		if c != 'T' {
			return nil, &Error{Code: ExitEnvelopeFormat, Err: fmt.Errorf("envelope recipient starts with %q, want T", c)}
		}
		if len(env.To) >= MaxRecipients {
			return nil, &Error{Code: ExitEnvelopeFormat, Err: fmt.Errorf("more than %d envelope recipients", MaxRecipients)}
		}
		to, err := readAddr("recipient")
		if err != nil {
			return nil, err
		}
		env.To = append(env.To, to)
	}
}

// readErr classifies a read failure: end of input before the final NUL is
// "unable to read the envelope" (54), as in qmail-queue.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Code: ExitReadFailed, Err: fmt.Errorf("%s: end of input before the final NUL", what)}
	}
	return &Error{Code: ExitReadFailed, Err: fmt.Errorf("read %s: %w", what, err)}
}

// Bytes encodes the envelope in qmail-queue's format.
func (e *Envelope) Bytes() []byte {
	var b bytes.Buffer
	b.WriteByte('F')
	b.WriteString(e.From)
	b.WriteByte(0)
	for _, t := range e.To {
		b.WriteByte('T')
		b.WriteString(t)
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return b.Bytes()
}
