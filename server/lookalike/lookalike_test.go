package lookalike

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// related is the relation Keys and Probes must encode, for a sender's
// domain a and a kept domain b under different labels.
func related(a, b string) bool {
	regB, lb := split(b)
	_, la := split(a)
	if la == "" || lb == "" {
		return false
	}
	if la == lb {
		return CoSwapped(a, b)
	}
	ska, skb := Skeleton(la), Skeleton(lb)
	return len(lb) >= minKept && (Same(la, ska, lb, skb) || Suffixed(la, lb, regB)) || OneLetterApart(ska, skb)
}

// matches reports what a store holding b's keys answers for sender a.
func matches(a, b string) bool {
	keys := Keys(b)
	own, probes := Probes(a)
	if own == "" {
		return false
	}
	if slices.Contains(keys, own) {
		swap, self := CoProbes(a)
		return swap != "" && slices.Contains(keys, swap) && !slices.Contains(keys, self)
	}
	return slices.ContainsFunc(probes, func(p string) bool { return slices.Contains(keys, p) })
}

func TestKeysProbes(t *testing.T) {
	for _, c := range []struct {
		sender, kept string
		want         bool
	}{
		{"frenos-norte.es", "frenosnorte.es", true},              // hyphen added
		{"midwestpalletsupply.com", "midwest-pallet.com", false}, // other words
		{"lakeshoredentalstudlo.ca", "lakeshoredentalstudio.ca", true},
		{"sciotovalleyplumblng.com", "sciotovalleyplumbing.com", true},
		{"vardutilts-lv.com", "vardutilts.lv", true},                 // own suffix hyphened on
		{"techlinkdist-sg.com", "techlinkdist.com.sg", true},         // the last label of a two-label suffix
		{"mekong-botanicals.com", "mekongbotanicals.vn", true},       // hyphen, another suffix
		{"vrachtlijn-logistlcs.nl", "vrachtlijn-logistics.de", true}, // i for l
		{"southgatecyclesparts.com", "southgatecycleparts.com.au", true},
		{"southgatecyclepart.com", "southgatecycleparts.com.au", false}, // a plural's s
		{"sourcingtechnoiogy.com", "sourcingtechnology.com", true},
		{"trasnportgroup.com", "transportgroup.com", true}, // swap
		{"transportgroup.de", "transportgroup.com", false}, // sister domain
		{"transportgroup.co", "transportgroup.com", true},  // .co for .com
		{"hollerer-moebel.co", "hollerer-moebel.at", true},
		{"transportgroup.com", "transportgroup.co", false},
		{"mail.transportgroup.co", "transportgroup.co.uk", true},
		{"andinaindustrial.co", "andinaindustrial.com.co", false}, // a Colombian company's sister
		{"ninjavan.co", "ninjavan.co", false},
		{"acme.co", "acme.com", false}, // short names are left out
		{"mail.transportgroup.com", "transportgroup.com", false},
		{"ambre.fr", "amber.de", false}, // short names are left out
		{"lumen-fondation.be", "lumen-foundation.be", true},
		{"mueller-bau.de", "muller-bau.de", false}, // ue for ü
		{"acme-news.com", "acme.com", false},
		{"exarnple-partners.com", "example-partners.com", true},
		{"", "example.com", false},
		{"example.com", "", false},
		{"com", "example.com", false},
	} {
		if got := matches(c.sender, c.kept); got != c.want {
			t.Errorf("%s for kept %s: %v, want %v", c.sender, c.kept, got, c.want)
		}
		if got := related(c.sender, c.kept); got != c.want {
			t.Errorf("relation %s ~ %s: %v, want %v (the table is wrong)", c.sender, c.kept, got, c.want)
		}
	}
}

// TestKeysProbesAgree: on random names and the look-alikes made from them
// (a letter replaced, swapped, dropped or added, a hyphen, the suffix
// hyphened on), the store's answer is the relation's.
func TestKeysProbesAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	letters := "abcdefghijklmnopqrstuvwxyz01-"
	suffixes := []string{"com", "de", "co.uk", "com.au", "nl", "es", "co", "com.co"}
	word := func() string {
		b := make([]byte, 4+r.IntN(12))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]
		}
		return string(b)
	}
	mutate := func(s string) string {
		b := []byte(s)
		i := r.IntN(len(b))
		switch r.IntN(7) {
		case 0:
			b[i] = letters[r.IntN(len(letters))]
		case 1:
			if i+1 < len(b) {
				b[i], b[i+1] = b[i+1], b[i]
			}
		case 2:
			b = append(b[:i], b[i+1:]...)
		case 3:
			b = append(b[:i], append([]byte{letters[r.IntN(len(letters))]}, b[i:]...)...)
		case 4:
			b = append(b[:i], append([]byte{'-'}, b[i:]...)...)
		case 5:
			return s + "-" + suffixes[r.IntN(len(suffixes))]
		case 6:
			return s // under another suffix, maybe .co
		}
		return string(b)
	}
	hits := 0
	for range 20000 {
		kept := word() + "." + suffixes[r.IntN(len(suffixes))]
		label, _, _ := strings.Cut(kept, ".")
		sender := mutate(label) + "." + suffixes[r.IntN(len(suffixes))]
		got, want := matches(sender, kept), related(sender, kept)
		if got != want {
			t.Fatalf("%s for kept %s: store says %v, relation %v", sender, kept, got, want)
		}
		if got {
			hits++
		}
	}
	if hits < 1000 {
		t.Errorf("only %d look-alikes among the mutations", hits)
	}
}

// FuzzKeysProbes: any two domains, without a panic, and the store's answer
// is the relation's.
func FuzzKeysProbes(f *testing.F) {
	f.Add("frenos-norte.es", "frenosnorte.es")
	f.Add("xn--pple-43d.com", "apple.com")
	f.Add("a.b\xff", "xn--.com")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := matches(a, b), related(a, b); got != want {
			t.Errorf("%q for kept %q: store says %v, relation %v", a, b, got, want)
		}
	})
}

// TestPluralApart: a final "s" more or less on a long enough name.
func TestPluralApart(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"morel-vasseur-avocat", "morel-vasseur-avocats", true},
		{"northwind-traders", "northwind-trader", true},
		{"acmeslogistic", "acmelogistic", false},
		{"tools", "tool", false},
		{"morel-vasseur-avocats", "morel-vasseur-avocats", false},
	} {
		if got := PluralApart(tc.a, tc.b); got != tc.want {
			t.Errorf("PluralApart(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
