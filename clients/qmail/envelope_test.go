package qmail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadEnvelope(t *testing.T) {
	long := strings.Repeat("a", MaxAddress+1)
	tests := []struct {
		name string
		in   string
		from string
		to   []string
		code int // 0: no error
	}{
		{"two recipients", "Fsender@example.org\x00Ta@example.com\x00Tb@example.net\x00\x00", "sender@example.org", []string{"a@example.com", "b@example.net"}, 0},
		{"null sender", "F\x00Tpostmaster@example.com\x00\x00", "", []string{"postmaster@example.com"}, 0},
		{"no recipients", "Fs@x\x00\x00", "s@x", nil, 0},
		{"trailing data ignored", "Fs@x\x00Tr@y\x00\x00garbage", "s@x", []string{"r@y"}, 0},
		{"address at the limit", "F" + long[1:] + "\x00Tr@y\x00\x00", long[1:], []string{"r@y"}, 0},
		{"empty input", "", "", nil, ExitReadFailed},
		{"missing F", "Ts@x\x00\x00", "", nil, ExitEnvelopeFormat},
		{"bad recipient tag", "Fs@x\x00Xr@y\x00\x00", "", nil, ExitEnvelopeFormat},
		{"no final NUL", "Fs@x\x00Tr@y\x00", "", nil, ExitReadFailed},
		{"sender not terminated", "Fs@x", "", nil, ExitReadFailed},
		{"recipient not terminated", "Fs@x\x00Tr@y", "", nil, ExitReadFailed},
		{"sender too long", "F" + long + "\x00Tr@y\x00\x00", "", nil, ExitAddressTooLong},
		{"recipient too long", "Fs@x\x00T" + long + strings.Repeat("b", 70000) + "\x00\x00", "", nil, ExitAddressTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ReadEnvelope(strings.NewReader(tt.in))
			if tt.code != 0 {
				var qe *Error
				if !errors.As(err, &qe) || qe.Code != tt.code {
					t.Fatalf("err = %v, want exit %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.From != tt.from || !slices.Equal(env.To, tt.to) {
				t.Errorf("got %q %q", env.From, env.To)
			}
			if tt.name != "trailing data ignored" && !bytes.Equal(env.Bytes(), []byte(tt.in)) {
				t.Errorf("round trip: %q", env.Bytes())
			}
		})
	}
}

func TestReadEnvelopeReadError(t *testing.T) {
	_, err := ReadEnvelope(iotest.ErrReader(errors.New("boom")))
	var qe *Error
	if !errors.As(err, &qe) || qe.Code != ExitReadFailed {
		t.Fatalf("err = %v", err)
	}
}

func TestReadEnvelopeManyRecipients(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Fs@x\x00")
	for range MaxRecipients + 1 {
		b.WriteString("Tr@y\x00")
	}
	b.WriteByte(0)
	_, err := ReadEnvelope(&b)
	var qe *Error
	if !errors.As(err, &qe) || qe.Code != ExitEnvelopeFormat {
		t.Fatalf("err = %v, want exit 91", err)
	}
}

// FuzzReadEnvelope: no panic; a parsed envelope encodes back to a prefix
// of the input; errors always carry a qmail-queue code.
func FuzzReadEnvelope(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.env")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("F\x00\x00"))
	f.Add([]byte("Fa\x00Tb\x00Tc"))
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := ReadEnvelope(bytes.NewReader(in))
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || (qe.Code != ExitReadFailed && qe.Code != ExitEnvelopeFormat && qe.Code != ExitAddressTooLong) {
				t.Fatalf("error without a qmail code: %v", err)
			}
			return
		}
		if !bytes.HasPrefix(in, env.Bytes()) {
			t.Fatalf("encoding %q is not a prefix of the input", env.Bytes())
		}
	})
}
