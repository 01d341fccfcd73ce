package policy_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scilla-mail/scilla/server/check/formal"
	"github.com/scilla-mail/scilla/server/check/gtube"
	headerrules "github.com/scilla-mail/scilla/server/check/headers"
	"github.com/scilla-mail/scilla/server/check/lists"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/headers"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/verdict"
)

func newEngine(t testing.TB, p *policy.Policy) *engine.Engine {
	t.Helper()
	return engine.New(engine.Options{Checks: []engine.Check{lists.New(relays.New(1, nil, false)), gtube.New()}}, &engine.Snapshot{Policy: p, DB: contentdb.Empty()})
}

func readMsg(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrecedence: white beats black beats content, for addresses and IPs (v4 and v6).
func TestPrecedence(t *testing.T) {
	p, err := policy.Load("testdata/scan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, p)
	gt, ham := readMsg(t, "gtube.eml"), readMsg(t, "ham.eml")
	tests := []struct {
		name     string
		from, ip string
		rcpt     string
		msg      []byte
		status   verdict.Status
		method   string
	}{
		{"content alone", "x@example.net", "192.0.2.99", "clerk@example.com", gt, verdict.Spam, "content"},
		{"ham", "x@example.net", "192.0.2.99", "clerk@example.com", []byte("Subject: hi\n\nhello\n"), verdict.NotDetected, ""},
		{"black sender beats content", "a@spam.test", "192.0.2.99", "clerk@example.com", gt, verdict.Blacklisted, "black email list"},
		{"white sender beats content", "friend@partner.test", "192.0.2.99", "clerk@example.com", gt, verdict.Trusted, "white email list"},
		{"white IP beats black sender", "a@spam.test", "192.0.2.10", "clerk@example.com", gt, verdict.Trusted, "white ip list"},
		{"white IPv6 range beats black sender", "a@SPAM.test", "2001:db8:f00d::25", "clerk@example.com", gt, verdict.Trusted, "white ip list"},
		{"white sender beats black IPv6 range", "friend@partner.test", "2001:db8:bad::1", "clerk@example.com", gt, verdict.Trusted, "white email list"},
		{"black IPv6 range", "x@example.net", "2001:db8:bad:1::1", "clerk@example.com", ham, verdict.Blacklisted, "black ip list"},
		{"black IPv4-mapped client", "x@example.net", "::ffff:198.51.100.3", "clerk@example.com", ham, verdict.Blacklisted, "black ip list"},
		{"black relay IP from Received", "x@example.net", "192.0.2.99", "clerk@example.com", ham, verdict.Blacklisted, "black ip list"},
		{"white list ignores relay IPs", "", "192.0.2.99", "clerk@example.com", withoutFirstReceived(ham), verdict.NotDetected, ""},
		{"black header From", "", "192.0.2.99", "clerk@example.com", []byte("From: Bad <bad@partner.test>\nSubject: x\n\nx\n"), verdict.Blacklisted, "black email list"},
		{"lists off in the group", "a@spam.test", "198.51.100.1", "nolists@example.com", gt, verdict.Spam, "content"},
		{"detection off", "a@spam.test", "198.51.100.1", "abuse@example.com", gt, verdict.Trusted, "detection off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &engine.Envelope{MailFrom: tt.from, ClientIP: netip.MustParseAddr(tt.ip), Rcpts: []string{tt.rcpt}}
			v, err := e.Scan(context.Background(), "t", env, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Groups) != 1 {
				t.Fatalf("%d groups", len(v.Groups))
			}
			gv := v.Groups[0]
			if gv.Status != tt.status || gv.Method != tt.method {
				t.Errorf("status %s method %q, want %s %q (signs %+v)", gv.Status, gv.Method, tt.status, tt.method, gv.Signs)
			}
		})
	}
}

// withoutFirstReceived drops the newest Received header, so the only relay
// left is the white-listed 203.0.113.50, which must not make the mail TRUSTED.
func withoutFirstReceived(msg []byte) []byte {
	s := string(msg)
	i := strings.Index(s, "Received: from laptop")
	return []byte(s[i:])
}

// TestMixedGroups: one message, recipients in several groups and an
// unprotected domain → one result per group with that group's status,
// action and headers.
func TestMixedGroups(t *testing.T) {
	p, err := policy.Load("testdata/scan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, p)
	env := &engine.Envelope{MailFrom: "x@example.net", ClientIP: netip.MustParseAddr("192.0.2.99"),
		Rcpts: []string{"boss@example.com", "clerk@example.com", "abuse@corp.test", "someone@other.test", "typist@example.com", "abuse@other.test"}}
	v, err := e.Scan(context.Background(), "mixed", env, readMsg(t, "gtube.eml"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		group  uint32
		rcpts  string
		status verdict.Status
		info   verdict.Info
		action verdict.ActionKind
	}
	var got []row
	for _, gv := range v.Groups {
		got = append(got, row{gv.Group.ID, strings.Join(gv.Recipients, ","), gv.Status, gv.Info, gv.Action.Kind})
	}
	slices.SortFunc(got, func(a, b row) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	want := []row{
		{1, "clerk@example.com,typist@example.com", verdict.Spam, verdict.InfoNone, verdict.Accept},
		{1, "someone@other.test", verdict.NotDetected, verdict.NotProtected, verdict.Accept},
		{2, "boss@example.com", verdict.Spam, verdict.InfoNone, verdict.Redirect},
		{3, "abuse@corp.test", verdict.Trusted, verdict.InfoNone, verdict.Accept},
		{3, "abuse@other.test", verdict.NotDetected, verdict.NotProtected, verdict.Accept},
	}
	slices.SortFunc(want, func(a, b row) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	if !slices.Equal(got, want) {
		t.Errorf("results:\n got %v\nwant %v", got, want)
	}
	for _, gv := range v.Groups {
		r := headers.Build(v, gv, env.MailFrom)
		id := fmt.Sprintf("%08d", gv.Group.ID)
		if h := find(r.Headers, headers.GroupID); h != id {
			t.Errorf("group %d: %s = %q", gv.Group.ID, headers.GroupID, h)
		}
		if gv.Group.ID == 2 && (r.Action != verdict.Redirect || !slices.Equal(r.RedirectTo, []string{"quarantine@example.com"}) || r.SubjectPrefix != "[!! SPAM] ") {
			t.Errorf("VIP result %+v", r)
		}
		if gv.Info == verdict.NotProtected && find(r.Headers, headers.Info) != "Not protected" {
			t.Errorf("unprotected group %d headers %v", gv.Group.ID, r.Headers)
		}
	}
}

func find(hs []engine.Header, name string) string {
	for _, h := range hs {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// TestReloadUnderScans swaps policies while scans run: no scan fails, every
// verdict matches one of the two policies, and invalid policies are refused
// with the old one left serving.
func TestReloadUnderScans(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Policy A black-lists the sender, B white-lists it.
	pathA := write("a.yaml", "default:\n  black_list: [sender@example.net]\n")
	pathB := write("b.yaml", "default:\n  white_list: [sender@example.net]\n")
	pathBad := write("bad.yaml", "default:\n  white_list: [sender@example.net]\n  level: extreme\n")
	a, err := policy.Load(pathA)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, a)
	msg := readMsg(t, "gtube.eml")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var scans, failed, blacklisted, trusted atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := &engine.Envelope{MailFrom: "sender@example.net", Rcpts: []string{"a@example.com", "b@example.org"}}
			for ctx.Err() == nil {
				v, err := e.Scan(context.Background(), "reload", env, msg)
				scans.Add(1)
				if err != nil || len(v.Groups) != 1 {
					failed.Add(1)
					continue
				}
				switch gv := v.Groups[0]; {
				case gv.Status == verdict.Blacklisted && gv.Info == verdict.InfoNone:
					blacklisted.Add(1)
				case gv.Status == verdict.Trusted && gv.Info == verdict.InfoNone:
					trusted.Add(1)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		path := pathA
		if i%2 == 1 {
			path = pathB
		}
		before := e.Snapshot()
		if i%5 == 0 {
			_, err := policy.Load(pathBad)
			if err == nil || !strings.Contains(err.Error(), "bad.yaml:3: default.level: unknown detection level") {
				t.Fatalf("invalid policy: error %v", err)
			}
			if e.Snapshot() != before {
				t.Fatal("snapshot changed after a refused policy")
			}
			continue
		}
		p, err := policy.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		e.Swap(&engine.Snapshot{Policy: p, DB: before.DB})
		for scans.Load() < int64(i+1)*2 && failed.Load() == 0 {
			runtime.Gosched() // let scans run on this policy
		}
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d scans failed or gave a verdict of neither policy", failed.Load(), scans.Load())
	}
	if blacklisted.Load() == 0 || trusted.Load() == 0 {
		t.Errorf("verdicts: %d blacklisted, %d trusted; both policies should have served", blacklisted.Load(), trusted.Load())
	}
	t.Logf("%d scans across 160 swaps: %d under A, %d under B", scans.Load(), blacklisted.Load(), trusted.Load())
}

// TestExampleRulesKnown loads the example policy with the rule names the
// checks really have, so the example cannot name a rule no check reads.
func TestExampleRulesKnown(t *testing.T) {
	var known []string
	for _, r := range headerrules.Rules() {
		known = append(known, r.Name)
	}
	known = append(known, formal.RuleDSN, formal.RuleMDN, formal.RuleAutoReply)
	if _, err := policy.LoadWith("../../deploy/policy.example.yaml", policy.Options{Rules: known}); err != nil {
		t.Fatal(err)
	}
}
