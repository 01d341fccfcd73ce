package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/server/addrlist"
	"github.com/scilla-mail/scilla/server/verdict"
)

// MaxGroupID is the largest group id: X-Spamtest-Group-ID has 8 digits.
const MaxGroupID = 99_999_999

// Options refine loading.
type Options struct {
	// Rules are the rule names the checks know (methods.header_rules);
	// a policy naming another is refused. Nil accepts any well-formed name.
	Rules []string
}

// Load reads, validates and builds the policy file at path. Relative list
// file paths in it are relative to the file's folder. The error lists every
// problem as "file:line: key: what is wrong (what is allowed)".
func Load(path string) (*Policy, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return LoadBytesWith(path, data, o)
}

// LoadBytes is Load for a policy already in memory; name is used in errors
// and as the base of relative list file paths.
func LoadBytes(name string, data []byte) (*Policy, error) {
	return LoadBytesWith(name, data, Options{})
}

// LoadBytesWith is LoadBytes with options.
func LoadBytesWith(name string, data []byte, o Options) (*Policy, error) {
	var f File
	if err := conf.Decode(name, data, &f); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	var root yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		// conf.Decode parsed the same bytes, so this cannot fail.
		_ = yaml.Unmarshal(data, &root)
	}
	b := &builder{name: name, dir: filepath.Dir(name), root: &root, rules: o.Rules}
	p := b.build(&f)
	if len(b.problems) > 0 {
		return nil, fmt.Errorf("load policy: %w", errors.New(strings.Join(b.problems, "\n")))
	}
	p.Source = name
	p.Loaded = time.Now()
	return p, nil
}

type builder struct {
	name, dir string
	rules     []string
	root      *yaml.Node
	problems  []string
}

// errf records a problem with key, locating its line in the file.
func (b *builder) errf(key, format string, args ...any) {
	b.errAt(findLine(b.root, key), key, format, args...)
}

func (b *builder) errAt(line int, key, format string, args ...any) {
	b.problems = append(b.problems, fmt.Sprintf("%s:%d: %s: %s", b.name, line, key, fmt.Sprintf(format, args...)))
}

func (b *builder) build(f *File) *Policy {
	p := &Policy{Texts: defaultTexts}
	if f.Texts.Reject != nil {
		b.text("texts.reject", *f.Texts.Reject, 400, true)
		p.Texts.Reject = *f.Texts.Reject
	}
	if f.Texts.Bounce != nil {
		b.text("texts.bounce", *f.Texts.Bounce, 2000, true)
		p.Texts.Bounce = *f.Texts.Bounce
	}
	p.Protected = b.protected(f.ProtectedDomains)

	def := defaultSettings()
	b.settings("default", &f.Default, &def)
	defWhite := b.list("default.white_list", f.Default.WhiteList, f.Default.WhiteListFiles)
	defBlack := b.list("default.black_list", f.Default.BlackList, f.Default.BlackListFiles)
	def.White, def.Black = nonEmpty(defWhite), nonEmpty(defBlack)
	defActs := defaultActions()
	for st, a := range defActs {
		if a.RejectText != "" {
			a.RejectText = p.Texts.Reject
			defActs[st] = a
		}
	}
	b.actions("default.actions", &f.Default.Actions, defActs)

	all := &Group{ID: 1, Name: "All", Settings: &def, Actions: defActs}
	ids := map[uint32]int{}
	names := map[string]int{}
	for i := range f.Groups {
		gf := &f.Groups[i]
		key := fmt.Sprintf("groups[%d]", i)
		g := b.group(key, gf, &def, defWhite, defBlack, defActs)
		if prev, ok := ids[gf.ID]; ok && gf.ID != 0 {
			b.errf(key+".id", "id %d is already used by groups[%d] (ids must be unique)", gf.ID, prev)
		}
		ids[gf.ID] = i
		if prev, ok := names[strings.ToLower(gf.Name)]; ok && gf.Name != "" {
			b.errf(key+".name", "name %q is already used by groups[%d] (names must be unique)", gf.Name, prev)
		}
		names[strings.ToLower(gf.Name)] = i
		if gf.ID == 1 {
			all = g
			continue
		}
		p.Groups = append(p.Groups, g)
	}
	p.Groups = append(p.Groups, all)
	return p
}

