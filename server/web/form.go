package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"github.com/scilla-mail/scilla/internal/mbox"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Form limits. The whole body of a POST is read into memory (nothing is
// spilled to temporary files), bounded by its page's limit.
const (
	// smallFormBytes bounds the forms without uploads.
	smallFormBytes = 64 << 10
	// formOverhead is what a scan form may hold beside its message: the
	// envelope fields and the multipart framing.
	formOverhead = 1 << 20
	// maxLearnBytes bounds all the files of one learning upload together.
	maxLearnBytes = 64 << 20
	// defaultRcpt is the recipient a test scan is for when the form names
	// none, as with scilla scan.
	defaultRcpt = "postmaster@localhost"
)

func smallForm() int64 { return smallFormBytes }

// form reads a POST body of at most limit() bytes, urlencoded or
// multipart, and checks the CSRF token of a browser session; then h runs
// with r.Form and r.MultipartForm filled in. A body over the limit gets 413,
// a missing or wrong CSRF token 403.
func (s *Server) form(limit func() int64, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := readForm(w, r, limit()); err != nil {
			formError(w, err)
			return
		}
		if sess := sessionFrom(r); sess != nil && !validCSRF(sess, r.PostFormValue("csrf")) {
			s.log.Warn("console: form without a valid CSRF token refused", "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "the form's CSRF token is missing or stale: reload the page and send it again", http.StatusForbidden)
			return
		}
		h(w, r)
	})
}

// readForm parses a POST body of at most limit bytes into r.Form and, for
// multipart bodies, r.MultipartForm, all in memory.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	// ParseMultipartForm would hide an error of the urlencoded body behind
	// ErrNotMultipart; decide first.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(limit)
	}
	return r.ParseForm()
}

// formError answers a POST whose body readForm refused: 413 when it is
// over the limit, else 400.
func formError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("the form is over %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "unreadable form: "+err.Error(), http.StatusBadRequest)
}

// scanForm is what the scan page's form holds besides the message, to show
// it again with the verdict.
type scanForm struct {
	ClientIP, Helo, MailFrom, RcptTo, Pasted string
}

// parseScanForm turns the scan form into a ScanRequest: the message is the
// uploaded file ("file") or else the pasted text ("message"); the envelope
// comes from client_ip, helo, mail_from and rcpt_to (addresses separated by
// white space, commas or semicolons; none = postmaster@localhost). The
// request is not validated here: the caller validates it as gRPC does.
func parseScanForm(r *http.Request) (scanForm, *scillav1.ScanRequest, error) {
	f := scanForm{
		ClientIP: strings.TrimSpace(r.PostFormValue("client_ip")),
		Helo:     strings.TrimSpace(r.PostFormValue("helo")),
		MailFrom: strings.TrimSpace(r.PostFormValue("mail_from")),
		RcptTo:   strings.TrimSpace(r.PostFormValue("rcpt_to")),
		Pasted:   r.PostFormValue("message"),
	}
	msgs, err := uploads(r, "file")
	if err != nil {
		return f, nil, err
	}
	var msg []byte
	switch {
	case len(msgs) > 1:
		return f, nil, errors.New("upload one message file, or paste one message")
	case len(msgs) == 1:
		msg = msgs[0]
	default:
		// A message pasted with blank lines before it would read as one
		// without headers.
		msg = []byte(strings.TrimLeft(f.Pasted, "\r\n"))
	}
	if len(msg) == 0 {
		return f, nil, errors.New("no message: choose a message file or paste one")
	}
	env := &scillav1.Envelope{
		ClientIp: f.ClientIP,
		Helo:     f.Helo,
		MailFrom: strings.Trim(f.MailFrom, "<>"),
		MtaKind:  scillav1.MtaKind_MTA_KIND_CLI, // an admin's test, like scilla scan
	}
	for _, a := range strings.FieldsFunc(f.RcptTo, func(c rune) bool { return c == ',' || c == ';' || unicode.IsSpace(c) }) {
		if a = strings.Trim(a, "<>"); a != "" {
			env.RcptTo = append(env.RcptTo, a)
		}
	}
	if len(env.RcptTo) == 0 {
		env.RcptTo = []string{defaultRcpt}
	}
	return f, &scillav1.ScanRequest{Envelope: env, Message: msg}, nil
}

// parseLearnForm turns the learning form into a LearnRequest: label (spam,
// ham or forget), domain, and the messages of every file uploaded as
// "messages".
func parseLearnForm(r *http.Request) (*scillav1.LearnRequest, error) {
	v := r.PostFormValue("label")
	label := scillav1.Label(scillav1.Label_value["LABEL_"+strings.ToUpper(v)])
	if label == scillav1.Label_LABEL_UNSPECIFIED {
		return nil, fmt.Errorf("label %q: choose spam, ham or forget", v)
	}
	msgs, err := uploads(r, "messages")
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, errors.New("no messages: choose one or more message files")
	}
	return &scillav1.LearnRequest{Label: label, Messages: msgs, Domain: strings.TrimSpace(r.PostFormValue("domain"))}, nil
}

// uploads returns the messages of the files uploaded in field, in order: a
// file whose first line is an mbox "From " separator is a mailbox holding
// several (as scilla learn reads it), any other is one message. Empty
// files and messages are left out.
func uploads(r *http.Request, field string) ([][]byte, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var msgs [][]byte
	for _, fh := range r.MultipartForm.File[field] {
		f, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("read upload %q: %w", fh.Filename, err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read upload %q: %w", fh.Filename, err)
		}
		if !mbox.IsSeparator(data) {
			if len(bytes.TrimSpace(data)) > 0 {
				msgs = append(msgs, data)
			}
			continue
		}
		mr := mbox.NewReader(bytes.NewReader(data), len(data))
		for {
			msg, err := mr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read mailbox %q: %w", fh.Filename, err)
			}
			if len(bytes.TrimSpace(msg)) > 0 {
				msgs = append(msgs, msg)
			}
		}
	}
	return msgs, nil
}
