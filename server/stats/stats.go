// Package stats keeps scan statistics for the admin Statistics call: per
// UTC hour, how many messages, recipients and bytes were scanned, the group
// results by status and info, by group, by method and by recipient domain,
// and how often each sign (rule or check) matched. Hours are kept in a
// bbolt file and survive restarts; hours older than the retention are
// pruned. With a Cluster, every server's hours can be added up.
//
// Recording is on the scan path, so it is one short critical section that
// allocates nothing once a group, method, sign and domain have been seen in
// the hour. What is recorded since the last flush is a delta that Flush
// adds to the file, so the memory held is one or two hours whatever the
// retention.
//
// It deliberately keeps no per-message or per-address data: statistics are
// counts, not a log.
package stats

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/verdict"
)

// MaxSigns is how many sign counters one hour keeps over all its groups (a
// name seen in two groups takes two), which bounds its size; hits of
// further names are counted in the group's OtherSigns.
const MaxSigns = 2000

// MaxDomains is how many recipient-domain counters one hour keeps over all
// its groups (about 30 bytes each in the file); results for further
// domains are counted in the group's OtherDomains.
const MaxDomains = 5000

// NumStatus and NumInfo size the per-status and per-info arrays; the index
// is the verdict.Status or verdict.Info value.
const (
	NumStatus = int(verdict.Blacklisted) + 1
	NumInfo   = int(verdict.LicenseLimitExceeded) + 1
)

// Count is a number of group results and the recipients they cover.
type Count struct {
	Results    uint64 `json:"r,omitempty"`
	Recipients uint64 `json:"n,omitempty"`
}

func (c *Count) add(o Count) {
	c.Results += o.Results
	c.Recipients += o.Recipients
}

// Group is one recipient group's share of an hour (or of a query's range).
type Group struct {
	// Name is the group's name when it was last seen.
	Name string `json:"name,omitempty"`
	// Results is the number of messages that had a result for the group,
	// Recipients the recipients those results covered.
	Count
	// Bytes is the size of the messages that had a result for the group.
	Bytes  uint64            `json:"b,omitempty"`
	Status [NumStatus]Count  `json:"st"`
	Info   [NumInfo]Count    `json:"in"`
	Method map[string]uint64 `json:"m,omitempty"`
	Signs  map[string]uint64 `json:"s,omitempty"`
	// OtherSigns counts hits of sign names over MaxSigns.
	OtherSigns uint64 `json:"o,omitempty"`
	// Domains are the results by recipient domain: a result counts once
	// for each domain of its recipients, with that domain's recipients.
	Domains map[string]*Domain `json:"d,omitempty"`
	// OtherDomains counts results of domains over MaxDomains.
	OtherDomains Count `json:"od"`
}

// Domain is one recipient domain's results, and those of them that were
// spam (SPAM or PROBABLE_SPAM). It is kept small: a site may have
// thousands of domains.
type Domain struct {
	Count
	Spam Count `json:"s"`
}

func (d *Domain) add(o *Domain) {
	d.Count.add(o.Count)
	d.Spam.add(o.Spam)
}

func newGroup(name string) *Group {
	return &Group{Name: name, Method: map[string]uint64{}, Signs: map[string]uint64{}, Domains: map[string]*Domain{}}
}

// Hour is the counts of one UTC hour.
type Hour struct {
	// Messages is the number of scans, Bytes their size.
	Messages uint64 `json:"msgs"`
	Bytes    uint64 `json:"bytes"`
	// Groups by group id.
	Groups map[uint32]*Group `json:"groups"`
	// signs is the number of sign counters over every group, for the
	// MaxSigns cap; domains likewise for MaxDomains.
	signs, domains int
}

func newHour() *Hour { return &Hour{Groups: map[uint32]*Group{}} }

// reset empties h for reuse. Its groups stay, zeroed, with their maps'
// room, so recording into a reused hour does not allocate; merge and
// Report.add skip groups without results.
func (h *Hour) reset() {
	h.Messages, h.Bytes, h.signs, h.domains = 0, 0, 0, 0
	for _, g := range h.Groups {
		clear(g.Method)
		clear(g.Signs)
		clear(g.Domains)
		*g = Group{Method: g.Method, Signs: g.Signs, Domains: g.Domains}
	}
}

// record adds one scan's verdict.
func (h *Hour) record(v *engine.Verdict, bytes int) {
	h.Messages++
	h.Bytes += uint64(bytes)
	for _, gv := range v.Groups {
		var id uint32
		var name string
		if gv.Group != nil {
			id, name = gv.Group.ID, gv.Group.Name
		}
		g := h.Groups[id]
		if g == nil {
			g = newGroup(name)
			h.Groups[id] = g
		} else if g.Name != name {
			g.Name = name
		}
		n := uint64(len(gv.Recipients))
		one := Count{Results: 1, Recipients: n}
		g.add(one)
		g.Bytes += uint64(bytes)
		if s := int(gv.Status); s > 0 && s < NumStatus {
			g.Status[s].add(one)
		}
		if i := int(gv.Info); i > 0 && i < NumInfo {
			g.Info[i].add(one)
		}
		if gv.Method != "" {
			g.Method[gv.Method]++
		}
		for i := range gv.Signs {
			h.hit(g, gv.Signs[i].Name, 1)
		}
		h.recordDomains(g, gv)
	}
}