func nonEmpty(l *addrlist.List) *addrlist.List {
	if l.Len() == 0 {
		return nil
	}
	return l
}

// group builds one group from the file and the default section.
func (b *builder) group(key string, gf *GroupFile, def *Settings, defWhite, defBlack *addrlist.List, defActs map[verdict.Status]Action) *Group {
	g := &Group{ID: gf.ID, Name: gf.Name, Comment: gf.Comment}
	switch {
	case gf.ID == 0:
		b.errf(key, "missing id (allowed: 2..%d; 1 is the built-in group All)", MaxGroupID)
	case gf.ID > MaxGroupID:
		b.errf(key+".id", "id %d is too large (allowed: 2..%d, it is written as 8 digits)", gf.ID, MaxGroupID)
	}
	if gf.ID == 1 {
		if gf.Name != "" && !strings.EqualFold(gf.Name, "All") {
			b.errf(key+".name", "group 1 is the built-in group All and cannot be renamed")
		}
		g.Name = "All"
		if len(gf.Recipients.Items) > 0 {
			b.errf(key+".recipients", "the built-in group All has no recipient list: it holds everyone no other group matches")
		}
	} else {
		switch {
		case strings.TrimSpace(gf.Name) == "":
			b.errf(key, "missing name")
		case strings.EqualFold(gf.Name, "All"):
			b.errf(key+".name", "the name All is reserved for the built-in group (id 1)")
		case len(gf.Name) > 64 || strings.ContainsAny(gf.Name, "\r\n\t"):
			b.errf(key+".name", "names are one line of at most 64 characters")
		}
		g.Recipients = b.list(key+".recipients", gf.Recipients, nil)
		if g.Recipients.Len() == 0 {
			b.errf(key, "missing recipients (allowed: user@domain, @domain, * and ? wildcards)")
		}
		b.noIPs(key+".recipients", gf.Recipients)
	}
	s := cloneSettings(def)
	b.settings(key, &gf.SectionFile, s)
	white := b.list(key+".white_list", gf.WhiteList, gf.WhiteListFiles)
	black := b.list(key+".black_list", gf.BlackList, gf.BlackListFiles)
	if gf.InheritLists == nil || *gf.InheritLists {
		white, black = inherit(defWhite, white), inherit(defBlack, black)
	}
	s.White, s.Black = nonEmpty(white), nonEmpty(black)
	g.Settings = s
	g.Actions = maps.Clone(defActs)
	b.actions(key+".actions", &gf.Actions, g.Actions)
	return g
}

// inherit adds a group's own list to the default one, sharing the default
// list when the group has none (lists can hold 100,000 entries).
func inherit(def, own *addrlist.List) *addrlist.List {
	if own.Len() == 0 {
		return def
	}
	return addrlist.Merge(def, own)
}

func cloneSettings(s *Settings) *Settings {
	c := *s
	c.Methods.HeaderRules = maps.Clone(s.Methods.HeaderRules)
	c.Methods.Eastern = maps.Clone(s.Methods.Eastern)
	c.DNSBL = slices.Clone(s.DNSBL)
	c.URIBL = slices.Clone(s.URIBL)
	return &c
}

