package replies

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/scilla-mail/scilla/server/shared/sharedtest"
)

func TestIDs(t *testing.T) {
	many := ""
	for i := range 12 {
		many += " <m" + string(rune('a'+i)) + "@x.example>"
	}
	for _, tc := range []struct {
		name   string
		values []string
		want   []string
	}{
		{"one", []string{"<Abc.123@Mail.Example.COM>"}, []string{"abc.123@mail.example.com"}},
		{"references and in-reply-to", []string{"<a@x> <b@x>\r\n <c@x>", "<c@x>"}, []string{"a@x", "b@x", "c@x", "c@x"}},
		{"comments and junk", []string{"(a reply) <a@x> garbage <> <no-at> <b@x"}, []string{"a@x"}},
		{"empty", []string{"", "   "}, nil},
		{"the newest ten", []string{many}, []string{"mc@x.example", "md@x.example", "me@x.example", "mf@x.example",
			"mg@x.example", "mh@x.example", "mi@x.example", "mj@x.example", "mk@x.example", "ml@x.example"}},
	} {
		if got := IDs(tc.values...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: IDs = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzIDs: any header value, without a panic; every id found has an @ and
// no brackets.
func FuzzIDs(f *testing.F) {
	f.Add("<a@b> <c@d>")
	f.Add("<<>@>><@")
	f.Fuzz(func(t *testing.T, v string) {
		for _, id := range IDs(v) {
			if id == "" || slices.Contains([]byte(id), '>') {
				t.Fatalf("IDs(%q) gave %q", v, id)
			}
		}
	})
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestLocal: a remembered id is known, in any case and with or without
// brackets, until it expires; it survives a restart; expired ids are
// dropped from the file. Domains written to live longer.
func TestLocal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replies.db")
	c := &clock{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	s, err := OpenLocal(path, 48*time.Hour, 96*time.Hour, c.now)
	if err != nil {
		t.Fatal(err)
	}
	known := func(s Store, ids ...string) bool {
		t.Helper()
		ok, err := s.Known(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if err := s.Remember(ctx, "<Quote-42@Mail.Example.ORG>"); err != nil {
		t.Fatal(err)
	}
	if !known(s, "nothing@x", "quote-42@mail.example.org") || known(s, "quote-43@mail.example.org") || known(s) {
		t.Fatal("lookup after Remember is wrong")
	}
	knownName := func(s Store, name string) bool {
		t.Helper()
		ok, err := s.KnownName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Several names go in one write; what is not a name is left out.
	if err := s.RememberNames(ctx, "Jan Kowalski", "Ewa Lis", "Jan Kowalski", "Buchhaltung"); err != nil {
		t.Fatal(err)
	}
	// Ids and names are apart: a name is not an id, nor an id a name.
	if !knownName(s, "KOWALSKI, Jan") || !knownName(s, "Ewa Lis") || knownName(s, "Buchhaltung") || knownName(s, "Anna Kowalska") ||
		known(s, "Jan Kowalski") || knownName(s, "quote-42@mail.example.org") {
		t.Fatal("name lookup after RememberNames is wrong")
	}
	imitates := func(s Store, domain string) bool { t.Helper(); return lookUp(t, s, domain).Imitates }
	stranger := func(s Store, domain string) bool { t.Helper(); return lookUp(t, s, domain).Stranger }
	if stranger(s, "example.org") {
		t.Fatal("a store that learnt no domain calls a sender a stranger")
	}
	if err := s.RememberDomains(ctx, "mail.frenosnorte.es", "vardutilts.lv"); err != nil {
		t.Fatal(err)
	}
	if !imitates(s, "frenos-norte.com") || !imitates(s, "vardutilts-lv.com") || imitates(s, "frenosnorte.es") || imitates(s, "example.org") {
		t.Fatal("look-alike lookup after RememberDomains is wrong")
	}
	if !stranger(s, "frenos-norte.com") || !stranger(s, "example.org") || stranger(s, "frenosnorte.de") || stranger(s, "www.vardutilts.lv") {
		t.Fatal("first-contact lookup after RememberDomains is wrong")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	c.t = c.t.Add(47 * time.Hour)
	if s, err = OpenLocal(path, 48*time.Hour, 96*time.Hour, c.now); err != nil {
		t.Fatal(err)
	}
	if !known(s, "QUOTE-42@mail.example.org") || !knownName(s, "jan kowalski") {
		t.Fatal("id or name lost over a restart")
	}
	c.t = c.t.Add(2 * time.Hour)
	if known(s, "quote-42@mail.example.org") || knownName(s, "jan kowalski") {
		t.Fatal("id or name known after its ttl")
	}
	if !imitates(s, "frenos-norte.com") {
		t.Fatal("domain forgotten before its ttl")
	}
	// The next Remember drops the expired id from the file.
	if err := s.Remember(ctx, "<new@mail.example.org>"); err != nil {
		t.Fatal(err)
	}
	n, names := 0, 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(sentBucket).Stats().KeyN
		names = tx.Bucket(namesBucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 || names != 0 {
		t.Errorf("%d ids and %d names in the file, want 1 and 0 (the expired ones dropped)", n, names)
	}
	c.t = c.t.Add(48 * time.Hour)
	if imitates(s, "frenos-norte.com") {
		t.Error("domain known after its ttl")
	}
	if stranger(s, "example.org") {
		t.Error("a stranger after every domain expired")
	}
	s.Close()
}

// TestStrangerExpiry: a domain written to later than the first keeps the
// store's knowledge alive as long as it lives: its sender is no stranger
// until it expires, then the store knows nothing and calls nobody one.
func TestStrangerExpiry(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	s, err := OpenLocal(filepath.Join(t.TempDir(), "replies.db"), time.Hour, 100*time.Hour, c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stranger := func(domain string) bool { t.Helper(); return lookUp(t, s, domain).Stranger }
	if err := s.RememberDomains(ctx, "frenosnorte.es"); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(30 * time.Hour)
	if err := s.RememberDomains(ctx, "vardutilts.lv"); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(80 * time.Hour) // the first domain expired, the second lives
	if stranger("vardutilts.lv") || !stranger("frenosnorte.es") {
		t.Error("after the first domain expired: wrong answer")
	}
	c.t = c.t.Add(30 * time.Hour) // both expired
	if stranger("vardutilts.lv") || stranger("frenosnorte.es") {
		t.Error("a store that knows no domain any more calls a sender a stranger")
	}
}

// TestLocalNameRefresh: a name remembered again within half its time to
// live is left as it was (no write); later, its time starts anew.
func TestLocalNameRefresh(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &clock{start}
	s, err := OpenLocal(filepath.Join(t.TempDir(), "replies.db"), 48*time.Hour, 96*time.Hour, c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	expiry := func() time.Time {
		t.Helper()
		var exp time.Time
		d := digest(nameKey("Jan Kowalski"))
		if err := s.db.View(func(tx *bolt.Tx) error {
			if v := tx.Bucket(namesBucket).Get(d[:]); len(v) == 8 {
				exp = time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC()
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return exp
	}
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration // expiry after start
	}{
		{0, 48 * time.Hour},
		{10 * time.Hour, 48 * time.Hour},
		{23 * time.Hour, 48 * time.Hour},
		{30 * time.Hour, 78 * time.Hour},
	} {
		c.t = start.Add(tc.at)
		if err := s.RememberNames(ctx, "Jan Kowalski"); err != nil {
			t.Fatal(err)
		}
		if got := expiry(); !got.Equal(start.Add(tc.want)) {
			t.Errorf("remembered again after %s: expires %s, want %s", tc.at, got, start.Add(tc.want))
		}
	}
}

// TestShared: two servers on one Redis: what one remembers the other
// knows, and Redis expires it.
func TestShared(t *testing.T) {
	srv := sharedtest.Start(t)
	ctx := context.Background()
	ca, cb := srv.Client(t), srv.Client(t)
	a, b := NewShared(ca, time.Hour, time.Hour), NewShared(cb, time.Hour, time.Hour)
	if err := a.Remember(ctx, "<offer-7@example.net>"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ids  []string
		want bool
	}{
		{[]string{"x@y", "OFFER-7@example.net"}, true},
		{[]string{"offer-8@example.net"}, false},
		{nil, false},
	} {
		got, err := b.Known(ctx, tc.ids)
		if err != nil || got != tc.want {
			t.Errorf("Known(%q) = %v, %v; want %v", tc.ids, got, err, tc.want)
		}
	}
	if err := a.RememberNames(ctx, "Anna Nowak", "Piotr Zieliński", "Buchhaltung"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"nowak anna": true, "Piotr Zielinski": true, "Buchhaltung": false, "Anna Nowakowska": false, "offer-7@example.net": false} {
		if got, err := b.KnownName(ctx, nameKey(name)); err != nil || got != want {
			t.Errorf("KnownName(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if got := lookUp(t, b, "example.org"); got.Stranger {
		t.Errorf("Senders before any domain was written to = %+v; want no stranger", got)
	}
	if err := a.RememberDomains(ctx, "frenosnorte.es"); err != nil {
		t.Fatal(err)
	}
	// Both stores answer alike: the same look-ups against a local file.
	l, err := OpenLocal(filepath.Join(t.TempDir(), "replies.db"), time.Hour, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.RememberDomains(ctx, "frenosnorte.es", "hollerer.at"); err != nil {
		t.Fatal(err)
	}
	if err := a.RememberDomains(ctx, "hollerer.at"); err != nil {
		t.Fatal(err)
	}
	domains := []string{"frenos-norte.es", "frenosnorte-es.com", "frenosnorte.es", "frenosnorte.pt", "mail.frenosnorte.es",
		"example.org", "", "hollerer.co", "h0llerer.at"}
	want := []Sender{{true, true}, {true, true}, {}, {}, {}, {false, true}, {}, {true, false}, {true, true}}
	trips := &roundTrips{}
	cb.Redis().AddHook(trips)
	for name, s := range map[string]Store{"shared": b, "local": l} {
		got, err := s.Senders(ctx, domains)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: Senders(%q) = %+v, %v; want %+v", name, domains, got, err, want)
		}
	}
	if trips.n.Load() != 1 {
		t.Errorf("Senders of %d domains took %d round trips to Redis, want 1", len(domains), trips.n.Load())
	}
	ttl, err := cb.Redis().TTL(ctx, b.key("sent", "offer-7@example.net")).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("key ttl %v, %v; want within an hour", ttl, err)
	}
}

// FuzzNameKey: any display name gives a key or none, and a key is its
// own key: names are compared in one form.
func FuzzNameKey(f *testing.F) {
	f.Add("Kowalski, Jan")
	f.Add("=?utf-8?q?x?= Ma\u00eblle  O'Neill-Tremblay")
	f.Fuzz(func(t *testing.T, name string) {
		if k := nameKey(name); k != "" && nameKey(k) != k {
			t.Errorf("nameKey(%q) = %q, whose key is %q", name, k, nameKey(k))
		}
	})
}

func TestNameKey(t *testing.T) {
	cases := []struct{ name, want string }{
		{"Jan Kowalski", "jan kowalski"},
		{"KOWALSKI, Jan", "jan kowalski"},
		{"  Maëlle   Tremblay ", "maelle tremblay"},
		{"Sophie Van den Broeck", "broeck den sophie van"},
		{"Jean-Luc O'Neill", "jean-luc o'neill"},
		{"Dr. Katharina Berger", "berger katharina"},
		{"Dott.ssa Giulia Neri", "giulia neri"},
		{"mgr inż. Jan Nowak", "jan nowak"},
		{"Dr. Berger", ""},                    // a title and one name
		{"Anna K.", ""},                       // one full word
		{"Buchhaltung", ""},                   // a role, one word
		{"jan.kowalski@example.pl", ""},       // an address
		{"Jan Kowalski (jan@example.pl)", ""}, // an address in the name
		{"A B C D E F", ""},                   // no words of two letters
		{"one two three four five six", ""},   // a sentence, not a name
		{"김도현", "김도현"},                        // a Korean name is written as one word
		{"王小明", "王小明"},
		{"김", ""},       // a family name alone
		{"대한민국국세청", ""}, // longer than a name
		{"", ""},
	}
	for _, c := range cases {
		if got := nameKey(c.name); got != c.want {
			t.Errorf("nameKey(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("default config: %v", errs)
	}
	c.TTL, c.File = 0, ""
	if errs := c.Validate(); len(errs) != 2 {
		t.Errorf("ttl 0 and no file: %v, want two errors", errs)
	}
}

// roundTrips counts the commands and pipelines a Redis client sends.
type roundTrips struct{ n atomic.Int32 }

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// lookUp returns what s says of one sender domain.
func lookUp(t *testing.T, s Store, domain string) Sender {
	t.Helper()
	got, err := s.Senders(context.Background(), []string{domain})
	if err != nil || len(got) != 1 {
		t.Fatalf("Senders(%q) = %v, %v", domain, got, err)
	}
	return got[0]
}

// BenchmarkSenders: the look-up a scan makes for a message's sender
// domains, in a store that remembers 5,000 domains written to: one that
// imitates one of them, one users write to.
func BenchmarkSenders(b *testing.B) {
	ctx := context.Background()
	s, err := OpenLocal(filepath.Join(b.TempDir(), "replies.db"), time.Hour, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 5000 {
		if err := s.RememberDomains(ctx, fmt.Sprintf("supplier%04dgroup.example", i)); err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range []string{"supp1ier0042group.example", "supplier0042group.example"} {
		b.Run(d, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Senders(ctx, []string{d}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
