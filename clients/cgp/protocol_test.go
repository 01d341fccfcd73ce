package cgp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		want Command
		err  bool
	}{
		{"1 INTF 3", Command{"1", "INTF", "3"}, false},
		{"17 FILE Queue/12345.msg\r", Command{"17", "FILE", "Queue/12345.msg"}, false},
		{"18 file  Queue/with space.msg ", Command{"18", "FILE", "Queue/with space.msg"}, false},
		{"99 QUIT", Command{"99", "QUIT", ""}, false},
		{"5 KEY abc", Command{"5", "KEY", "abc"}, false},
		{"", Command{}, true},
		{"FILE x", Command{}, true},
		{"12", Command{Seq: "12"}, true},
		{"12 F1LE x", Command{Seq: "12"}, true},
		{"-1 FILE x", Command{}, true},
		{strings.Repeat("1", 21) + " QUIT", Command{}, true},
		{"3 FILE " + strings.Repeat("x", maxLine), Command{}, true},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.line)
		if (err != nil) != tt.err || (tt.err && !errors.Is(err, ErrSyntax)) {
			t.Errorf("%q: err = %v", clip(tt.line), err)
		}
		if got != tt.want {
			t.Errorf("%q: got %+v, want %+v", clip(tt.line), got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	lines := []string{`X-Spam-Status: Yes, "quoted" \ back`, "X-Report: a\r\n\tfolded line", "X-Bad: ctl\x01char"}
	q := Quote(lines)
	if strings.ContainsAny(q, "\r\n\t\x01") {
		t.Fatalf("quoted string has raw control characters: %q", q)
	}
	got, err := Unquote(q)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`X-Spam-Status: Yes, "quoted" \ back`, "X-Report: a", " folded line", "X-Bad: ctlchar"}
	if !slices.Equal(got, want) {
		t.Errorf("round trip %q, want %q", got, want)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"1 INTF 3", "2 FILE Queue/1.msg", "3 QUIT", "x", "4  FILE  a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		if c.Seq == "" || c.Name == "" || strings.ToUpper(c.Name) != c.Name {
			t.Fatalf("accepted %q as %+v", line, c)
		}
	})
}

func FuzzQuote(f *testing.F) {
	f.Add("X-A: b", "X-C: d\r\n e")
	f.Fuzz(func(t *testing.T, a, b string) {
		q := Quote([]string{a, b})
		if strings.ContainsAny(q, "\r\n") {
			t.Fatalf("line break in %q", q)
		}
		if _, err := Unquote(q); err != nil {
			t.Fatalf("Unquote(Quote) failed: %v", err)
		}
	})
}

func TestReadQueueFile(t *testing.T) {
	tests := []struct {
		file string
		want Envelope
		msg  string
	}{
		{"ham.msg", Envelope{From: "alice@example.org", To: []string{"bob@example.com", "carol@example.com"}, Source: "SMTP", ClientIP: "192.0.2.55"}, "ham.eml"},
		{"gtube.msg", Envelope{From: "spam@example.net", To: []string{"bob@example.com"}, Source: "SMTP", ClientIP: "2001:db8::25", AuthUser: "relay-user@example.com"}, "gtube.eml"},
		{"submitted-format.msg", Envelope{From: "", To: []string{"postmaster@example.com"}}, "ham.eml"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fh, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			qf, err := ReadQueueFile(fh, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			e := qf.Envelope
			if e.From != tt.want.From || !slices.Equal(e.To, tt.want.To) || e.Source != tt.want.Source || e.ClientIP != tt.want.ClientIP || e.AuthUser != tt.want.AuthUser {
				t.Errorf("envelope %+v, want %+v", e, tt.want)
			}
			want, _ := os.ReadFile(filepath.Join("testdata", tt.msg))
			if !bytes.Equal(qf.Message, want) {
				t.Errorf("message differs")
			}
		})
	}
}

func TestReadQueueFileErrors(t *testing.T) {
	for _, in := range []string{
		"",                                  // nothing
		"R <a@b>\n",                         // no empty line
		"R <a@b>",                           // unterminated
		strings.Repeat("x", 70000) + "\n\n", // line too long
	} {
		if _, err := ReadQueueFile(strings.NewReader(in), 100); err == nil || !errors.Is(err, ErrQueueFile) {
			t.Errorf("%q: err = %v, want ErrQueueFile", clip(in), err)
		}
	}
	qf, err := ReadQueueFile(strings.NewReader("R <a@b>\n\n"+strings.Repeat("x", 200)), 100)
	if err != nil || !qf.Oversize || qf.Message != nil {
		t.Errorf("oversize: %+v %v", qf, err)
	}
}

// FuzzReadQueueFile: no panic, recipients never empty strings, the message
// is exactly what follows the first empty line.
func FuzzReadQueueFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.msg")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		qf, err := ReadQueueFile(bytes.NewReader(in), 1<<16)
		if err != nil {
			return
		}
		for _, r := range qf.Envelope.To {
			if r == "" {
				t.Fatal("empty recipient")
			}
		}
		if !qf.Oversize && !bytes.HasSuffix(in, qf.Message) {
			t.Fatal("message is not the tail of the file")
		}
	})
}