// settings applies the recognition settings of one section onto s.
func (b *builder) settings(key string, f *SectionFile, s *Settings) {
	if f.Detection != nil {
		s.Detection = *f.Detection
	}
	if f.Level != nil {
		l, err := ParseLevel(*f.Level)
		if err != nil {
			b.errf(key+".level", "%v", err)
		}
		s.Level = l
	}
	if f.ProbableSpam != nil {
		s.ProbableSpam = *f.ProbableSpam
	}
	m, mk := &f.Methods, key+".methods"
	setBool(&s.Methods.DNS, m.DNS)
	setBool(&s.Methods.SURBL, m.SURBL)
	setBool(&s.Methods.Lists, m.Lists)
	setBool(&s.Methods.Obscene, m.Obscene)
	setBool(&s.Methods.ObsceneTag, m.ObsceneTag)
	for _, name := range sortedKeys(m.HeaderRules) {
		switch {
		case !ruleName.MatchString(name):
			b.errf(mk+".header_rules."+name, "%q is not a rule name (lower-case letters, digits and _)", name)
			continue
		case b.rules != nil && !slices.Contains(b.rules, name):
			b.errf(mk+".header_rules."+name, "unknown rule (allowed: %s)", strings.Join(b.rules, ", "))
			continue
		}
		if s.Methods.HeaderRules == nil {
			s.Methods.HeaderRules = map[string]bool{}
		}
		s.Methods.HeaderRules[name] = m.HeaderRules[name]
	}
	for _, lang := range sortedKeys(m.Eastern) {
		if !slices.Contains(EasternLanguages(), lang) {
			b.errf(mk+".eastern."+lang, "unknown language (allowed: %s)", strings.Join(EasternLanguages(), ", "))
			continue
		}
		var suspicious bool
		switch v := strings.ToLower(m.Eastern[lang]); v {
		case "suspicious":
			suspicious = true
		case "allowed":
		default:
			b.errf(mk+".eastern."+lang, "%q is not allowed (allowed: allowed, suspicious)", m.Eastern[lang])
		}
		if s.Methods.Eastern == nil {
			s.Methods.Eastern = map[string]bool{}
		}
		s.Methods.Eastern[lang] = suspicious
	}
	s.DNSBL = b.dnsbl(key+".dnsbl", f.DNSBL, s.DNSBL)
	s.URIBL = b.uribl(key+".uribl", f.URIBL, s.URIBL)
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// serviceNames checks the name of the j-th service and that it is unique in the section.
func (b *builder) serviceName(key, name string, seen map[string]bool) bool {
	switch {
	case name == "":
		b.errf(key, "missing name")
		return false
	case !serviceName.MatchString(name):
		b.errf(key+".name", "%q is not allowed (lower-case letters, digits, '.', '_' and '-', at most 63)", name)
		return false
	case seen[name]:
		b.errf(key+".name", "%q appears twice in this list", name)
		return false
	}
	seen[name] = true
	return true
}

func (b *builder) zone(key string, z string) {
	if z == "" || len(z) > 200 || strings.Contains(z, "..") || strings.HasPrefix(z, ".") || strings.Trim(strings.ToLower(z), "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
		b.errf(key, "%q is not a DNS zone (e.g. zen.spamhaus.org)", z)
	}
}

// dnsbl merges the DNSBL entries of a section into the inherited list.
func (b *builder) dnsbl(key string, fs []DNSBLFile, list []DNSBLService) []DNSBLService {
	seen := map[string]bool{}
	for j, d := range fs {
		k := fmt.Sprintf("%s[%d]", key, j)
		if !b.serviceName(k, d.Name, seen) {
			continue
		}
		i := slices.IndexFunc(list, func(s DNSBLService) bool { return s.Name == d.Name })
		if i < 0 {
			if d.Zone == nil {
				b.errf(k, "missing zone for the new service %q", d.Name)
			}
			if d.Rating == nil {
				b.errf(k, "missing rating for the new service %q (0..100; lists that hit add up, 100 = BLACKLISTED)", d.Name)
			}
			list = append(list, DNSBLService{Name: d.Name, Enabled: true})
			i = len(list) - 1
		}
		s := &list[i]
		if d.Zone != nil {
			b.zone(k+".zone", *d.Zone)
			s.Zone = strings.ToLower(strings.TrimSuffix(*d.Zone, "."))
		}
		if d.Rating != nil {
			if *d.Rating < 0 || *d.Rating > 100 {
				b.errf(k+".rating", "%d is out of range (allowed: 0..100)", *d.Rating)
			}
			s.Rating = *d.Rating
		}
		if d.Returns != nil {
			for r, ret := range d.Returns {
				if err := checkReturn(ret); err != nil {
					b.errf(fmt.Sprintf("%s.returns[%d]", k, r), "%v", err)
				}
			}
			s.Returns = slices.Clone(d.Returns)
		}
		setBool(&s.Enabled, d.Enabled)
	}
	return list
}

// checkReturn validates a DNSBL answer filter: an IPv4 address or a range a-b.
func checkReturn(s string) error {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil || !a.Is4() {
		return fmt.Errorf("%q is not allowed (an IPv4 answer like 127.0.0.2 or a range like 127.0.0.2-127.0.0.11)", s)
	}
	if isRange {
		z, err := netip.ParseAddr(strings.TrimSpace(hi))
		if err != nil || !z.Is4() || z.Less(a) {
			return fmt.Errorf("%q is not a range low-high of IPv4 answers (e.g. 127.0.0.2-127.0.0.11)", s)
		}
	}
	return nil
}

// uribl merges the URIBL entries of a section into the inherited list.
func (b *builder) uribl(key string, fs []URIBLFile, list []URIBLService) []URIBLService {
	seen := map[string]bool{}
	for j, d := range fs {
		k := fmt.Sprintf("%s[%d]", key, j)
		if !b.serviceName(k, d.Name, seen) {
			continue
		}
		i := slices.IndexFunc(list, func(s URIBLService) bool { return s.Name == d.Name })
		if i < 0 {
			if d.Zone == nil {
				b.errf(k, "missing zone for the new service %q", d.Name)
			}
			if d.Score == nil {
				b.errf(k, "missing score for the new service %q", d.Name)
			}
			list = append(list, URIBLService{Name: d.Name, Enabled: true})
			i = len(list) - 1
		}
		s := &list[i]
		if d.Zone != nil {
			b.zone(k+".zone", *d.Zone)
			s.Zone = strings.ToLower(strings.TrimSuffix(*d.Zone, "."))
		}
		if d.Score != nil {
			if *d.Score < -100 || *d.Score > 100 {
				b.errf(k+".score", "%g is out of range (allowed: -100..100)", *d.Score)
			}
			s.Score = *d.Score
		}
		if d.Mask != nil {
			s.Mask = *d.Mask
		}
		setBool(&s.Enabled, d.Enabled)
	}
	return list
}

// actions applies a section's actions onto acts.
func (b *builder) actions(key string, f *ActionsFile, acts map[verdict.Status]Action) {
	for _, sa := range []struct {
		name string
		st   verdict.Status
		f    *ActionFile
	}{
		{"spam", verdict.Spam, f.Spam}, {"probable_spam", verdict.ProbableSpam, f.ProbableSpam},
		{"formal", verdict.Formal, f.Formal}, {"blacklisted", verdict.Blacklisted, f.Blacklisted},
		{"trusted", verdict.Trusted, f.Trusted}, {"not_detected", verdict.NotDetected, f.NotDetected},
	} {
		if sa.f == nil {
			continue
		}
		k := key + "." + sa.name
		a := acts[sa.st]
		a.Addresses = slices.Clone(a.Addresses)
		if sa.f.Action != nil {
			kind, err := verdict.ParseAction(*sa.f.Action)
			if err != nil {
				b.errf(k+".action", "%v", err)
			}
			if (sa.st == verdict.Trusted || sa.st == verdict.NotDetected) && kind != verdict.Accept {
				b.errf(k+".action", "%s mail is always delivered: only accept is allowed", sa.st)
			}
			a.Kind = kind
		}
		if sa.f.Addresses != nil {
			a.Addresses = nil
			for i, addr := range sa.f.Addresses {
				if !plainAddress(addr) {
					b.errf(fmt.Sprintf("%s.addresses[%d]", k, i), "%q is not an address (allowed: one user@domain, no wildcards)", addr)
				}
				a.Addresses = append(a.Addresses, addr)
			}
		}
		if sa.f.SubjectPrefix != nil {
			b.text(k+".subject_prefix", *sa.f.SubjectPrefix, 100, false)
			a.SubjectPrefix = *sa.f.SubjectPrefix
		}
		if sa.f.Header != nil {
			b.text(k+".header", *sa.f.Header, 900, false)
			a.Header = *sa.f.Header
		}
		if sa.f.RejectText != nil {
			b.text(k+".reject_text", *sa.f.RejectText, 400, true)
			a.RejectText = *sa.f.RejectText
		}
		if (a.Kind == verdict.Copy || a.Kind == verdict.Redirect) && len(a.Addresses) == 0 {
			b.errf(k, "%s needs addresses (e.g. addresses: [quarantine@example.com])", a.Kind)
		}
		if a.Kind == verdict.Reject && a.RejectText == "" {
			b.errf(k, "reject needs a reject_text")
		}
		acts[sa.st] = a
	}
}

// plainAddress reports whether s is one user@domain address without wildcards.
func plainAddress(s string) bool {
	e, err := addrlist.ParseEntry(s)
	return err == nil && e.Kind == addrlist.Address && e.Local != "" && !strings.ContainsAny(s, "*?")
}

// text checks a one-line text: printable, no line breaks, at most max bytes.
func (b *builder) text(key, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		b.errf(key, "must not be empty")
	case len(s) > max:
		b.errf(key, "is %d bytes long (allowed: at most %d, one line)", len(s), max)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }):
		b.errf(key, "must be one line without control characters")
	}
}

