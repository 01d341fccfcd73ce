package clients

import (
	"bytes"
	"fmt"
	"time"
)

// BounceMessage builds a failure notice to sender for the groups of a plan
// that rejected the message while other groups delivered it (clients that
// split per group, or that resubmit, cannot refuse per recipient). host
// names this server in the MAILER-DAEMON address and the Message-ID; the
// original header section is attached so the sender can tell which
// message it was. It is queued with the null sender.
func BounceMessage(host, sender string, now time.Time, msg []byte, rejected []*GroupPlan) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: MAILER-DAEMON@%s\n", host)
	fmt.Fprintf(&b, "To: %s\n", sender)
	fmt.Fprintf(&b, "Subject: failure notice\n")
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.scilla-bounce@%s>\n", now.UnixNano(), host)
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\n")
	fmt.Fprintf(&b, "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
	fmt.Fprintf(&b, "Hi. This is the Scilla spam filter at %s.\n", host)
	fmt.Fprintf(&b, "Your message was refused for the following addresses.\n")
	fmt.Fprintf(&b, "It was delivered to any other recipients.\n\n")
	for _, g := range rejected {
		reply := RejectReply
		if g.Reject != nil {
			reply = *g.Reject
		}
		for _, rcpt := range g.Recipients {
			fmt.Fprintf(&b, "<%s>:\n%s\n\n", rcpt, reply.String())
		}
	}
	b.WriteString("--- Below this line is a copy of the message header.\n\n")
	head, _ := SplitHeader(msg)
	b.Write(bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n")))
	return b.Bytes()
}
