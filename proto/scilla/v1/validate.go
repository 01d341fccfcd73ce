package scillav1

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxAddressLen is the longest address accepted (RFC 5321 §4.5.3.1: 64 + 1 + 255).
const maxAddressLen = 320

// Validate checks a ScanRequest's shape; the server's validator interceptor
// turns its error into INVALID_ARGUMENT. The message size limit is the
// server's setting and is checked there.
func (r *ScanRequest) Validate() error {
	var errs []error
	if len(r.GetMessage()) == 0 {
		errs = append(errs, errors.New("message: empty"))
	}
	env := r.GetEnvelope()
	if env == nil {
		return errors.Join(append(errs, errors.New("envelope: missing"))...)
	}
	if ip := env.GetClientIp(); ip != "" {
		if _, err := netip.ParseAddr(strings.Trim(ip, "[]")); err != nil {
			errs = append(errs, fmt.Errorf("envelope.client_ip: %q is not an IP address", ip))
		}
	}
	if err := checkAddress(env.GetMailFrom(), true); err != nil {
		errs = append(errs, fmt.Errorf("envelope.mail_from: %w", err))
	}
	if len(env.GetRcptTo()) == 0 {
		errs = append(errs, errors.New("envelope.rcpt_to: at least one recipient is required"))
	}
	for i, rc := range env.GetRcptTo() {
		if err := checkAddress(rc, false); err != nil {
			errs = append(errs, fmt.Errorf("envelope.rcpt_to[%d]: %w", i, err))
		}
	}
	for name, v := range map[string]string{"helo": env.GetHelo(), "client_hostname": env.GetClientHostname(), "auth_user": env.GetAuthUser(), "queue_id": env.GetQueueId()} {
		if len(v) > 1024 || strings.ContainsAny(v, "\r\n\x00") {
			errs = append(errs, fmt.Errorf("envelope.%s: must be one line of at most 1024 bytes", name))
		}
	}
	return errors.Join(errs...)
}

func checkAddress(a string, emptyOK bool) error {
	switch {
	case a == "" && emptyOK:
		return nil
	case a == "":
		return errors.New("empty address")
	case len(a) > maxAddressLen:
		return fmt.Errorf("address longer than %d bytes", maxAddressLen)
	case strings.ContainsAny(a, " \t\r\n\x00"):
		return fmt.Errorf("%q contains white space or control characters", a)
	}
	return nil
}
