// Package eastern implements the Eastern-encodings policy: it recognises
// Chinese, Japanese, Korean and Thai mail by the script of its text and by
// the charsets it declares, and scores each language the group's policy
// calls suspicious (policy.Methods.EasternSuspicious; suspicious unless set
// to allowed). It does not judge the content; a language that is allowed
// adds nothing.
package eastern

import (
	"context"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
)

// Languages are the policy names of the Eastern languages.
var Languages = []string{"chinese", "japanese", "korean", "thai"}

// Scores: text in the script is a strong sign; a declared charset over
// text that is mostly something else (an empty or image-only body) a weak one.
const (
	ScriptScore  = 3.0
	CharsetScore = 1.0
	// maxScan bounds the runes of text examined.
	maxScan = 64 << 10
)

// Check applies the Eastern-encodings policy.
type Check struct{}

// New returns the Eastern-encodings check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "eastern" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	methods := &in.Group.Settings.Methods
	var res engine.Result
	d := Detect(in.Msg)
	for _, lang := range Languages {
		if !methods.EasternSuspicious(lang) {
			continue
		}
		sign := "EASTERN_" + upper(lang)
		switch {
		case d.Script[lang]:
			res.Signs = append(res.Signs, engine.Sign{Name: sign, Score: ScriptScore, Desc: title(lang) + " text", Method: "content"})
		case d.Charset[lang]:
			res.Signs = append(res.Signs, engine.Sign{Name: sign + "_CHARSET", Score: CharsetScore, Desc: title(lang) + " charset declared", Method: "content"})
		}
	}
	return res, nil
}

// Detection is what Detect found, by language.
type Detection struct {
	// Script is true when a real share of the text is in the language's script.
	Script map[string]bool
	// Charset is true when the message declares one of its charsets.
	Charset map[string]bool
}

// charsetLang maps canonical charset names (message.Message.Charsets) to languages.
var charsetLang = map[string]string{
	"gbk": "chinese", "gb18030": "chinese", "hz-gb-2312": "chinese", "big5": "chinese", "gb2312": "chinese",
	"iso-2022-jp": "japanese", "shift_jis": "japanese", "euc-jp": "japanese",
	"euc-kr": "korean", "iso-2022-kr": "korean",
	"windows-874": "thai", "tis-620": "thai",
}

// Detect counts the scripts of the Subject and text and reads the declared charsets.
func Detect(m *message.Message) Detection {
	d := Detection{Script: map[string]bool{}, Charset: map[string]bool{}}
	for _, cs := range m.Charsets {
		if l, ok := charsetLang[cs]; ok {
			d.Charset[l] = true
		}
	}
	var han, kana, hangul, thai, letters int
	count := func(s string) {
		n := 0
		for _, r := range s {
			if n++; n > maxScan {
				return
			}
			switch {
			case r < 0x0E00:
				if r >= 'A' && (r <= 'Z' || r >= 'a' && r <= 'z' || r >= 0xC0) {
					letters++
				}
				continue
			case r <= 0x0E7F:
				thai++
			case r >= 0x3040 && r <= 0x30FF || r >= 0x31F0 && r <= 0x31FF || r >= 0xFF66 && r <= 0xFF9F:
				kana++
			case r >= 0xAC00 && r <= 0xD7AF || r >= 0x1100 && r <= 0x11FF || r >= 0x3130 && r <= 0x318F:
				hangul++
			case r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0xF900 && r <= 0xFAFF:
				han++
			default:
				continue
			}
			letters++
		}
	}
	count(m.Subject)
	count(m.Text)
	real := func(n int) bool { return n >= 10 && n*10 >= letters || n >= 200 }
	switch {
	case kana >= 3 && real(kana+han):
		d.Script["japanese"] = true
	case real(han):
		d.Script["chinese"] = true
	}
	if real(hangul) {
		d.Script["korean"] = true
	}
	if real(thai) {
		d.Script["thai"] = true
	}
	return d
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func title(s string) string {
	if s == "" {
		return s
	}
	return upper(s[:1]) + s[1:]
}
