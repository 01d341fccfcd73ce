package qmail

import "fmt"

// Exit codes of qmail-queue(8) that scilla-qmail uses. 11-40 are permanent,
// the rest temporary.
const (
	ExitOK = 0
	// ExitAddressTooLong: an envelope address is longer than qmail allows.
	ExitAddressTooLong = 11
	// ExitRefused: the message is refused permanently for every recipient
	// (the policy rejected it; on-error reject).
	ExitRefused = 31
	// ExitNoMemory: out of memory (here: the message is bigger than
	// max_message and cannot be held).
	ExitNoMemory = 51
	// ExitTimeout: the whole run took longer than the timeout.
	ExitTimeout = 52
	// ExitReadFailed: the message or envelope could not be read.
	ExitReadFailed = 54
	// ExitConfig: the configuration could not be read.
	ExitConfig = 55
	// ExitTempRefused: the message is refused temporarily (on-error
	// tempfail).
	ExitTempRefused = 71
	// ExitBug: an internal error, including a missing or crashed original
	// qmail-queue.
	ExitBug = 81
	// ExitCustom: the reply text was written to descriptor 6 ("D" text for
	// permanent, "Z" text for temporary) for a qmail-smtpd with the
	// qmail-queue custom error patch.
	ExitCustom = 82
	// ExitEnvelopeFormat: the envelope is malformed.
	ExitEnvelopeFormat = 91
)

// Error is a failure with the qmail-queue exit code that reports it.
type Error struct {
	Code int
	Err  error
}

// Error says what failed and the exit code it maps to.
func (e *Error) Error() string { return fmt.Sprintf("qmail: exit %d: %v", e.Code, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
