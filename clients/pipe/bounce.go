package pipe

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/pipe/smtpserver"
)

// bounce sends the sender a delivery status notification (RFC 3464) for
// the recipients with a permanent refusal. The null sender gets none (a
// bounce is never bounced). It returns an error only when a DSN was due
// but the next hop did not take it.
func (p *Pipe) bounce(ctx context.Context, env *smtpserver.Envelope, msg []byte, replies []smtpserver.Reply) error {
	if env.From == "" {
		p.log.Info("refused recipients of a bounce are not bounced again")
		return nil
	}
	var human, status bytes.Buffer
	for i, r := range replies {
		if r.OK() || r.Temporary() {
			continue
		}
		fmt.Fprintf(&human, "<%s>: %s\r\n", env.Rcpts[i], r.String())
		code := r.Enhanced
		if code == "" {
			code = "5.0.0"
		}
		fmt.Fprintf(&status, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s\r\n", env.Rcpts[i], code, r.String())
	}
	head, _ := clients.SplitHeader(msg)
	boundary := fmt.Sprintf("scilla-%d", time.Now().UnixNano())
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", p.cfg.Hostname)
	fmt.Fprintf(&b, "To: <%s>\r\nSubject: Undelivered Mail Returned to Sender\r\n", env.From)
	fmt.Fprintf(&b, "Date: %s\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Your message could not be delivered to some recipients; it was delivered to the others.\r\n\r\n%s\r\n", human.String())
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; %s\r\n%s\r\n", boundary, p.cfg.Hostname, status.String())
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	b.Write(bytes.ReplaceAll(bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	res := p.out.Send(ctx, "", []string{env.From}, b.Bytes(), Options{})
	if !res[0].OK() {
		return fmt.Errorf("bounce to %s: %s", env.From, res[0])
	}
	return nil
}
