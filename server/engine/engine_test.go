package engine_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

const msg = "From: a@example.org\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

// fixed is a check that returns fixed signs.
type fixed struct {
	name  string
	signs []engine.Sign
	calls *atomic.Int32
}

func (f fixed) Name() string { return f.name }
func (f fixed) Run(context.Context, *engine.Input) (engine.Result, error) {
	if f.calls != nil {
		f.calls.Add(1)
	}
	return engine.Result{Signs: f.signs}, nil
}

// waiter is a network-style check that sleeps, then signs.
type waiter struct {
	d     time.Duration
	panic bool
}

func (w waiter) Name() string { return "waiter" }
func (w waiter) Waits() bool  { return true }
func (w waiter) Run(ctx context.Context, _ *engine.Input) (engine.Result, error) {
	if w.panic {
		panic("waiter panic")
	}
	select {
	case <-time.After(w.d):
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	}
	return engine.Result{Signs: []engine.Sign{{Name: "NET_SIGN", Score: 2, Method: "DNSBL"}}}, nil
}

// licenser admits recipients by a fixed map; unknown ones are admitted.
type licenser map[string]verdict.Info

func (l licenser) Admit(rcpts []string, _ int) []verdict.Info {
	out := make([]verdict.Info, len(rcpts))
	for i, r := range rcpts {
		out[i] = l[r]
	}
	return out
}

func newEngine(checks []engine.Check, lic engine.Licenser) *engine.Engine {
	return engine.New(engine.Options{Checks: checks, Licenser: lic}, &engine.Snapshot{Policy: policy.Default(), DB: contentdb.Empty()})
}

