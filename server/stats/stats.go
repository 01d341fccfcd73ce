// Package stats keeps scan statistics for the admin Statistics call: per
// UTC hour, how many messages, recipients and bytes were scanned, the group
// results by status and info, by group, by method, and how often each sign
// (rule or check) matched. Hours are kept in a bbolt file and survive
// restarts; hours older than the retention are pruned.
//
// Recording is on the scan path, so it is one short critical section that
// allocates nothing once a group, method and sign have been seen in the
// hour. What is recorded since the last flush is a delta that Flush adds to
// the file, so the memory held is one or two hours whatever the retention.
//
// It deliberately keeps no per-message or per-address data: statistics are
// counts, not a log.
package stats

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/verdict"
)

// MaxSigns is how many sign counters one hour keeps over all its groups (a
// name seen in two groups takes two), which bounds its size; hits of
// further names are counted in the group's OtherSigns.
const MaxSigns = 2000

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
}

func newGroup(name string) *Group {
	return &Group{Name: name, Method: map[string]uint64{}, Signs: map[string]uint64{}}
}

// Hour is the counts of one UTC hour.
type Hour struct {
	// Messages is the number of scans, Bytes their size.
	Messages uint64 `json:"msgs"`
	Bytes    uint64 `json:"bytes"`
	// Groups by group id.
	Groups map[uint32]*Group `json:"groups"`
	// signs is the number of sign counters over every group, for the
	// MaxSigns cap.
	signs int
}

func newHour() *Hour { return &Hour{Groups: map[uint32]*Group{}} }

// reset empties h for reuse. Its groups stay, zeroed, with their maps'
// room, so recording into a reused hour does not allocate; merge and
// Report.add skip groups without results.
func (h *Hour) reset() {
	h.Messages, h.Bytes, h.signs = 0, 0, 0
	for _, g := range h.Groups {
		clear(g.Method)
		clear(g.Signs)
		*g = Group{Method: g.Method, Signs: g.Signs}
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
	}
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
	// Sorted, so which names the cap keeps does not depend on map order.
	for _, name := range slices.Sorted(maps.Keys(o.Signs)) {
		h.hit(g, name, o.Signs[name])
	}
	g.OtherSigns += o.OtherSigns
}

// countSigns sets h.signs after decoding.
func (h *Hour) countSigns() {
	h.signs = 0
	for _, g := range h.Groups {
		if g.Method == nil {
			g.Method = map[string]uint64{}
		}
		if g.Signs == nil {
			g.Signs = map[string]uint64{}
		}
		h.signs += len(g.Signs)
	}
}

// NameCount is a name (sign or method) and how often it was counted.
type NameCount struct {
	Name  string
	Count uint64
}

// Top returns the n largest counts of m, largest first, ties by name.
func Top(m map[string]uint64, n int) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, c := range m {
		out = append(out, NameCount{k, c})
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// hourOf is the start of t's UTC hour in Unix seconds.
func hourOf(t time.Time) int64 { return floor(t.Unix(), 3600) }
