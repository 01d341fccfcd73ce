package web

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// FuzzForms feeds arbitrary POST bodies, multipart (boundary "B") or
// urlencoded, through the scan and learning forms' parsing: no input may
// crash it, and what it accepts has the shape the services expect.
func FuzzForms(f *testing.F) {
	part := func(name, file, body string) string {
		disp := `form-data; name="` + name + `"`
		if file != "" {
			disp += `; filename="` + file + `"`
		}
		return "--B\r\nContent-Disposition: " + disp + "\r\n\r\n" + body + "\r\n"
	}
	f.Add([]byte(part("file", "m.eml", gtube)+part("rcpt_to", "", "a@example.com, <b@example.com>;c@example.com")+part("client_ip", "", "192.0.2.7")+"--B--\r\n"), true)
	f.Add([]byte(part("label", "", "spam")+part("messages", "a.mbox", "From a Mon Nov 23 10:00:00 2026\nSubject: x\n\n>From y\n\nFrom b Mon\n\n")+part("messages", "b.eml", "x")+"--B--\r\n"), true)
	f.Add([]byte(part("message", "", "\r\n\r\nSubject: pasted\r\n\r\nbody")+"--B"), true)
	f.Add([]byte("message=Subject%3A+x%0D%0A%0D%0Ax&rcpt_to=%3C%3E&label=HAM"), false)
	f.Fuzz(func(t *testing.T, body []byte, multi bool) {
		r := httptest.NewRequest("POST", "/scan", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if multi {
			r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		}
		if err := readForm(httptest.NewRecorder(), r, 1<<16); err != nil {
			return
		}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		if _, req, err := parseScanForm(r); err == nil {
			if len(req.GetMessage()) == 0 || len(req.GetMessage()) > len(body) {
				t.Errorf("message of %d bytes from a body of %d", len(req.GetMessage()), len(body))
			}
			if len(req.GetEnvelope().GetRcptTo()) == 0 {
				t.Error("no recipient")
			}
			for _, a := range req.GetEnvelope().GetRcptTo() {
				if a == "" || strings.ContainsAny(a, ",;") || strings.ContainsFunc(a, unicode.IsSpace) || strings.HasPrefix(a, "<") || strings.HasSuffix(a, ">") {
					t.Errorf("recipient %q", a)
				}
			}
			_ = req.Validate() // must not crash either
		}
		if req, err := parseLearnForm(r); err == nil {
			if req.GetLabel() == scillav1.Label_LABEL_UNSPECIFIED || len(req.GetMessages()) == 0 {
				t.Errorf("accepted label %v with %d messages", req.GetLabel(), len(req.GetMessages()))
			}
			for _, m := range req.GetMessages() {
				if len(bytes.TrimSpace(m)) == 0 {
					t.Errorf("blank message %q", m)
				}
			}
		}
	})
}
