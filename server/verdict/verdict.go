// Package verdict holds the small value types shared by the engine, the policy
// and the API layer: the status of a message for a recipient group, why a
// message was not rated, and what the mail server should do with it.
package verdict

import "fmt"

// Status is the verdict for one recipient group (DESIGN §2).
type Status int

// Statuses. The zero value means "no verdict yet".
const (
	StatusNone Status = iota
	NotDetected
	ProbableSpam
	Spam
	Formal
	Trusted
	Blacklisted
)

var statusNames = [...]string{"", "NOT_DETECTED", "PROBABLE_SPAM", "SPAM", "FORMAL", "TRUSTED", "BLACKLISTED"}

// headerNames are the spellings used in X-Spamtest-Status-Extended.
var headerNames = [...]string{"", "Not detected", "Probable Spam", "SPAM", "Formal", "Trusted", "Blacklisted"}

// String returns the API spelling, e.g. "PROBABLE_SPAM".
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// HeaderText returns the spelling used in X-Spamtest-Status-Extended.
func (s Status) HeaderText() string {
	if s < 0 || int(s) >= len(headerNames) {
		return ""
	}
	return headerNames[s]
}

// ParseStatus parses the API spelling (case-insensitive, "_" or " " accepted).
func ParseStatus(text string) (Status, error) {
	for i, n := range statusNames {
		if i > 0 && (equalFold(text, n) || equalFold(text, headerNames[i])) {
			return Status(i), nil
		}
	}
	return StatusNone, fmt.Errorf("unknown status %q (allowed: spam, probable_spam, formal, trusted, blacklisted, not_detected)", text)
}

// Statuses lists every real status in API order.
func Statuses() []Status {
	return []Status{NotDetected, ProbableSpam, Spam, Formal, Trusted, Blacklisted}
}

// Info explains why a message was not rated for a group.
type Info int

// Info values. InfoNone means the message was rated.
const (
	InfoNone Info = iota
	NotProtected
	NoLicense
	NotProcessed
	LicenseLimitExceeded
)

var infoHeader = [...]string{"", "Not protected", "No License", "Not processed", "License limit exceeded"}

// HeaderText returns the X-SpamTest-Info spelling, "" for InfoNone.
func (i Info) HeaderText() string {
	if i < 0 || int(i) >= len(infoHeader) {
		return ""
	}
	return infoHeader[i]
}

// String returns the header spelling or "none".
func (i Info) String() string {
	if i == InfoNone {
		return "none"
	}
	return i.HeaderText()
}

// ActionKind is what happens to the message for a group.
type ActionKind int

// Action kinds. The zero value is Accept.
const (
	Accept ActionKind = iota
	Copy
	Redirect
	Reject
	Delete
)

var actionNames = [...]string{"accept", "copy", "redirect", "reject", "delete"}

// String returns the config spelling, e.g. "redirect".
func (a ActionKind) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return fmt.Sprintf("ActionKind(%d)", int(a))
	}
	return actionNames[a]
}

// ParseAction parses the config spelling.
func ParseAction(text string) (ActionKind, error) {
	for i, n := range actionNames {
		if equalFold(text, n) {
			return ActionKind(i), nil
		}
	}
	return Accept, fmt.Errorf("unknown action %q (allowed: accept, copy, redirect, reject, delete)", text)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == ' ' {
			x = '_'
		}
		if y == ' ' {
			y = '_'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
