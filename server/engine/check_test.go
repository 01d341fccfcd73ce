package engine_test

import (
	"testing"

	"github.com/scilla-mail/scilla/server/engine"
)

func TestRcptDomain(t *testing.T) {
	cases := []struct {
		rcpts []string
		want  string
	}{
		{[]string{"a@Example.com", "<b@example.com>"}, "example.com"},
		{[]string{"a@example.com", "b@other.org"}, ""},
		{[]string{"postmaster"}, ""},
		{nil, ""},
	}
	for _, c := range cases {
		if got := (&engine.Envelope{Rcpts: c.rcpts}).RcptDomain(); got != c.want {
			t.Errorf("%v: got %q, want %q", c.rcpts, got, c.want)
		}
	}
}
