package stats

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

var (
	all   = &policy.Group{ID: 1, Name: "All"}
	sales = &policy.Group{ID: 2, Name: "sales"}
)

// addrs returns n recipients of the group's domain (the first in capitals).
func addrs(g *policy.Group, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@%s.example", i, strings.ToLower(g.Name))
	}
	if n > 0 {
		out[0] = strings.ToUpper(out[0])
	}
	return out
}

func spam(g *policy.Group, rcpts int, signs ...string) *engine.GroupVerdict {
	gv := &engine.GroupVerdict{Group: g, Status: verdict.Spam, Method: "content", Recipients: addrs(g, rcpts)}
	for _, s := range signs {
		gv.Signs = append(gv.Signs, engine.Sign{Name: s})
	}
	return gv
}

func ham(g *policy.Group, rcpts int) *engine.GroupVerdict {
	return &engine.GroupVerdict{Group: g, Status: verdict.NotDetected, Recipients: addrs(g, rcpts)}
}

func notProcessed(g *policy.Group) *engine.GroupVerdict {
	return &engine.GroupVerdict{Group: g, Status: verdict.NotDetected, Info: verdict.NotProcessed, Recipients: []string{"a"}}
}

func scan(gvs ...*engine.GroupVerdict) *engine.Verdict { return &engine.Verdict{Groups: gvs} }

// clock is a settable test clock.
type clock struct{ t atomic.Int64 }

func (c *clock) set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.t.Store(t.UnixNano())
}
func (c *clock) now() time.Time { return time.Unix(0, c.t.Load()).UTC() }

