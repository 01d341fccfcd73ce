package obscene

import (
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/headers"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func off(s *policy.Settings) { s.Methods.Obscene = false }

func TestGolden(t *testing.T) {
	checktest.Golden(t, []engine.Check{New()}, map[string]checktest.Variant{"": nil, "off": off})
}

func TestMessages(t *testing.T) {
	tests := []struct {
		file, lang string // lang "" = clean
	}{
		{"english.eml", "english"},
		{"english-spaced.eml", "english"},
		{"english-subject.eml", "english"},
		{"russian-koi8r.eml", "russian"},
		{"russian-homoglyph.eml", "russian"},
		{"russian-masked-cp1251.eml", "russian"},
		{"ham-english.eml", ""},
		{"ham-russian.eml", ""},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := checktest.ReadFile(t, "testdata/"+tt.file)
			word, lang := c.Find(message.Parse(raw, message.DefaultLimits))
			if lang != tt.lang {
				t.Fatalf("found %q (%s), want language %q", word, lang, tt.lang)
			}
			gv := checktest.Scan(t, []engine.Check{c}, raw, nil)
			if got := checktest.HasSign(gv, SignName); got != (tt.lang != "") {
				t.Errorf("sign %s = %v, signs %+v", SignName, got, gv.Signs)
			}
			if gv := checktest.Scan(t, []engine.Check{c}, raw, off); len(gv.Signs) != 0 {
				t.Errorf("obscene off: signs %+v", gv.Signs)
			}
		})
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"what the fuck", true},
		{"FUUUUCK", true},
		{"f**k off", true},
		{"f u c k", true},
		{"motherf*cker", true},
		{"@$$hole", true},
		{"sh!t happens", true},
		{"ну и хуйня", true},
		{"бл*дь", true},
		{"pizdec", true},
		{"выебон", true},
		{"Scunthorpe", false},
		{"shiitake mushrooms", false},
		{"cocktail party", false},
		{"assessment", false},
		{"a b c", false},
		{"себе хлеба", false},
		{"небо учеба", false},
		{"документ", false},
		{"страхует оскорблять", false},
		{"иди нахуй", true},
		{"мне похуй", true},
		{"f***", false},                            // no real letters of the word: cannot tell
		{"bokslut och slutlig deklaration", false}, // Swedish "end"
		{"Det är slut på lagret", false},
		{"afslutning af regnskabet", false},
		{"Fukushima and Fukuoka", false},
		{"dirty sluts", true},
		{"fukin idiot", true},
		{"Dear anh.huynh@saigon-stitchworks.vn", false}, // a Vietnamese surname, an address
		{"Huynh Thi Mai", false},
		{"hujnya@xuynya", true},
		{"eto huynya", true},
	}
	l := newLexicon()
	for _, tt := range tests {
		w, _ := l.find(tt.text)
		if got := w != ""; got != tt.want {
			t.Errorf("find(%q) = %q, want found=%v", tt.text, w, tt.want)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	m := message.Parse(checktest.ReadFile(b, "testdata/ham-english.eml"), message.DefaultLimits)
	c := New()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Find(m)
	}
}

// TestSubjectTag: with the policy's obscene tag on, the response the
// clients apply prepends "[--Obscene--]" to the Subject; off, it does not.
func TestSubjectTag(t *testing.T) {
	if SignName != headers.ObsceneSign {
		t.Fatalf("sign %q, the header builder looks for %q", SignName, headers.ObsceneSign)
	}
	raw := checktest.ReadFile(t, "testdata/russian-koi8r.eml")
	for _, tag := range []bool{true, false} {
		v, gv := checktest.ScanVerdict(t, []engine.Check{New()}, raw, func(s *policy.Settings) { s.Methods.ObsceneTag = tag })
		r := headers.Build(v, gv, "pete@example.net")
		if got := strings.Contains(r.SubjectPrefix, "[--Obscene--]"); got != tag {
			t.Errorf("tag %v: subject prefix %q", tag, r.SubjectPrefix)
		}
	}
	v, gv := checktest.ScanVerdict(t, []engine.Check{New()}, checktest.ReadFile(t, "testdata/ham-russian.eml"), func(s *policy.Settings) { s.Methods.ObsceneTag = true })
	if r := headers.Build(v, gv, ""); strings.Contains(r.SubjectPrefix, "Obscene") {
		t.Errorf("clean message tagged: %q", r.SubjectPrefix)
	}
}
