// Package mbox reads Unix mailbox files: messages one after another, each
// introduced by a "From " separator line (mboxo and mboxrd, as mail
// servers, mail clients and archives write them).
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned for a message longer than the reader's limit.
var ErrTooLarge = errors.New("mbox: message too large")

// Reader returns the messages of a mailbox one at a time.
type Reader struct {
	br  *bufio.Reader
	max int
	// prevBlank: the last line was blank (true at the start, where a
	// separator may stand too); inMsg: a message has begun.
	prevBlank, inMsg, done bool
}

// NewReader reads a mailbox from r; a message longer than max bytes is
// refused with ErrTooLarge.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max, prevBlank: true}
}

// IsSeparator reports whether line starts a message in a mailbox: it
// begins "From " (followed by the envelope sender and a date).
func IsSeparator(line []byte) bool {
	return bytes.HasPrefix(line, []byte("From "))
}

// Next returns the next message without its separator line, with mboxrd's
// quoting undone (">From " and ">>From " lose one '>') and without the
// blank line a writer puts before the next separator. A separator counts at
// the start of the file or after a blank line. Text before the first
// separator is a message when it is not blank, so a file holding one
// message without a separator reads as that message. A message may be
// empty (two separators in a row). Next returns io.EOF after the last.
func (r *Reader) Next() ([]byte, error) {
	if r.done {
		return nil, io.EOF
	}
	var msg []byte
	for {
		line, err := r.readLine()
		if len(line) > 0 {
			blank := len(bytes.TrimSpace(line)) == 0
			switch {
			case r.prevBlank && IsSeparator(line):
				r.prevBlank = false
				if r.inMsg {
					return trimSeparatorBlank(msg), nil
				}
				r.inMsg = true
				continue
			case !r.inMsg && blank:
				continue // blank lines before the first message
			}
			r.inMsg, r.prevBlank = true, blank
			if len(msg)+len(line) > r.max {
				r.done = true
				return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, r.max)
			}
			msg = append(msg, unquoteFrom(line)...)
		}
		if err == io.EOF {
			r.done = true
			if !r.inMsg {
				return nil, io.EOF
			}
			return msg, nil
		}
		if err != nil {
			r.done = true
			return nil, fmt.Errorf("mbox: %w", err)
		}
	}
}

// readLine returns the next line with its ending. A line longer than the
// message limit is returned as soon as it is known to be, for Next to
// refuse.
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull || len(line) > r.max {
			if err == bufio.ErrBufferFull {
				err = nil
			}
			return line, err
		}
	}
}

// trimSeparatorBlank removes the one blank line a mailbox writer puts
// before the next separator.
func trimSeparatorBlank(msg []byte) []byte {
	switch {
	case string(msg) == "\n" || string(msg) == "\r\n":
		return msg[:0]
	case bytes.HasSuffix(msg, []byte("\r\n\r\n")):
		return msg[:len(msg)-2]
	case bytes.HasSuffix(msg, []byte("\n\n")):
		return msg[:len(msg)-1]
	}
	return msg
}

// unquoteFrom undoes mboxrd quoting: ">From ", ">>From "... lose one '>'.
func unquoteFrom(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i > 0 && bytes.HasPrefix(line[i:], []byte("From ")) {
		return line[1:]
	}
	return line
}