func open(t testing.TB, path string, c *clock) *Store {
	t.Helper()
	s, err := Open(path, Options{Retention: 48 * time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type rec struct {
	at    string
	v     *engine.Verdict
	bytes int
}

// TestBuckets: scans land in their UTC hour, series points split at the
// hour and day edges, and totals add up over the range.
func TestBuckets(t *testing.T) {
	recs := []rec{
		{"2026-11-21T22:59:59Z", scan(spam(all, 2, "GTUBE")), 100},
		{"2026-11-21T23:00:00Z", scan(ham(all, 1)), 10},
		{"2026-11-21T23:59:59Z", scan(ham(all, 1), spam(sales, 3, "GTUBE", "SUBJ_TOO_LONG")), 20},
		{"2026-11-22T00:00:00Z", scan(notProcessed(all)), 1},
	}
	tests := []struct {
		name          string
		q             Query
		wantMsgs      uint64
		wantSpam      uint64
		wantSeries    []uint64
		wantFrom      string
		wantRcpts     uint64
		wantBytes     uint64
		wantGTUBE     uint64
		wantProcessed uint64
	}{
		{"hours around midnight", Query{From: ts("2026-11-21T22:30:00Z"), To: ts("2026-11-22T00:30:00Z")},
			4, 2, []uint64{1, 2, 1}, "2026-11-21T22:00:00Z", 8, 131, 2, 1},
		{"one hour edge", Query{From: ts("2026-11-21T23:00:00Z"), To: ts("2026-11-22T00:00:00Z")},
			2, 1, []uint64{2}, "2026-11-21T23:00:00Z", 5, 30, 1, 0},
		{"days", Query{From: ts("2026-11-21T12:00:00Z"), To: ts("2026-11-22T01:00:00Z"), Day: true},
			4, 2, []uint64{3, 1}, "2026-11-21T00:00:00Z", 8, 131, 2, 1},
		{"group sales", Query{From: ts("2026-11-21T00:00:00Z"), To: ts("2026-11-23T00:00:00Z"), Day: true, Group: 2},
			1, 1, []uint64{1, 0}, "2026-11-21T00:00:00Z", 3, 20, 1, 0},
		{"group All", Query{From: ts("2026-11-21T00:00:00Z"), To: ts("2026-11-23T00:00:00Z"), Day: true, Group: 1},
			4, 1, []uint64{3, 1}, "2026-11-21T00:00:00Z", 5, 131, 1, 1},
		{"empty range", Query{From: ts("2026-11-20T00:00:00Z"), To: ts("2026-11-20T02:00:00Z")},
			0, 0, []uint64{0, 0}, "2026-11-20T00:00:00Z", 0, 0, 0, 0},
	}
	for _, flushed := range []bool{false, true} {
		var c clock
		s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
		for _, r := range recs {
			c.set(r.at)
			s.Record(r.v, r.bytes)
		}
		if flushed {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/flushed=%v", tt.name, flushed), func(t *testing.T) {
				r, err := s.Query(tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if r.Messages != tt.wantMsgs || r.Status[verdict.Spam].Results != tt.wantSpam || r.Recipients != tt.wantRcpts || r.Bytes != tt.wantBytes {
					t.Errorf("messages %d spam %d recipients %d bytes %d, want %d %d %d %d", r.Messages, r.Status[verdict.Spam].Results, r.Recipients, r.Bytes,
						tt.wantMsgs, tt.wantSpam, tt.wantRcpts, tt.wantBytes)
				}
				if r.Signs["GTUBE"] != tt.wantGTUBE || r.Info[verdict.NotProcessed].Results != tt.wantProcessed {
					t.Errorf("GTUBE %d not processed %d, want %d %d", r.Signs["GTUBE"], r.Info[verdict.NotProcessed].Results, tt.wantGTUBE, tt.wantProcessed)
				}
				if got := r.From.Format(time.RFC3339); got != tt.wantFrom {
					t.Errorf("from %s, want %s", got, tt.wantFrom)
				}
				var series []uint64
				for _, p := range r.Series {
					series = append(series, p.Messages)
				}
				if fmt.Sprint(series) != fmt.Sprint(tt.wantSeries) {
					t.Errorf("series %v, want %v", series, tt.wantSeries)
				}
			})
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMergeAndRestart: counts flushed in several deltas to the same hour
// add up, survive reopening the file, and keep group names and methods.
func TestMergeAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.db")
	var c clock
	c.set("2026-11-22T10:15:00Z")
	s := open(t, path, &c)
	s.Record(scan(spam(sales, 1, "GTUBE")), 5)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Record(scan(spam(sales, 1, "GTUBE")), 5)
	if err := s.Close(); err != nil { // flushes the second delta
		t.Fatal(err)
	}
	s = open(t, path, &c)
	defer s.Close()
	s.Record(scan(ham(all, 1)), 5) // pending, not flushed
	r, err := s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T11:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages != 3 || r.Signs["GTUBE"] != 2 || r.Method["content"] != 2 || r.Groups[2].Name != "sales" || r.Groups[2].Results != 2 || r.Bytes != 15 {
		t.Errorf("after restart: messages %d GTUBE %d content %d group 2 %+v bytes %d", r.Messages, r.Signs["GTUBE"], r.Method["content"], r.Groups[2], r.Bytes)
	}
}

// TestPrune: hours older than the retention go at the next flush.
func TestPrune(t *testing.T) {
	var c clock
	c.set("2026-11-20T10:00:00Z")
	s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
	defer s.Close()
	s.Record(scan(ham(all, 1)), 1)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	q := Query{From: ts("2026-11-20T00:00:00Z"), To: ts("2026-11-23T00:00:00Z"), Day: true}
	for _, tt := range []struct {
		now  string
		want uint64
	}{
		{"2026-11-22T10:00:00Z", 1}, // exactly the 48h retention: kept
		{"2026-11-22T11:00:00Z", 0},
	} {
		c.set(tt.now)
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := s.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		if r.Messages != tt.want {
			t.Errorf("at %s: %d messages, want %d", tt.now, r.Messages, tt.want)
		}
	}
}

// TestSignCap: an hour keeps MaxSigns sign counters, over every group and
// across flushes; the rest count as other.
func TestSignCap(t *testing.T) {
	var c clock
	c.set("2026-11-22T10:00:00Z")
	s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
	defer s.Close()
	for i := range MaxSigns + 10 {
		g := all
		if i%2 == 0 {
			g = sales
		}
		s.Record(scan(spam(g, 1, fmt.Sprintf("S%05d", i))), 1)
		if i == MaxSigns/2 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Record(scan(spam(all, 1, "S00001")), 1) // a kept name still counts
	for _, flush := range []bool{false, true} {
		if flush {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T11:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Signs) != MaxSigns || r.OtherSigns != 10 || r.Signs["S00001"] != 2 {
			t.Errorf("flushed=%v: %d names, %d other, S00001 %d; want %d, 10, 2", flush, len(r.Signs), r.OtherSigns, r.Signs["S00001"], MaxSigns)
		}
	}
}

// TestConcurrentRecord: recording from many goroutines while flushing and
// querying loses nothing (run with -race).
func TestConcurrentRecord(t *testing.T) {
	var c clock
	c.set("2026-11-22T10:00:00Z")
	s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
	defer s.Close()
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				s.Record(scan(spam(all, 1, "GTUBE"), ham(sales, 2)), 10)
			}
		}()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Flush(); err != nil {
				t.Error(err)
			}
			if _, err := s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T11:00:00Z")}); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	r, err := s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T11:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(workers * each); r.Messages != want || r.Signs["GTUBE"] != want || r.Recipients != 3*want || r.Groups[2].Status[verdict.NotDetected].Recipients != 2*want {
		t.Errorf("messages %d GTUBE %d recipients %d, want %d %d %d", r.Messages, r.Signs["GTUBE"], r.Recipients, want, want, 3*want)
	}
}

func TestTop(t *testing.T) {
	got := Top(map[string]uint64{"A": 1, "B": 3, "C": 3, "D": 2}, 3)
	if fmt.Sprint(got) != "[{B 3} {C 3} {D 2}]" {
		t.Errorf("Top = %v", got)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		c    Config
		errs int
	}{
		{DefaultConfig(), 0},
		{Config{Retention: Config{}.Retention, File: "x"}, 1},
		{Config{Retention: DefaultConfig().Retention * 10, File: ""}, 2},
	}
	for _, tt := range tests {
		if errs := tt.c.Validate(); len(errs) != tt.errs {
			t.Errorf("%+v: %v, want %d errors", tt.c, errs, tt.errs)
		}
	}
	if p := DefaultConfig().Path("/var/lib/scilla"); p != "/var/lib/scilla/stats.db" {
		t.Errorf("Path = %s", p)
	}
}

// BenchmarkRecord is the cost on the scan path.
func BenchmarkRecord(b *testing.B) {
	var c clock
	c.set("2026-11-22T10:00:00Z")
	s := open(b, filepath.Join(b.TempDir(), "stats.db"), &c)
	defer s.Close()
	v := scan(spam(all, 2, "GTUBE", "SUBJ_TOO_LONG", "HTML_ONLY"), ham(sales, 1))
	s.Record(v, 1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Record(v, 1000)
		}
	})
}

