package licensing

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/check/gtube"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

// TestEngineCountsOnlyProtected runs the Manager as the engine's Licenser
// with a policy protecting *customer.example: unprotected recipients are
// never counted nor limited, protected ones are admitted up to the key's
// mailbox limit, and without a key they pass tagged No License.
func TestEngineCountsOnlyProtected(t *testing.T) {
	pol, err := policy.LoadBytes("policy.yaml", []byte("protected_domains: [\"*customer.example\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, false)
	m := e.open()
	eng := engine.New(engine.Options{Checks: []engine.Check{gtube.New()}, Licenser: m}, &engine.Snapshot{Policy: pol, DB: contentdb.Empty()})
	raw := []byte("From: a@sender.example\r\nTo: x@customer.example\r\nSubject: hi\r\n\r\nHello.\r\n")
	scan := func(rcpts ...string) map[string]verdict.Info {
		t.Helper()
		v, err := eng.Scan(context.Background(), "scan-1", &engine.Envelope{MailFrom: "a@sender.example", Rcpts: rcpts}, raw)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]verdict.Info{}
		for _, g := range v.Groups {
			for _, r := range g.Recipients {
				out[r] = g.Info
			}
		}
		return out
	}
	want := func(got map[string]verdict.Info, want map[string]verdict.Info) {
		t.Helper()
		var keys []string
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if got[k] != want[k] {
				t.Errorf("%s: info %v, want %v", k, got[k], want[k])
			}
		}
	}

	want(scan("a@customer.example", "b@other.example"), map[string]verdict.Info{
		"a@customer.example": verdict.NoLicense, "b@other.example": verdict.NotProtected,
	})

	install(t, m, e.key("SC-2", 2, t0.AddDate(1, 0, 0), 0), SlotActive)
	want(scan("b@other.example", "c@other.example", "d@other.example"), map[string]verdict.Info{
		"b@other.example": verdict.NotProtected, "c@other.example": verdict.NotProtected, "d@other.example": verdict.NotProtected,
	})
	if info := m.Info(); info.MailboxesUsed != 0 || info.BytesToday != 0 {
		t.Fatalf("unprotected mail was counted: %d mailboxes, %d bytes", info.MailboxesUsed, info.BytesToday)
	}
	want(scan("a@customer.example", "b@other.example", "c@mx.customer.example", "d@customer.example"), map[string]verdict.Info{
		"a@customer.example":    verdict.InfoNone,
		"b@other.example":       verdict.NotProtected,
		"c@mx.customer.example": verdict.InfoNone,
		"d@customer.example":    verdict.LicenseLimitExceeded,
	})
	if info := m.Info(); info.MailboxesUsed != 2 || info.BytesToday != uint64(len(raw)) {
		t.Errorf("after one mixed message: %d mailboxes, %d bytes; want 2 and %d", info.MailboxesUsed, info.BytesToday, len(raw))
	}
	e.clock.Add(time.Hour)
	want(scan("d@customer.example", "a@customer.example"), map[string]verdict.Info{
		"d@customer.example": verdict.LicenseLimitExceeded, "a@customer.example": verdict.InfoNone,
	})
}
