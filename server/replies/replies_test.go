package replies

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
// dropped from the file.
func TestLocal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replies.db")
	c := &clock{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	s, err := OpenLocal(path, 48*time.Hour, c.now)
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
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	c.t = c.t.Add(47 * time.Hour)
	if s, err = OpenLocal(path, 48*time.Hour, c.now); err != nil {
		t.Fatal(err)
	}
	if !known(s, "QUOTE-42@mail.example.org") {
		t.Fatal("id lost over a restart")
	}
	c.t = c.t.Add(2 * time.Hour)
	if known(s, "quote-42@mail.example.org") {
		t.Fatal("id known after its ttl")
	}
	// The next Remember drops the expired id from the file.
	if err := s.Remember(ctx, "<new@mail.example.org>"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(sentBucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d ids in the file, want 1 (the expired one dropped)", n)
	}
	s.Close()
}

// TestShared: two servers on one Redis: what one remembers the other
// knows, and Redis expires it.
func TestShared(t *testing.T) {
	srv := sharedtest.Start(t)
	ctx := context.Background()
	ca, cb := srv.Client(t), srv.Client(t)
	a, b := NewShared(ca, time.Hour), NewShared(cb, time.Hour)
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
	ttl, err := cb.Redis().TTL(ctx, b.key("offer-7@example.net")).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("key ttl %v, %v; want within an hour", ttl, err)
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
