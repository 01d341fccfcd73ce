package mbox

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func readAll(t testing.TB, src string, max int) ([]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(src), max)
	var out []string
	for {
		m, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(m))
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"two messages", "From a@x Mon Sep  2 10:00:00 2002\nSubject: 1\n\nbody 1\n\nFrom b@x Mon Sep  2 11:00:00 2002\nSubject: 2\n\nbody 2\n",
			[]string{"Subject: 1\n\nbody 1\n", "Subject: 2\n\nbody 2\n"}},
		{"CRLF", "From a@x Mon Sep  2 10:00:00 2002\r\nSubject: 1\r\n\r\nbody\r\n\r\nFrom b@x Mon Sep  2 11:00:00 2002\r\nSubject: 2\r\n\r\nx\r\n",
			[]string{"Subject: 1\r\n\r\nbody\r\n", "Subject: 2\r\n\r\nx\r\n"}},
		{"mboxrd quoting undone", "From a@x d\nSubject: q\n\n>From here on\n>>From there\n> From no\nFrom not after a blank line\n",
			[]string{"Subject: q\n\nFrom here on\n>From there\n> From no\nFrom not after a blank line\n"}},
		{"a plain message file", "Subject: plain\n\nno separator\n", []string{"Subject: plain\n\nno separator\n"}},
		{"separator-led single message", "From a@x d\nSubject: one\n\nx", []string{"Subject: one\n\nx"}},
		{"leading blank lines", "\n\nFrom a@x d\nSubject: one\n\nx\n", []string{"Subject: one\n\nx\n"}},
		{"empty message between separators", "From a@x d\n\nFrom b@x d\nSubject: b\n", []string{"", "Subject: b\n"}},
		{"empty file", "", nil},
		{"blank file", "\n\n", nil},
	}
	for _, tt := range tests {
		got, err := readAll(t, tt.in, 1<<20)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestTooLarge(t *testing.T) {
	big := "From a@x d\nSubject: big\n\n" + strings.Repeat("x", 200) + "\n"
	if _, err := readAll(t, big, 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
	long := "From a@x d\n" + strings.Repeat("y", 200<<10) // one line past the buffer
	if _, err := readAll(t, long, 100<<10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: got %v, want ErrTooLarge", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("From a@x d\nSubject: 1\n\nbody\n\nFrom b@x d\n>From q\n")
	f.Add("Subject: x\r\n\r\ny")
	f.Add("\n\nFrom \n\nFrom \n")
	f.Fuzz(func(t *testing.T, in string) {
		msgs, err := readAll(t, in, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Nothing appears from nowhere: the messages hold at most the
		// input's bytes.
		n := 0
		for _, m := range msgs {
			n += len(m)
			if len(m) > 1<<16 {
				t.Fatalf("message of %d bytes passed the limit", len(m))
			}
		}
		if n > len(in) {
			t.Fatalf("%d bytes of messages from %d of input", n, len(in))
		}
		if len(bytes.TrimSpace([]byte(in))) == 0 && len(msgs) > 0 {
			t.Fatalf("messages %q from a blank input", msgs)
		}
	})
}
