package clients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEditsApply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits Edits
		want  string
	}{
		{name: "no edits", in: "Subject: hi\r\n\r\nbody\r\n", want: "Subject: hi\r\n\r\nbody\r\n"},
		{name: "strip, prefix, add (CRLF)",
			in:    "From: a@x\r\nX-Spam-Flag: YES\r\nSubject: hello\r\n world\r\nx-spam-flag: forged\r\n  folded\r\n\r\nbody\r\nX-Spam-Flag: in body\r\n",
			edits: Edits{StripHeaders: []string{"X-Spam-Flag"}, SubjectPrefix: "[!! SPAM] ", AddHeaders: []Header{{"X-Spam-Flag", "YES"}, {"X-Spamtest-Rate", "100"}}},
			want:  "From: a@x\r\nSubject: [!! SPAM] hello\r\n world\r\nX-Spam-Flag: YES\r\nX-Spamtest-Rate: 100\r\n\r\nbody\r\nX-Spam-Flag: in body\r\n"},
		{name: "LF message", in: "Subject: x\n\nb\n", edits: Edits{AddHeaders: []Header{{"X-A", "1"}}}, want: "Subject: x\nX-A: 1\n\nb\n"},
		{name: "subject already tagged", in: "Subject: [!! SPAM] x\n\nb\n", edits: Edits{SubjectPrefix: "[!! SPAM] "}, want: "Subject: [!! SPAM] x\n\nb\n"},
		{name: "no subject gets one", in: "From: a\n\nb\n", edits: Edits{SubjectPrefix: "[!! SPAM] "}, want: "From: a\nSubject: [!! SPAM]\n\nb\n"},
		{name: "utf-8 prefix encoded", in: "Subject: x\n\n", edits: Edits{SubjectPrefix: "[Спам] "}, want: "Subject: =?utf-8?q?[=D0=A1=D0=BF=D0=B0=D0=BC]?= x\n\n"},
		{name: "headers only, no body", in: "Subject: x\r\n", edits: Edits{AddHeaders: []Header{{"X-A", "1"}}}, want: "Subject: x\r\nX-A: 1\r\n"},
		{name: "empty message", in: "", edits: Edits{AddHeaders: []Header{{"X-A", "1"}}}, want: "X-A: 1\n"},
		{name: "body only", in: "\r\nbody\r\n", edits: Edits{AddHeaders: []Header{{"X-A", "1"}}}, want: "X-A: 1\r\n\r\nbody\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.edits.Apply([]byte(tt.in))); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	msg := []byte("From: a\r\nSubject: one\r\n two\r\n\r\nSubject: body\r\n")
	if v, ok := HeaderValue(msg, "subject"); !ok || v != "one two" {
		t.Errorf("HeaderValue = %q, %v", v, ok)
	}
	if _, ok := HeaderValue(msg, "To"); ok {
		t.Error("found a To header that is not there")
	}
}

func TestNormalizeAddress(t *testing.T) {
	for _, c := range [][3]string{{"<user>", "example.com", "user@example.com"}, {"u@x", "example.com", "u@x"}, {"<>", "example.com", ""}, {" user ", "", "user"}} {
		if got := NormalizeAddress(c[0], c[1]); got != c[2] {
			t.Errorf("NormalizeAddress(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// FuzzEditsApply checks that applying edits to any input never panics,
// keeps the body byte for byte and never leaves a stripped header behind.
func FuzzEditsApply(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("X-Spam-Flag: a\r\n b\r\n\r\n"))
	f.Add([]byte("\n\n\n"))
	e := Edits{StripHeaders: []string{"X-Spam-Flag"}, SubjectPrefix: "[!! SPAM] ", AddHeaders: []Header{{"X-Spam-Flag", "YES"}}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := e.Apply(msg)
		_, body := SplitHeader(msg)
		_, outBody := SplitHeader(out)
		if !strings.HasSuffix(string(out), string(body)) {
			t.Fatalf("body changed: %q -> %q", msg, out)
		}
		head, _ := SplitHeader(out)
		if n := strings.Count(strings.ToLower(string(head)), "\nx-spam-flag:") + boolInt(strings.HasPrefix(strings.ToLower(string(head)), "x-spam-flag:")); n > 1 && len(outBody) > 0 {
			t.Fatalf("stripped header survived: %q", out)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