// recordDomains counts the result gv once for each domain of its
// recipients, with that domain's recipients.
func (h *Hour) recordDomains(g *Group, gv *engine.GroupVerdict) {
	rcpts := gv.Recipients
	one := func(n uint64) *Domain {
		d := &Domain{Count: Count{Results: 1, Recipients: n}}
		if gv.Status == verdict.Spam || gv.Status == verdict.ProbableSpam {
			d.Spam = d.Count
		}
		return d
	}
	if len(rcpts) > 64 {
		// Many recipients: count by map rather than comparing pairs.
		n := map[string]uint64{}
		for _, r := range rcpts {
			if dom := domainOf(r); dom != "" {
				n[strings.ToLower(dom)]++
			}
		}
		for _, dom := range slices.Sorted(maps.Keys(n)) {
			h.domain(g, dom, one(n[dom]))
		}
		return
	}
	for i, r := range rcpts {
		dom := domainOf(r)
		if dom == "" {
			continue
		}
		counted := false
		for _, prev := range rcpts[:i] {
			if strings.EqualFold(domainOf(prev), dom) {
				counted = true
				break
			}
		}
		if counted {
			continue
		}
		var n uint64
		for _, other := range rcpts[i:] {
			if strings.EqualFold(domainOf(other), dom) {
				n++
			}
		}
		h.domain(g, dom, one(n))
	}
}

// domain adds o to g's counts for the domain dom (any case), within the
// MaxDomains cap. Finding a domain already counted does not allocate.
func (h *Hour) domain(g *Group, dom string, o *Domain) {
	var buf [128]byte
	key := buf[:0]
	for i := 0; i < len(dom); i++ {
		c := dom[i]
		if c >= utf8.RuneSelf {
			// A UTF-8 domain (rare): fold it as strings.EqualFold does.
			key = append(buf[:0], strings.ToLower(dom)...)
			break
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		key = append(key, c)
	}
	if d := g.Domains[string(key)]; d != nil {
		d.add(o)
		return
	}
	if h.domains >= MaxDomains {
		g.OtherDomains.add(o.Count)
		return
	}
	h.domains++
	d := &Domain{}
	d.add(o)
	g.Domains[string(key)] = d
}

// domainOf is the domain of an address ("" without one).
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(addr[at+1:], ".")
}

// hit counts n hits of a sign in g, within the MaxSigns cap.
func (h *Hour) hit(g *Group, name string, n uint64) {
	if c, ok := g.Signs[name]; ok {
		g.Signs[name] = c + n
		return
	}
	if h.signs >= MaxSigns {
		g.OtherSigns += n
		return
	}
	h.signs++
	g.Signs[name] = n
}

// merge adds o into h.
func (h *Hour) merge(o *Hour) {
	h.Messages += o.Messages
	h.Bytes += o.Bytes
	for id, og := range o.Groups {
		if og.Results == 0 {
			continue
		}
		g := h.Groups[id]
		if g == nil {
			g = newGroup(og.Name)
			h.Groups[id] = g
		}
		h.mergeGroup(g, og)
	}
}

func (h *Hour) mergeGroup(g, o *Group) {
	if o.Name != "" {
		g.Name = o.Name
	}
	g.add(o.Count)
	g.Bytes += o.Bytes
	for i := range o.Status {
		g.Status[i].add(o.Status[i])
	}
	for i := range o.Info {
		g.Info[i].add(o.Info[i])
	}
	for m, n := range o.Method {
		g.Method[m] += n
	}
	// Sorted, so which names the caps keep does not depend on map order.
	for _, name := range slices.Sorted(maps.Keys(o.Signs)) {
		h.hit(g, name, o.Signs[name])
	}
	g.OtherSigns += o.OtherSigns
	for _, dom := range slices.Sorted(maps.Keys(o.Domains)) {
		h.domain(g, dom, o.Domains[dom])
	}
	g.OtherDomains.add(o.OtherDomains)
}

// decoded makes a decoded hour whole: groups and domains that are null are
// dropped, missing maps made, and the counters of the caps set. An hour
// comes from the file or from another server, so it is outside input.
func (h *Hour) decoded() {
	h.signs, h.domains = 0, 0
	if h.Groups == nil {
		h.Groups = map[uint32]*Group{}
	}
	maps.DeleteFunc(h.Groups, func(_ uint32, g *Group) bool { return g == nil })
	for _, g := range h.Groups {
		if g.Method == nil {
			g.Method = map[string]uint64{}
		}
		if g.Signs == nil {
			g.Signs = map[string]uint64{}
		}
		if g.Domains == nil {
			g.Domains = map[string]*Domain{}
		}
		maps.DeleteFunc(g.Domains, func(_ string, d *Domain) bool { return d == nil })
		h.signs += len(g.Signs)
		h.domains += len(g.Domains)
	}
}

// NameCount is a name (sign or method) and how often it was counted.
type NameCount struct {
	Name  string
	Count uint64
}

// Top returns the n largest counts of m (all for n < 0), largest first,
// ties by name.
func Top(m map[string]uint64, n int) []NameCount {
	return top(m, n, func(name string, c uint64) NameCount { return NameCount{name, c} }, func(c uint64) uint64 { return c })
}

// top returns the n entries of m with the largest count (all for n < 0) as
// made by item, largest first, ties by name.
func top[V, T any](m map[string]V, n int, item func(string, V) T, count func(V) uint64) []T {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(count(m[b]), count(m[a])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if n >= 0 && len(names) > n {
		names = names[:n]
	}
	out := make([]T, len(names))
	for i, name := range names {
		out[i] = item(name, m[name])
	}
	return out
}

// hourOf is the start of t's UTC hour in Unix seconds.
func hourOf(t time.Time) int64 { return floor(t.Unix(), 3600) }