func scan(t *testing.T, e *engine.Engine, rcpts ...string) *engine.Verdict {
	t.Helper()
	v, err := e.Scan(context.Background(), "test", &engine.Envelope{MailFrom: "a@example.org", Rcpts: rcpts}, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLicenceSplitsRecipients(t *testing.T) {
	e := newEngine([]engine.Check{fixed{name: "spam", signs: []engine.Sign{{Name: "X", Score: 10}}}},
		licenser{"new@example.com": verdict.LicenseLimitExceeded})
	v := scan(t, e, "old@example.com", "new@example.com")
	if len(v.Groups) != 2 {
		t.Fatalf("groups %d, want rated + limit exceeded", len(v.Groups))
	}
	for _, gv := range v.Groups {
		switch gv.Recipients[0] {
		case "old@example.com":
			if gv.Info != verdict.InfoNone || gv.Status != verdict.Spam {
				t.Errorf("licensed recipient: %v/%v, want rated SPAM", gv.Status, gv.Info)
			}
		case "new@example.com":
			if gv.Info != verdict.LicenseLimitExceeded || gv.Status != verdict.NotDetected || len(gv.Signs) != 0 {
				t.Errorf("over-limit recipient: %v/%v signs %v, want unrated, limit exceeded", gv.Status, gv.Info, gv.Signs)
			}
		}
	}
}

func TestNoLicenceRunsNoChecks(t *testing.T) {
	var calls atomic.Int32
	e := newEngine([]engine.Check{fixed{name: "c", calls: &calls}}, licenser{"b@example.com": verdict.NoLicense})
	v := scan(t, e, "b@example.com")
	if calls.Load() != 0 || v.Groups[0].Info != verdict.NoLicense {
		t.Fatalf("no licence: %d check calls, info %v", calls.Load(), v.Groups[0].Info)
	}
}

func TestPrecedence(t *testing.T) {
	trusted := engine.Sign{Name: "WHITE", Status: verdict.Trusted, Method: "white email list"}
	black := engine.Sign{Name: "BLACK", Status: verdict.Blacklisted, Method: "black email list"}
	gtube := engine.Sign{Name: "GTUBE", Score: 1000, Status: verdict.Spam, Method: "content"}
	formal := engine.Sign{Name: "DSN", Status: verdict.Formal, Method: "formal"}
	tests := []struct {
		name  string
		signs []engine.Sign
		want  verdict.Status
	}{
		{"white beats black", []engine.Sign{black, trusted}, verdict.Trusted},
		{"black beats gtube", []engine.Sign{gtube, black}, verdict.Blacklisted},
		{"gtube beats formal", []engine.Sign{formal, gtube}, verdict.Spam},
		{"formal beats score", []engine.Sign{formal, {Name: "S", Score: 50}}, verdict.Formal},
		{"score", []engine.Sign{{Name: "S", Score: 50}}, verdict.Spam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine([]engine.Check{fixed{name: "f", signs: tt.signs}}, nil)
			if got := scan(t, e, "b@example.com").Groups[0].Status; got != tt.want {
				t.Fatalf("status %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTrustedStopsEarly(t *testing.T) {
	var later atomic.Int32
	e := newEngine([]engine.Check{
		fixed{name: "lists", signs: []engine.Sign{{Name: "WHITE", Status: verdict.Trusted}}},
		fixed{name: "expensive", calls: &later},
	}, nil)
	if got := scan(t, e, "b@example.com").Groups[0].Status; got != verdict.Trusted || later.Load() != 0 {
		t.Fatalf("status %v, later checks ran %d times; want TRUSTED and none", got, later.Load())
	}
}

func TestWaitersRunConcurrently(t *testing.T) {
	e := newEngine([]engine.Check{waiter{d: 200 * time.Millisecond}, waiter{d: 200 * time.Millisecond}, waiter{d: 200 * time.Millisecond}}, nil)
	start := time.Now()
	v := scan(t, e, "b@example.com")
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("three 200ms network checks took %v: not concurrent", took)
	}
	if v.Groups[0].Score != 6 || v.Groups[0].Method != "DNSBL" {
		t.Fatalf("score %v method %q, want 6 from DNSBL", v.Groups[0].Score, v.Groups[0].Method)
	}
}

func TestPanicInWaiterIsNotProcessed(t *testing.T) {
	e := newEngine([]engine.Check{waiter{panic: true}}, nil)
	v, err := e.Scan(context.Background(), "p", &engine.Envelope{Rcpts: []string{"b@example.com", "c@example.com"}}, []byte(msg))
	if err == nil || !strings.Contains(err.Error(), "waiter panic") {
		t.Fatalf("err = %v, want the panic", err)
	}
	if len(v.Groups) != 1 || v.Groups[0].Info != verdict.NotProcessed || len(v.Groups[0].Recipients) != 2 {
		t.Fatalf("verdict %+v, want one NOT_PROCESSED group with both recipients", v.Groups)
	}
}

func TestDetectionOffIsTrusted(t *testing.T) {
	p := policy.Default()
	st := *p.All().Settings
	st.Detection = false
	g := *p.All()
	g.Settings = &st
	e := engine.New(engine.Options{Checks: []engine.Check{fixed{name: "s", signs: []engine.Sign{{Name: "S", Score: 50}}}}},
		&engine.Snapshot{Policy: &policy.Policy{Source: "t", Groups: []*policy.Group{&g}}, DB: contentdb.Empty()})
	if gv := scan(t, e, "b@example.com").Groups[0]; gv.Status != verdict.Trusted {
		t.Fatalf("detection off: %v, want TRUSTED", gv.Status)
	}
}

func TestCategoriesOnlyFromSpamSigns(t *testing.T) {
	e := newEngine([]engine.Check{fixed{name: "f", signs: []engine.Sign{
		{Name: "PHARMA", Score: 2, Category: "pharma"},
		{Name: "URGENCY", Score: 0, Category: "bulk"},
		{Name: "HAMMY", Score: -1, Category: "newsletter"},
	}}}, nil)
	if got := scan(t, e, "b@example.com").Groups[0].Categories; len(got) != 1 || got[0] != "pharma" {
		t.Fatalf("categories %v, want only pharma", got)
	}
}
