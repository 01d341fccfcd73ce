package rules

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/message"
)

func sample(t testing.TB) *Set {
	t.Helper()
	src, err := os.ReadFile("testdata/sample.rules")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Parse("sample.rules", string(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatchCategories(t *testing.T) {
	s := sample(t)
	cases := []struct {
		name string
		msg  string
		want []string
	}{
		{"drug in subject", "Subject: cheap VIAGRA!!\r\n\r\nhello", []string{"PHARMA_DRUG", "STYLE_SUBJ_BANG"}},
		{"word boundary", "Subject: hi\r\n\r\nour specialist will call", nil},
		{"phrase across line break", "Subject: hi\r\n\r\nget the lowest\r\n   mortgage   rates today", []string{"FIN_MORTGAGE"}},
		{"regex after literal", "Subject: x\r\n\r\nOnline Pharmacy: no doctor's visit needed", []string{"PHARMA_ONLINE"}},
		{"regex money", "Subject: x\r\n\r\nearn $150,000 a year", []string{"FIN_MONEY"}},
		{"url part", "Subject: x\r\n\r\nsee http://192.168.10.1/login now", []string{"PHISH_IP"}},
		{"html part", "Subject: x\r\nContent-Type: text/html\r\n\r\n<font size=7>BIG</font>", []string{"STYLE_FONT"}},
		{"negative rule", "Subject: x\r\n\r\nplease run the test suite", []string{"HAM_PATCH"}},
		{"accents as written", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDie Zollgebühr ist offen", []string{"FIN_FEE"}},
		{"accents left out", "Subject: Zollgebuhr offen\r\n\r\nbitte zahlen", []string{"FIN_FEE"}},
		{"other accents", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFRAIS DE RÉEXPÉDITION", []string{"FIN_FEE"}},
		{"inverted question mark", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n¿Zollgebühr pagada?", []string{"FIN_FEE"}},
		{"guillemets", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nles «frais de réexpédition»", []string{"FIN_FEE"}},
		{"letter joined", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÜberzollgebühr", nil},
		{"nothing", "Subject: lunch\r\n\r\nsee you at noon", nil},
		{"both groups", "Subject: x\r\n\r\nPlease update your entry, then sign and return the form.", []string{"DIR_ENTRY"}},
		{"both groups, across subject and body, by regex", "Subject: correct your listing\r\n\r\nthe form returned signed by Friday", []string{"DIR_ENTRY"}},
		{"Chinese inside a sentence", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本公司长期代开发票，项目齐全", []string{"CJK_INVOICE"}},
		{"Japanese inside a sentence", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n人気ブランドのスーパーコピー激安", []string{"CJK_INVOICE"}},
		{"a Latin word among Chinese", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n便宜的viagra在这里", []string{"PHARMA_DRUG"}},
		{"one group only", "Subject: x\r\n\r\nPlease sign and return the contract.", nil},
		{"the other group only", "Subject: x\r\n\r\nYou can update your entry online.", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range s.Match(message.Parse([]byte(c.msg), message.DefaultLimits)) {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	cats := map[string]string{}
	for _, r := range s.Rules() {
		cats[r.Name] = r.Category
	}
	if cats["PHARMA_ONLINE"] != "pharma" || cats["FIN_MONEY"] != "finance" || cats["PHISH_IP"] != "phishing" {
		t.Errorf("categories: %v", cats)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Hello\r\n  World", "hello world"},
		{"Gebühr für Sie", "gebuhr fur sie"},
		{"STRAßE", "strasse"},
		{"Łódź, Øresund, Æsir", "lodz, oresund, aesir"},
		{"votre colis n’a pas", "votre colis n'a pas"},
		{"Ÿ ÿ × ÷", "y y × ÷"},
		{"Привет\u00a0мир", "привет мир"},
		{"ΤΡΑΠΕΖΑ ΠΕΙΡΑΙΩΣ, Τράπεζα Πειραιώς", "τραπεζα πειραιωσ, τραπεζα πειραιωσ"},
		{"Ϊ ΐ ϋ ΰ Ώ", "ι ι υ υ ω"},
		{"تم إيقاف البطاقة مؤقتاً، مصطفى", "تم ايقاف البطاقة مؤقتا، مصطفي"},
		{"أهلاً وسهلاً بكـــم", "اهلا وسهلا بكم"},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseDuplicatePhrase(t *testing.T) {
	rs, err := Parse("dup.rules", "[c]\nR_X 1 body: Gebühr | gebuhr | fee -- d")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gebuhr", "fee"}; !slices.Equal(rs[0].Phrases, want) {
		t.Errorf("phrases %q, want %q", rs[0].Phrases, want)
	}
}

// TestParseGroups: "&&" starts a group; a phrase may repeat in another
// group, not in its own.
func TestParseGroups(t *testing.T) {
	rs, err := Parse("g.rules", "[c]\nR_X 1 text: abc | /dddd+e/ && abc | xyz&&ab -- d")
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Groups != 3 || !slices.Equal(r.Phrases, []string{"abc", "abc", "xyz", "ab"}) ||
		!slices.Equal(r.PhraseGroup, []int{0, 1, 1, 2}) || !slices.Equal(r.RegexpGroup, []int{0}) {
		t.Errorf("groups %d, phrases %q in %v, regexps in %v", r.Groups, r.Phrases, r.PhraseGroup, r.RegexpGroup)
	}
}

// TestBands: each pattern sits in its script band's automaton and is found
// in texts that mix scripts; a pattern that mixes them goes to the highest.
func TestBands(t *testing.T) {
	for _, tc := range []struct {
		s    string
		band int
	}{
		{"paid daily", 0}, {"täglich", 0}, {"ежедневно", 0}, {"€ 250 – “now”", 0},
		{"בנק הפועלים", 1}, {"إيداع", 1}, {"บาท/วัน", 1}, {"वीजपुरवठा", 1}, {"lợi nhuận", 1},
		{"日結", 2}, {"🎁 gift", 2}, {"LINE ID 日結", 2},
	} {
		if got := highestBand(tc.s); got != tc.band {
			t.Errorf("band of %q: %d, want %d", tc.s, got, tc.band)
		}
	}
	rs, err := Parse("b.rules", "[c]\nR_LATIN 1 body: paid daily -- d\nR_HEBREW 1 body: אין צורך בניסיון -- d\nR_THAI 1 body: ไม่ต้องมีประสบการณ์ && บาท/วัน -- d\nR_CJK 1 body: 日結 -- d\nR_MIXED 1 body: whatsapp בלבד -- d")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"paid daily 🎁 אין צורך בניסיון", []string{"R_LATIN", "R_HEBREW"}},
		{"งานเสริม ไม่ต้องมีประสบการณ์ รายได้ 800 บาท/วัน, paid daily", []string{"R_LATIN", "R_THAI"}},
		{"兼職 日結 LINE", []string{"R_CJK"}},
		{"פנו בוואטסאפ: whatsapp בלבד", []string{"R_MIXED"}},
		{"paid weekly", nil},
	} {
		var tx Texts
		tx[PartBody] = Normalize(tc.text)
		var got []string
		for _, r := range set.MatchTexts(&tx) {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestWaitingRegex: the regexes of a rule of several groups run after
// the scan, and the rule fires exactly when each group matched, in the
// subject or the body, whether its alternatives are phrases or regexes.
func TestWaitingRegex(t *testing.T) {
	rs, err := Parse("w.rules", `[c]
R_W 1 text: /i am \d\d years/ | /ich bin \d\d jahre/ && found your email | /dein (profil|foto)/ -- d`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		subject, body string
		want          bool
	}{
		{"", "hello, i am 29 years old and i found your email on a site", true},
		{"ich bin 34 jahre alt", "dein profil hat mich beruhrt", true},
		{"found your email", "i am 31 years old", true},
		{"", "i am 29 years old and live in kazan", false},
		{"", "i found your email, i am twenty", false},
		{"", "i am here. dein profil", false},
	} {
		var tx Texts
		tx[PartSubject], tx[PartBody] = tc.subject, tc.body
		if got := len(s.MatchTexts(&tx)) == 1; got != tc.want {
			t.Errorf("%q / %q: %v, want %v", tc.subject, tc.body, got, tc.want)
		}
	}
}

// TestEightGroups: a rule of the most groups fires when each matches,
// and not when one does not.
func TestEightGroups(t *testing.T) {
	rs, err := Parse("g.rules", "[c]\nR_X 1 body: one && two && three && four && five && six && seven && /eigh+t/ -- d")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	all := "one two three four five six seven eight"
	for _, tc := range []struct {
		text string
		want bool
	}{
		{all, true},
		{strings.Replace(all, "seven", "", 1), false},
		{strings.Replace(all, "eight", "", 1), false},
		{strings.Replace(all, "one", "", 1), false},
	} {
		var tx Texts
		tx[PartBody] = tc.text
		if got := len(s.MatchTexts(&tx)) == 1; got != tc.want {
			t.Errorf("%q: %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestParseNotTo: the country-code domains a rule does not count for.
func TestParseNotTo(t *testing.T) {
	rs, err := Parse("t.rules", "[scam]\nR_X 0.7 text not-to=ng,gh: nigeria | ghana -- d\nR_Y 1 text: abc -- d")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rs[0].NotTo, []string{"ng", "gh"}) || rs[1].NotTo != nil {
		t.Errorf("NotTo = %q and %q, want [ng gh] and none", rs[0].NotTo, rs[1].NotTo)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"R_X 1 body: a b -- d", "before any [category]"},
		{"[Bad Cat]\n", "bad category header"},
		{"[c]\nlower 1 body: abc -- d", "bad rule name"},
		{"[c]\nR_X one body: abc -- d", "bad score"},
		{"[c]\nR_X 1 nowhere: abc -- d", "unknown part"},
		{"[c]\nR_X 1 body: abc", "missing ' -- description'"},
		{"[c]\nR_X 1 body: /a(/ -- d", "missing closing )"},
		{"[c]\nR_X 1 body: /abc -- d", "unterminated"},
		{"[c]\nR_X 1 body: abc | -- d", "empty alternative"},
		{"[c]\nR_X 1 body: a -- d", "too short"},
		{"[c]\nR_X 1 body: abc -- d\nR_X 1 body: abd -- d", "already defined on line 2"},
		{"[c]\nR_X 1 body abc -- d", "missing ':'"},
		{"[c]\nR_X 1 body: abc && -- d", "empty alternative after '&&'"},
		{"[c]\nR_X 1 body: && abc -- d", "empty alternative before \"&&\""},
		{"[c]\nR_X 1 body: abc | && def -- d", "empty alternative before \"&&\""},
		{"[c]\nR_X 1 body: ab && cd && ef && gh && ij && kl && mn && op && qr -- d", "more than 8 groups"},
		{"[c]\nR_X 1 text not-to=gha: abc -- d", "want not-to= and two-letter country codes"},
		{"[c]\nR_X 1 text except=gh: abc -- d", "want not-to= and two-letter country codes"},
		{"[c]\nR_X 1 text not-to=gh extra: abc -- d", "want NAME SCORE PART [not-to=CC,...]"},
	}
	for _, c := range cases {
		_, err := Parse("t.rules", c.src)
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "t.rules:") {
			t.Errorf("%q: error lacks file:line: %v", c.src, err)
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		// Alternatives multiply out with what is fixed around them.
		{`no (doctor|physician) visit`, []string{"no doctor visit", "no physician visit"}},
		{`\$[0-9]+,000 a year`, []string{",000 a year"}},
		{`https?://[0-9]+`, []string{"http://", "https://"}},
		{`[a-z]+`, nil},
		{`(ab|cdef)x`, []string{"abx", "cdefx"}},
		{`viagra`, []string{"viagra"}},
		// What the parser factors ("eur(?:o)? ?250") is seen through, so
		// the amounts are the literals, not the bare number.
		{`(eur|euro|chf) ?250\b.*trading`, []string{"chf 250", "chf250", "eur 250", "eur250", "euro 250", "euro250"}},
		// Too many strings to list: the longest fixed part instead.
		{`[a-z][a-z][a-z]-invoice`, []string{"-invoice"}},
	}
	for _, c := range cases {
		if got := requiredLiterals(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.expr, got, c.want)
		}
	}
}

// The automaton must find exactly what a naive search finds.
// TestRequiredLiteralsSound: whatever text a regular expression matches
// holds one of its literals, or the pre-filter would hide matches. Random
// expressions over a small alphabet (alternatives, options, classes,
// repeats, boundaries) against random texts over the same alphabet.
func TestRequiredLiteralsSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	atoms := []string{"a", "b", "ab", "abc", "ba ", " ", "[ab]", "[a-c]", "c?", "(a|bc)", "(ab|abc|b)", `\b`, ".", "a+", "(b|)", "[.,]"}
	letters := "abc .,"
	tried, checked := 0, 0
	for range 3000 {
		var expr strings.Builder
		for range 1 + rng.IntN(6) {
			expr.WriteString(atoms[rng.IntN(len(atoms))])
		}
		if rng.IntN(4) == 0 {
			expr.WriteString("|" + atoms[rng.IntN(len(atoms))] + atoms[rng.IntN(len(atoms))])
		}
		lits := requiredLiterals(expr.String())
		if lits == nil {
			continue
		}
		re := regexp.MustCompile("(?i)" + expr.String())
		tried++
		for range 200 {
			b := make([]byte, rng.IntN(12))
			for i := range b {
				b[i] = letters[rng.IntN(len(letters))]
			}
			text := string(b)
			if !re.MatchString(text) {
				continue
			}
			checked++
			if !slices.ContainsFunc(lits, func(l string) bool { return strings.Contains(text, l) }) {
				t.Fatalf("%q matches %q, which holds none of its literals %q", expr.String(), text, lits)
			}
		}
	}
	if tried < 100 || checked < 1000 {
		t.Fatalf("only %d expressions with literals and %d matches checked", tried, checked)
	}
}

func TestMatcherAgainstNaive(t *testing.T) {
	pats := []string{"he", "she", "his", "hers", "a", "aa", "aaa", "abc", "bca", "c"}
	m := newMatcher(pats)
	texts := []string{"ushers", "aaaa", "abcabca", "", "xyz", "shehishers"}
	for _, text := range texts {
		var got []string
		m.scan(text, func(id, end int) bool {
			got = append(got, pats[id]+"@"+string(rune('0'+end)))
			return true
		})
		var want []string
		for end := 1; end <= len(text); end++ {
			for _, p := range pats {
				if strings.HasSuffix(text[:end], p) {
					want = append(want, p+"@"+string(rune('0'+end)))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", text, got, want)
		}
	}
}

// TestMatcherRandom: automatons of random patterns over a small alphabet
// (many states deeper than denseDepth, long failure chains) find what a
// naive search finds in random texts.
func TestMatcherRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	word := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	deep := 0
	for round := range 200 {
		var pats []string
		for range 1 + rnd.IntN(60) {
			pats = append(pats, word("abc", 1+rnd.IntN(12)))
		}
		m := newMatcher(pats)
		deep += len(m.fail)
		for range 5 {
			text := word("abcd", rnd.IntN(300))
			var got []string
			m.scan(text, func(id, end int) bool {
				got = append(got, fmt.Sprintf("%d@%d", id, end))
				return true
			})
			var want []string
			for end := 1; end <= len(text); end++ {
				for id, p := range pats {
					if strings.HasSuffix(text[:end], p) {
						want = append(want, fmt.Sprintf("%d@%d", id, end))
					}
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, patterns %q, text %q:\n got %v\nwant %v", round, pats, text, got, want)
			}
		}
	}
	if deep < 1000 {
		t.Fatalf("only %d states deeper than the dense rows were tried", deep)
	}
}

func FuzzParse(f *testing.F) {
	src, _ := os.ReadFile("testdata/sample.rules")
	f.Add(string(src))
	f.Add("[c]\nR_X 1 body: /a|b/ | c d -- x")
	f.Add("[c]\nR_Y 1 text: /(eur|euro|chf) ?250\\b.*(trading|[.,] )/ -- y")
	f.Add("[c]\nR_Z 1 text: ab | /cde+/ && fg&&hi | jk -- z")
	f.Fuzz(func(t *testing.T, src string) {
		rs, err := Parse("f.rules", src)
		if err != nil {
			return
		}
		s, err := Compile(rs)
		if err != nil {
			t.Fatalf("parsed rules do not compile: %v", err)
		}
		s.MatchTexts(&Texts{PartBody: Normalize(src), PartText: Normalize(src)})
	})
}

func BenchmarkMatch(b *testing.B) {
	s := sample(b)
	m := message.Parse([]byte("Subject: hello\r\n\r\n"+strings.Repeat("some ordinary words about the project and online pharmacy ", 100)), message.DefaultLimits)
	b.ResetTimer()
	for b.Loop() {
		s.Match(m)
	}
}

// BenchmarkMatchShipped: the shipped rules (updater/db-src/rules) on the
// texts of the held-out mail of server/engine/testdata, every message once
// per op; "scan" is the automatons' pass alone. It reports the heap the
// compiled set holds.
func BenchmarkMatchShipped(b *testing.B) {
	files, _ := filepath.Glob("../../updater/db-src/rules/*.rules")
	var rs []Rule
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Parse(filepath.Base(f), string(src))
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r...)
	}
	mails, _ := filepath.Glob("../engine/testdata/heldout*/*/*.eml")
	if len(rs) == 0 || len(mails) == 0 {
		b.Skip("no shipped rules or held-out mail")
	}
	var texts []*Texts
	for _, f := range mails {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, TextsOf(message.Parse(raw, message.DefaultLimits)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Compile(rs)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	b.Run("match", func(b *testing.B) {
		for b.Loop() {
			for _, t := range texts {
				s.MatchTexts(t)
			}
		}
		b.ReportMetric(heap, "MiB-set")
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			for _, t := range texts {
				for _, a := range s.parts[PartBody].bands {
					a.ac.scan(t[PartBody], func(int, int) bool { return true })
				}
			}
		}
	})
	runtime.KeepAlive(s)
}
