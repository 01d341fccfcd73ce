package spf_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/scilla-mail/scilla/server/spf"
)

// zone is a map-based resolver: enough for examples and unit tests.
type zone struct {
	txt map[string][]string
	a   map[string][]netip.Addr
}

func (z zone) LookupTXT(_ context.Context, name string) ([]string, error) { return z.txt[name], nil }
func (z zone) LookupA(_ context.Context, name string) ([]netip.Addr, error) {
	return z.a[name], nil
}
func (z zone) LookupAAAA(context.Context, string) ([]netip.Addr, error) { return nil, nil }
func (z zone) LookupMX(context.Context, string) ([]string, error)       { return nil, nil }
func (z zone) LookupPTR(context.Context, netip.Addr) ([]string, error)  { return nil, nil }

func ExampleCheck() {
	r := zone{
		txt: map[string][]string{
			"example.com":      {"v=spf1 include:_spf.example.net -all"},
			"_spf.example.net": {"v=spf1 a:mail.example.net"},
		},
		a: map[string][]netip.Addr{"mail.example.net": {netip.MustParseAddr("192.0.2.25")}},
	}
	for _, ip := range []string{"192.0.2.25", "203.0.113.9"} {
		o := spf.Check(context.Background(), r, spf.Request{
			IP: netip.MustParseAddr(ip), MailFrom: "alice@example.com", Helo: "mail.example.net",
		})
		fmt.Println(ip, o.Result, o.Mechanism)
	}
	// Output:
	// 192.0.2.25 pass include:_spf.example.net
	// 203.0.113.9 fail -all
}