// protected builds the protected domain list; nil means every domain.
func (b *builder) protected(e Entries) *addrlist.List {
	bl := addrlist.NewBuilder()
	n := 0
	for i, it := range e.Items {
		key := "protected_domains"
		if e.Seq {
			key = fmt.Sprintf("protected_domains[%d]", i)
		}
		for _, d := range addrlist.Split(it.Text) {
			if d == "*" {
				return nil
			}
			if strings.ContainsRune(d, '@') {
				b.errAt(it.Line, key, "%q: protected domains are domains, not addresses (allowed: example.com, *example.com, *.example.com, ? wildcards)", d)
				continue
			}
			ent, err := addrlist.ParseEntry("@" + d)
			if err != nil || ent.Kind != addrlist.Address {
				b.errAt(it.Line, key, "%q is not a domain pattern (allowed: example.com, *example.com, *.example.com, ? wildcards)", d)
				continue
			}
			bl.AddEntry(ent)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return bl.List()
}

// list builds a white/black/recipient list from inline entries and files.
func (b *builder) list(key string, e Entries, files []string) *addrlist.List {
	bl := addrlist.NewBuilder()
	for i, it := range e.Items {
		k := key
		if e.Seq {
			k = fmt.Sprintf("%s[%d]", key, i)
		}
		for _, s := range addrlist.Split(it.Text) {
			if err := bl.Add(s); err != nil {
				b.errAt(it.Line, k, "%v", err)
			}
		}
	}
	filesKey := strings.TrimSuffix(key, "_list") + "_list_files"
	for i, path := range files {
		k := fmt.Sprintf("%s[%d]", filesKey, i)
		if !filepath.IsAbs(path) {
			path = filepath.Join(b.dir, path)
		}
		if err := readListFile(path, bl); err != nil {
			b.errf(k, "%v", err)
		}
	}
	return bl.List()
}

// readListFile adds the entries of a list file; errors name the file and line.
func readListFile(path string, bl *addrlist.Builder) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read list: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		for _, s := range addrlist.Split(sc.Text()) {
			if err := bl.Add(s); err != nil && len(errs) < 20 {
				errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read list %s: %w", path, err))
	}
	return errors.Join(errs...)
}

// noIPs refuses IP entries in a recipient list.
func (b *builder) noIPs(key string, e Entries) {
	for i, it := range e.Items {
		k := key
		if e.Seq {
			k = fmt.Sprintf("%s[%d]", key, i)
		}
		for _, s := range addrlist.Split(it.Text) {
			if ent, err := addrlist.ParseEntry(s); err == nil && ent.Kind != addrlist.Address && ent.Kind != addrlist.All {
				b.errAt(it.Line, k, "%q: recipients are addresses, not IPs (allowed: user@domain, @domain, * and ? wildcards)", s)
			}
		}
	}
}

// findLine returns the line of a key like "groups[2].actions.spam" in the
// document, or of its nearest ancestor present; 0 when none is.
func findLine(root *yaml.Node, key string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := 0
	for _, part := range strings.Split(key, ".") {
		name, idx, _ := strings.Cut(part, "[")
		var next *yaml.Node
		if n != nil && n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == name {
					best, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return best
		}
		n = next
		for idx != "" {
			num, rest, _ := strings.Cut(idx, "]")
			i, err := strconv.Atoi(num)
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return best
			}
			n = n.Content[i]
			best = n.Line
			idx = strings.TrimPrefix(rest, "[")
		}
	}
	return best
}
