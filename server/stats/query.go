package stats

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxPoints bounds the series a query returns.
const MaxPoints = 10000

// Query selects what Store.Query adds up.
type Query struct {
	// From and To are the range; From is rounded down and To up to whole
	// buckets (UTC hours or days).
	From, To time.Time
	// Day makes the series per UTC day instead of per hour.
	Day bool
	// Group limits everything to one group id; 0 = every group.
	Group uint32
	// Cluster adds the hours of every server sharing the store's Cluster.
	Cluster bool
}

// ErrNoCluster is returned for a cluster query by a store without a Cluster.
var ErrNoCluster = errors.New("statistics are not shared: cluster statistics need the redis section")

// Report is the sum of the hours in a query's range.
type Report struct {
	// From and To are the range covered, in whole buckets.
	From, To time.Time
	// Messages and Bytes are the scans and their size; with a group, the
	// messages that had a result for it. Recipients are over every result.
	Messages, Recipients, Bytes uint64
	Status                      [NumStatus]Count
	Info                        [NumInfo]Count
	Method                      map[string]uint64
	Signs                       map[string]uint64
	// OtherSigns are the hits of names over the per-hour cap.
	OtherSigns uint64
	// Domains are the results by recipient domain; OtherDomains the
	// results of domains over the per-hour cap.
	Domains      map[string]*Domain
	OtherDomains Count
	// Groups have their name, counts and per-status counts.
	Groups map[uint32]*Group
	// Series has one point per bucket of the range, empty ones included.
	Series []Point
	// Servers is how many servers' counts the report adds up: 1, or with
	// Query.Cluster this one and every other with counts in the range.
	Servers int
}

// Point is one bucket of a report's series.
type Point struct {
	Start    time.Time
	Messages uint64
	Status   [NumStatus]Count
}

// Query adds up the hours of q's range, from the file and what is not
// flushed yet.
func (s *Store) Query(q Query) (*Report, error) {
	step := int64(3600)
	if q.Day {
		step = 86400
	}
	from := floor(q.From.Unix(), step)
	to := floor(q.To.Unix()+step-1, step)
	if to <= from {
		to = from + step
	}
	if (to-from)/step > MaxPoints {
		return nil, fmt.Errorf("query statistics: %d points is over %d; use a shorter range or days", (to-from)/step, MaxPoints)
	}
	if q.Cluster && s.cluster == nil {
		return nil, ErrNoCluster
	}
	r := &Report{
		From:    time.Unix(from, 0).UTC(),
		To:      time.Unix(to, 0).UTC(),
		Method:  map[string]uint64{},
		Signs:   map[string]uint64{},
		Groups:  map[uint32]*Group{},
		Domains: map[string]*Domain{},
		Series:  make([]Point, (to-from)/step),
		Servers: 1,
	}
	for i := range r.Series {
		r.Series[i].Start = time.Unix(from+int64(i)*step, 0).UTC()
	}
	add := func(key int64, h *Hour) {
		if key < from || key >= to {
			return
		}
		r.add(&r.Series[(key-from)/step], h, q.Group)
	}

	// The file's hours, with the pending deltas merged in, so that the
	// MaxSigns cap holds for the whole hour.
	hours := map[int64]*Hour{}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(hoursBucket).Cursor()
		for k, v := c.Seek(hourKey(from)); k != nil; k, v = c.Next() {
			key := int64(binary.BigEndian.Uint64(k))
			if key >= to {
				break
			}
			h, err := decodeHour(v)
			if err != nil {
				return fmt.Errorf("hour %s: %w", time.Unix(key, 0).UTC().Format(time.RFC3339), err)
			}
			hours[key] = h
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query statistics: %w", err)
	}
	if q.Cluster {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		// Only the hours the cluster can still hold are asked for.
		others, err := s.cluster.Others(ctx, s.node, max(from, hourOf(s.now().Add(-s.retention))), to)
		if err != nil {
			return nil, fmt.Errorf("query statistics: %w", err)
		}
		for node, nodeHours := range others {
			for key, b := range nodeHours {
				h, err := decodeHour(b)
				if err != nil {
					return nil, fmt.Errorf("query statistics: server %s, hour %s: %w", node, time.Unix(key, 0).UTC().Format(time.RFC3339), err)
				}
				if d := hours[key]; d != nil {
					d.merge(h)
				} else {
					hours[key] = h
				}
			}
			if len(nodeHours) > 0 {
				r.Servers++
			}
		}
	}
	s.mu.Lock()
	for key, h := range s.pending {
		if d := hours[key]; d != nil {
			d.merge(h)
		} else {
			add(key, h) // read under mu: Record writes it
		}
	}
	s.mu.Unlock()
	for key, h := range hours {
		add(key, h)
	}
	return r, nil
}

// add adds one hour to the report and its series point p.
func (r *Report) add(p *Point, h *Hour, group uint32) {
	if group == 0 {
		r.Messages += h.Messages
		r.Bytes += h.Bytes
		p.Messages += h.Messages
	}
	for id, g := range h.Groups {
		if group != 0 && id != group || g.Results == 0 {
			continue
		}
		if group != 0 {
			r.Messages += g.Results
			r.Bytes += g.Bytes
			p.Messages += g.Results
		}
		r.Recipients += g.Recipients
		rg := r.Groups[id]
		if rg == nil {
			rg = &Group{}
			r.Groups[id] = rg
		}
		if g.Name != "" {
			rg.Name = g.Name
		}
		rg.add(g.Count)
		rg.Bytes += g.Bytes
		for i := range g.Status {
			r.Status[i].add(g.Status[i])
			rg.Status[i].add(g.Status[i])
			p.Status[i].add(g.Status[i])
		}
		for i := range g.Info {
			r.Info[i].add(g.Info[i])
			rg.Info[i].add(g.Info[i])
		}
		for m, n := range g.Method {
			r.Method[m] += n
		}
		for name, n := range g.Signs {
			r.Signs[name] += n
		}
		r.OtherSigns += g.OtherSigns
		for dom, d := range g.Domains {
			if d.Results == 0 {
				continue
			}
			rd := r.Domains[dom]
			if rd == nil {
				rd = &Domain{}
				r.Domains[dom] = rd
			}
			rd.add(d)
		}
		r.OtherDomains.add(g.OtherDomains)
	}
}

// DomainCount is a recipient domain and its results.
type DomainCount struct {
	Name string
	*Domain
}

// TopDomains returns the n domains with the most results (all for n < 0),
// most first, ties by name.
func (r *Report) TopDomains(n int) []DomainCount {
	return top(r.Domains, n, func(name string, d *Domain) DomainCount { return DomainCount{name, d} }, func(d *Domain) uint64 { return d.Results })
}

// floor rounds a Unix time down to a multiple of step (UTC hours and days
// are multiples of 3600 and 86400 seconds since the epoch).
func floor(t, step int64) int64 {
	return t - ((t%step)+step)%step
}
