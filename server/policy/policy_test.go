package policy

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/verdict"
)

func mustLoad(t testing.TB, path string) *Policy {
	t.Helper()
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolve(t *testing.T) {
	p := mustLoad(t, "testdata/groups.yaml")
	tests := []struct {
		rcpt      string
		group     uint32
		protected bool
	}{
		{"boss@example.com", 10, true},           // first matching group wins over 20 and 30
		{"<Boss@EXAMPLE.COM>", 10, true},         // brackets and case
		{"anyone@vip.corp.test", 10, true},       // protected by *corp.test
		{"clerk@example.com", 20, true},          // second group
		{"bass@corp.test", 30, true},             // ? wildcard
		{"bxss@eu.corp.test", 1, true},           // subdomain protected, no group
		{"x@badcorp.test", 1, false},             // *corp.test does not cover badcorp.test
		{"x@a.sub.test", 1, true},                // *.sub.test: subdomains
		{"x@sub.test", 1, false},                 // ...but not the domain itself
		{"x@example.org", 1, true},               // ex?mple.org
		{"x@exaample.org", 1, false},             // ? is one character
		{"x@other.test", 1, false},               // not protected: All
		{"postmaster", 1, false},                 // no domain
		{"boss@example.com.evil.test", 1, false}, // suffix tricks do not match
	}
	for _, tt := range tests {
		g, prot := p.Resolve(tt.rcpt)
		if g.ID != tt.group || prot != tt.protected {
			t.Errorf("Resolve(%q) = group %d protected %v; want %d %v", tt.rcpt, g.ID, prot, tt.group, tt.protected)
		}
	}
	if got := p.All(); got.ID != 1 || got.Name != "All" || p.Groups[len(p.Groups)-1] != got {
		t.Errorf("All = %+v, want id 1 last", got)
	}
	if ids := groupIDs(p); !slices.Equal(ids, []uint32{10, 20, 30, 1}) {
		t.Errorf("group order %v, want [10 20 30 1]", ids)
	}
}

func groupIDs(p *Policy) []uint32 {
	var ids []uint32
	for _, g := range p.Groups {
		ids = append(ids, g.ID)
	}
	return ids
}

func TestProtectedEverything(t *testing.T) {
	for _, doc := range []string{"", "protected_domains: []\n", "protected_domains: ['*']\n", "protected_domains: 'example.com, *'\n"} {
		p, err := LoadBytes("p.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if _, prot := p.Resolve("a@anything.test"); !prot {
			t.Errorf("%q: anything.test not protected", doc)
		}
		if _, prot := p.Resolve("postmaster"); !prot {
			t.Errorf("%q: an address without domain is not protected", doc)
		}
	}
}

// TestInheritance checks every setting: inherited from default, overridden by the group.
func TestInheritance(t *testing.T) {
	p := mustLoad(t, "testdata/groups.yaml")
	vip, ex, never, all := p.Group(10).Settings, p.Group(20).Settings, p.Group(30).Settings, p.All().Settings
	check := func(name string, got, want any) {
		t.Helper()
		if !equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Overridden in VIP, inherited elsewhere.
	check("vip.Level", vip.Level, Maximum)
	check("all.Level", all.Level, Standard)
	check("vip.ProbableSpam", vip.ProbableSpam, false)
	check("ex.ProbableSpam", ex.ProbableSpam, true)
	check("never.Detection", never.Detection, false)
	check("ex.Detection", ex.Detection, true)
	check("vip.DNS", vip.Methods.DNS, false)
	check("ex.DNS", ex.Methods.DNS, true)
	check("vip.SURBL", vip.Methods.SURBL, true)
	check("ex.SURBL", ex.Methods.SURBL, false)
	check("vip.Lists", vip.Methods.Lists, false)
	check("ex.Lists", ex.Methods.Lists, true)
	check("vip.Obscene", vip.Methods.Obscene, false)
	check("ex.Obscene", ex.Methods.Obscene, true)
	check("vip.ObsceneTag", vip.Methods.ObsceneTag, true)
	check("ex.ObsceneTag", ex.Methods.ObsceneTag, false)
	check("vip.long_subject", vip.Methods.RuleOn("subject_too_long"), true)
	check("vip.subject_id", vip.Methods.RuleOn("subject_id"), false)
	check("ex.long_subject", ex.Methods.RuleOn("subject_too_long"), false)
	check("ex.subject_id", ex.Methods.RuleOn("subject_id"), true)
	check("vip.chinese", vip.Methods.EasternSuspicious("chinese"), false)
	check("vip.thai", vip.Methods.EasternSuspicious("thai"), false)
	check("ex.chinese", ex.Methods.EasternSuspicious("chinese"), true)
	check("ex.korean", ex.Methods.EasternSuspicious("korean"), true)
	// DNSBL merged by name: VIP enables "small" with its own rating and adds "extra".
	check("vip.dnsbl", dnsblString(vip.DNSBL), "zen:100:true small:40:true extra:10:true")
	check("ex.dnsbl", dnsblString(ex.DNSBL), "zen:100:true small:30:false")
	check("vip.extra.returns", vip.DNSBL[2].Returns, []string{"127.0.0.2", "127.0.0.4-127.0.0.9"})
	check("vip.uribl.score", vip.URIBL[0].Score, 6.0)
	check("ex.uribl.score", ex.URIBL[0].Score, 4.0)
	check("vip.uribl.mask", vip.URIBL[0].Mask, uint32(0x7e))
	// Lists: VIP adds to the default lists, example.com replaces them.
	for _, c := range []struct {
		s     *Settings
		white []string
		black []string
		ip    string
	}{
		{vip, []string{"friend@partner.test", "assistant@partner.test"}, []string{"x@spam.test"}, ""},
		{ex, nil, nil, "2001:db8:bad:1::5"},
		{all, []string{"friend@partner.test"}, []string{"x@spam.test"}, ""},
	} {
		for _, a := range c.white {
			if _, ok := c.s.White.MatchAddress(a); !ok {
				t.Errorf("white list misses %s", a)
			}
		}
		for _, a := range c.black {
			if _, ok := c.s.Black.MatchAddress(a); !ok {
				t.Errorf("black list misses %s", a)
			}
		}
		if c.ip != "" {
			if _, ok := c.s.Black.MatchIP(netip.MustParseAddr(c.ip)); !ok {
				t.Errorf("black list misses %s", c.ip)
			}
		}
	}
	if _, ok := ex.White.MatchAddress("friend@partner.test"); ok {
		t.Error("inherit_lists: false still inherits the white list")
	}
	if _, ok := ex.Black.MatchAddress("x@spam.test"); ok {
		t.Error("inherit_lists: false still inherits the black list")
	}
	// Actions: per status and per field.
	vipSpam := p.Group(10).Actions[verdict.Spam]
	check("vip.spam.kind", vipSpam.Kind, verdict.Redirect)
	check("vip.spam.prefix", vipSpam.SubjectPrefix, "[!! SPAM] ")
	exSpam := p.Group(20).Actions[verdict.Spam]
	check("ex.spam.kind", exSpam.Kind, verdict.Accept)
	check("ex.spam.prefix", exSpam.SubjectPrefix, "[SPAM] ")
	check("all.probable.header", p.All().Actions[verdict.ProbableSpam].Header, "All group")
	check("ex.probable.header", p.Group(20).Actions[verdict.ProbableSpam].Header, "")
	for _, st := range verdict.Statuses() {
		if _, ok := p.Group(20).Actions[st]; !ok {
			t.Errorf("no action for %s", st)
		}
	}
}

func dnsblString(l []DNSBLService) string {
	var parts []string
	for _, s := range l {
		parts = append(parts, fmt.Sprintf("%s:%d:%v", s.Name, s.Rating, s.Enabled))
	}
	return strings.Join(parts, " ")
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, _ := b.([]string)
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestDefaults(t *testing.T) {
	p, err := LoadBytes("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	got, want := p.All(), d.All()
	if got.ID != 1 || got.Name != "All" || len(p.Groups) != 1 {
		t.Fatalf("empty policy groups = %v", groupIDs(p))
	}
	if got.Settings.Level != want.Settings.Level || got.Settings.Detection != want.Settings.Detection ||
		got.Settings.ProbableSpam != want.Settings.ProbableSpam || got.Settings.Methods.Lists != want.Settings.Methods.Lists {
		t.Errorf("empty file settings %+v differ from Default() %+v", got.Settings, want.Settings)
	}
	for _, st := range verdict.Statuses() {
		a := got.Actions[st]
		if a.Kind != verdict.Accept {
			t.Errorf("default action for %s is %s: defaults must not be destructive", st, a.Kind)
		}
		if w := want.Actions[st]; a.Kind != w.Kind || a.SubjectPrefix != w.SubjectPrefix || a.Header != w.Header {
			t.Errorf("default action for %s: file %+v, Default() %+v", st, a, want.Actions[st])
		}
	}
	if got.Actions[verdict.Spam].SubjectPrefix != "[!! SPAM] " {
		t.Errorf("SPAM prefix = %q", got.Actions[verdict.Spam].SubjectPrefix)
	}
}

func TestExampleFile(t *testing.T) {
	for _, path := range []string{"../../deploy/policy.example.yaml"} {
		p := mustLoad(t, path)
		if len(p.Groups) < 3 || p.Protected == nil {
			t.Errorf("%s: %d groups, protected %v", path, len(p.Groups), p.Protected)
		}
	}
	// The README carries the same example in a yaml block.
	doc, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../deploy/policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(example)+"```") {
		t.Error("README.md does not contain deploy/policy.example.yaml verbatim in a ```yaml block")
	}
}

func TestListFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "white.txt"), []byte("# partners\nfriend@partner.test, @trusted.test\n192.0.2.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("ok@example.com\n\nnot-an-entry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("default:\n  white_list_files: [white.txt]\n"), 0o644)
	p := mustLoad(t, pol)
	if _, ok := p.All().Settings.White.MatchIP(netip.MustParseAddr("192.0.2.9")); !ok {
		t.Error("entry from the list file missing")
	}
	os.WriteFile(pol, []byte("default:\n  black_list_files: [bad.txt, missing.txt]\n"), 0o644)
	_, err := Load(pol)
	for _, want := range []string{"bad.txt:3:", "not-an-entry", "missing.txt", "default.black_list_files[0]", "default.black_list_files[1]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "default:\n  levle: high\n", []string{`p.yaml:2: unknown key "levle"`}},
		{"bad level", "default:\n  level: extreme\n", []string{"p.yaml:2: default.level: unknown detection level \"extreme\" (allowed: minimum, standard, high, maximum)"}},
		{"wrong type", "default:\n  detection: maybe\n", []string{"p.yaml:2:", "cannot unmarshal"}},
		{"action for trusted", "default:\n  actions:\n    trusted:\n      action: delete\n", []string{"p.yaml:4: default.actions.trusted.action: TRUSTED mail is always delivered: only accept is allowed"}},
		{"action for not detected", "groups:\n  - id: 2\n    name: a\n    recipients: [a@b.c]\n    actions:\n      not_detected: {action: reject}\n", []string{"p.yaml:6: groups[0].actions.not_detected.action: NOT_DETECTED mail is always delivered"}},
		{"unknown action", "default:\n  actions:\n    spam: {action: quarantine}\n", []string{"p.yaml:3: default.actions.spam.action: unknown action \"quarantine\" (allowed: accept, copy, redirect, reject, delete)"}},
		{"copy without addresses", "default:\n  actions:\n    spam:\n      action: copy\n", []string{"p.yaml:3: default.actions.spam: copy needs addresses"}},
		{"redirect to a pattern", "default:\n  actions:\n    spam:\n      action: redirect\n      addresses: ['@example.com']\n", []string{"p.yaml:5: default.actions.spam.addresses[0]: \"@example.com\" is not an address"}},
		{"bad list entry", "default:\n  white_list:\n    - a@b.c\n    - example.com\n", []string{"p.yaml:4: default.white_list[1]:", `write "@example.com"`}},
		{"bad inline entry", "default:\n  black_list: 'a@b.c, 300.1.1.1/8'\n", []string{"p.yaml:2: default.black_list:", "300.1.1.1/8"}},
		{"group without id", "groups:\n  - name: a\n    recipients: [a@b.c]\n", []string{"p.yaml:2: groups[0]: missing id (allowed: 2..99999999"}},
		{"group id too big", "groups:\n  - id: 100000000\n    name: a\n    recipients: [a@b.c]\n", []string{"p.yaml:2: groups[0].id: id 100000000 is too large"}},
		{"duplicate ids", "groups:\n  - id: 2\n    name: a\n    recipients: [a@b.c]\n  - id: 2\n    name: b\n    recipients: [b@b.c]\n", []string{"p.yaml:5: groups[1].id: id 2 is already used by groups[0]"}},
		{"duplicate names", "groups:\n  - id: 2\n    name: Sales\n    recipients: [a@b.c]\n  - id: 3\n    name: sales\n    recipients: [b@b.c]\n", []string{"p.yaml:6: groups[1].name: name \"sales\" is already used"}},
		{"group without recipients", "groups:\n  - id: 2\n    name: a\n", []string{"p.yaml:2: groups[0]: missing recipients"}},
		{"recipient IP", "groups:\n  - id: 2\n    name: a\n    recipients: [10.0.0.1]\n", []string{"p.yaml:4: groups[0].recipients[0]: \"10.0.0.1\": recipients are addresses, not IPs"}},
		{"All with recipients", "groups:\n  - id: 1\n    recipients: [a@b.c]\n", []string{"p.yaml:3: groups[0].recipients: the built-in group All has no recipient list"}},
		{"All renamed", "groups:\n  - id: 1\n    name: Everyone\n", []string{"p.yaml:3: groups[0].name: group 1 is the built-in group All and cannot be renamed"}},
		{"name All taken", "groups:\n  - id: 7\n    name: all\n    recipients: [a@b.c]\n", []string{"p.yaml:3: groups[0].name: the name All is reserved"}},
		{"header rule", "default:\n  methods:\n    header_rules:\n      Subject-Too-Long: false\n", []string{"p.yaml:4: default.methods.header_rules.Subject-Too-Long: \"Subject-Too-Long\" is not a rule name (lower-case letters, digits and _)"}},
		{"eastern", "default:\n  methods:\n    eastern:\n      thai: blocked\n      klingon: allowed\n", []string{"p.yaml:4: default.methods.eastern.thai: \"blocked\" is not allowed (allowed: allowed, suspicious)", "p.yaml:5: default.methods.eastern.klingon: unknown language"}},
		{"protected address", "protected_domains: [boss@example.com]\n", []string{"p.yaml:1: protected_domains[0]: \"boss@example.com\": protected domains are domains, not addresses"}},
		{"dnsbl new without zone", "default:\n  dnsbl:\n    - name: foo\n      rating: 10\n", []string{"p.yaml:3: default.dnsbl[0]: missing zone for the new service \"foo\""}},
		{"dnsbl rating", "default:\n  dnsbl:\n    - {name: foo, zone: foo.example, rating: 150}\n", []string{"p.yaml:3: default.dnsbl[0].rating: 150 is out of range (allowed: 0..100)"}},
		{"dnsbl returns", "default:\n  dnsbl:\n    - name: foo\n      zone: foo.example\n      rating: 10\n      returns: [127.0.0.9-127.0.0.2]\n", []string{"p.yaml:6: default.dnsbl[0].returns[0]: \"127.0.0.9-127.0.0.2\" is not a range"}},
		{"dnsbl duplicate", "default:\n  dnsbl:\n    - {name: foo, zone: foo.example, rating: 1}\n    - {name: foo, zone: foo.example, rating: 1}\n", []string{"p.yaml:4: default.dnsbl[1].name: \"foo\" appears twice"}},
		{"dnsbl zone", "default:\n  dnsbl:\n    - {name: foo, zone: 'foo example', rating: 1}\n", []string{"p.yaml:3: default.dnsbl[0].zone: \"foo example\" is not a DNS zone"}},
		{"uribl new without score", "default:\n  uribl:\n    - {name: u, zone: u.example}\n", []string{"p.yaml:3: default.uribl[0]: missing score"}},
		{"multi-line text", "texts:\n  reject: \"line1\\r\\n250 ok\"\n", []string{"p.yaml:2: texts.reject: must be one line"}},
		{"empty reject text", "default:\n  actions:\n    spam: {action: reject, reject_text: ''}\n", []string{"p.yaml:3: default.actions.spam.reject_text: must not be empty"}},
		{"every problem at once", "default:\n  level: x\ngroups:\n  - id: 2\n", []string{"p.yaml:2: default.level", "p.yaml:4: groups[0]: missing name", "groups[0]: missing recipients"}},
		{"list of maps", "default:\n  white_list:\n    - {a: b}\n", []string{"p.yaml:3: list entries must be strings"}},
		{"syntax", "default: [\n", []string{"p.yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("p.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestKnownRules(t *testing.T) {
	doc := []byte("default:\n  methods:\n    header_rules:\n      subject_too_long: false\ngroups:\n  - id: 2\n    name: a\n    recipients: [a@b.c]\n    methods:\n      header_rules: {subject_to_long: true}\n")
	if _, err := LoadBytes("p.yaml", doc); err != nil {
		t.Errorf("without known rules: %v", err)
	}
	_, err := LoadBytesWith("p.yaml", doc, Options{Rules: []string{"subject_too_long", "subject_id"}})
	want := "p.yaml:10: groups[0].methods.header_rules.subject_to_long: unknown rule (allowed: subject_too_long, subject_id)"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("with known rules: %v\nwant only %q", err, want)
	}
}

func FuzzLoadBytes(f *testing.F) {
	for _, path := range []string{"testdata/groups.yaml", "../../deploy/policy.example.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("groups:\n  - id: 1\n"))
	f.Add([]byte("protected_domains: '*'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadBytes("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		// A policy that loads is usable: All is last and every recipient resolves.
		if all := p.All(); all.ID != 1 || all.Settings == nil {
			t.Fatalf("All = %+v", all)
		}
		for _, r := range []string{"a@example.com", "", "@", "x"} {
			if g, _ := p.Resolve(r); g == nil || g.Settings == nil || len(g.Actions) != len(verdict.Statuses()) {
				t.Fatalf("Resolve(%q) = %+v", r, g)
			}
		}
	})
}