// TestReuseAfterFlush: an hour reused after a flush records without
// allocating, and the groups it kept from before do not show.
func TestReuseAfterFlush(t *testing.T) {
	var c clock
	c.set("2026-11-22T10:00:00Z")
	s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
	defer s.Close()
	s.Record(scan(spam(all, 1, "GTUBE"), ham(sales, 1)), 1)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	c.set("2026-11-22T11:00:00Z")
	v := scan(spam(all, 1, "GTUBE"))
	if n := testing.AllocsPerRun(100, func() { s.Record(v, 1) }); n != 0 {
		t.Errorf("Record allocates %v times in a reused hour", n)
	}
	for _, flush := range []bool{false, true} {
		if flush {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.Query(Query{From: ts("2026-11-22T11:00:00Z"), To: ts("2026-11-22T12:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Groups) != 1 || r.Groups[1] == nil || r.Messages != 101 || r.Groups[1].Name != "All" {
			t.Errorf("flushed=%v: %d messages, groups %v", flush, r.Messages, r.Groups)
		}
	}
}

// TestDomains: a result counts once for each recipient domain, whatever
// the case of the addresses, with that domain's recipients; the counts
// survive a flush, merge across hours, follow the group filter and the
// cap sends further domains to OtherDomains.
func TestDomains(t *testing.T) {
	var c clock
	c.set("2026-11-22T10:00:00Z")
	s := open(t, filepath.Join(t.TempDir(), "stats.db"), &c)
	defer s.Close()
	mixed := &engine.GroupVerdict{Group: all, Status: verdict.Spam,
		Recipients: []string{"a@Example.ORG", "b@example.org", "c@other.example", "bare", "d@ÄÖ.example", "e@äö.example"}}
	s.Record(scan(mixed, ham(sales, 2)), 1)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	c.set("2026-11-22T11:00:00Z")
	many := &engine.GroupVerdict{Group: all, Status: verdict.NotDetected}
	for i := range 70 {
		many.Recipients = append(many.Recipients, fmt.Sprintf("u%d@%s", i, []string{"example.org", "EXAMPLE.org"}[i%2]))
	}
	s.Record(scan(many), 1)

	r, err := s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T12:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range r.TopDomains(-1) {
		got[d.Name] = fmt.Sprintf("%d/%d spam %d/%d", d.Results, d.Recipients, d.Spam.Results, d.Spam.Recipients)
	}
	want := map[string]string{"example.org": "2/72 spam 1/2", "other.example": "1/1 spam 1/1", "sales.example": "1/2 spam 0/0", "äö.example": "1/2 spam 1/2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("domains %v, want %v", got, want)
	}
	if top := r.TopDomains(1); len(top) != 1 || top[0].Name != "example.org" {
		t.Errorf("top domain %v", top)
	}
	r, err = s.Query(Query{From: ts("2026-11-22T10:00:00Z"), To: ts("2026-11-22T12:00:00Z"), Group: sales.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Domains) != 1 || r.Domains["sales.example"] == nil {
		t.Errorf("group filter: domains %v", r.Domains)
	}

	h := newHour()
	for i := range MaxDomains + 5 {
		h.record(scan(&engine.GroupVerdict{Group: all, Recipients: []string{fmt.Sprintf("x@d%d.example", i)}}), 1)
	}
	if g := h.Groups[all.ID]; len(g.Domains) != MaxDomains || g.OtherDomains.Results != 5 {
		t.Errorf("cap: %d domains, %d other results", len(g.Domains), g.OtherDomains.Results)
	}
}

// FuzzDecodeHour: an hour read back from the file or from another server
// through Redis is outside input: whatever it holds, decoding refuses it or
// gives an hour that merges and adds up without a crash.
func FuzzDecodeHour(f *testing.F) {
	h := newHour()
	h.record(scan(spam(all, 2, "GTUBE"), ham(sales, 1)), 10)
	good, err := json.Marshal(h)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"msgs":1,"groups":{"1":null}}`))
	f.Add([]byte(`{"groups":{"1":{"d":{"example.org":null},"s":{"X":1}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHour(b)
		if err != nil {
			return
		}
		sum := newHour()
		sum.merge(h)
		sum.merge(h)
		r := &Report{Method: map[string]uint64{}, Signs: map[string]uint64{}, Groups: map[uint32]*Group{}, Domains: map[string]*Domain{}}
		r.add(&Point{}, sum, 0)
		r.TopDomains(-1)
	})
}
