package message

import "time"

// Limits bound the work Parse does on one message. A zero field takes the
// value of DefaultLimits, so Limits{MaxParts: 50} changes only the part count.
// When a limit is reached parsing stops short and records an anomaly
// (see anomalies.go); it never fails.
type Limits struct {
	// MaxDepth is the deepest MIME nesting followed (multipart and
	// message/rfc822 each add a level).
	MaxDepth int
	// MaxParts is the most MIME entities parsed, the root included.
	MaxParts int
	// MaxHeaderBytes is the most bytes of header stored per entity; the
	// rest of an oversized header is skipped.
	MaxHeaderBytes int
	// MaxSize is the most bytes of the raw message looked at.
	MaxSize int
	// MaxDecodedBytes is the most bytes all transfer decodings and
	// attachment extractions together may produce (bounds base64 and
	// zip expansion).
	MaxDecodedBytes int
	// MaxTextBytes is the most bytes of text kept in Message.Text and in
	// any one Part.Text.
	MaxTextBytes int
	// Timeout bounds the wall time of one Parse; 0 takes the default.
	// ParseContext also stops at the context's deadline.
	Timeout time.Duration
}

// DefaultLimits are the limits used when none are given.
var DefaultLimits = Limits{
	MaxDepth:        20,
	MaxParts:        500,
	MaxHeaderBytes:  256 << 10,
	MaxSize:         32 << 20,
	MaxDecodedBytes: 32 << 20,
	MaxTextBytes:    1 << 20,
	Timeout:         2 * time.Second,
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxSize <= 0 {
		l.MaxSize = d.MaxSize
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = d.MaxTextBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}
