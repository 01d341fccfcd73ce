package freemail

import "testing"

func TestAddress(t *testing.T) {
	cases := []struct {
		addr string
		want bool
	}{
		{"jan.kowalski.office@gmail.com", true},
		{"Someone@Mail.Yahoo.CO.UK", true},
		{"boss@outlook.de", true},
		{"x@web.de", true},
		{"info@gmail-support.com", false}, // a look-alike is not the provider
		{"accounts@example.com", false},
		{"ceo@mail.example.com", false}, // "mail" counts only as the registrable name
		{"no-domain", false},
		{"x@com", false},
	}
	for _, c := range cases {
		if got := Address(c.addr); got != c.want {
			t.Errorf("Address(%q) = %v, want %v", c.addr, got, c.want)
		}
	}
}
