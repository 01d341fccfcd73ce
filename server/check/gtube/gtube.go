// Package gtube recognises the GTUBE test string (the Generic Test for
// Unsolicited Bulk Email), which must always yield SPAM so administrators can
// test their setup end to end.
package gtube

import (
	"bytes"
	"context"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/verdict"
)

// Signature is the GTUBE string.
const Signature = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

var sig = []byte(Signature)

// Check finds GTUBE anywhere in the decoded body text or the raw message.
type Check struct{}

// New returns the GTUBE check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "gtube" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	found := bytes.Contains(in.Msg.Raw, sig)
	if !found {
		for _, l := range in.Msg.Leaves {
			if bytes.Contains([]byte(l.Text), sig) {
				found = true
				break
			}
		}
	}
	if !found {
		return engine.Result{}, nil
	}
	return engine.Result{Signs: []engine.Sign{{
		Name:   "GTUBE",
		Score:  1000,
		Desc:   "GTUBE anti-spam test string",
		Method: "content",
		Status: verdict.Spam,
	}}}, nil
}
