package eastern

import (
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func allowAll(s *policy.Settings) {
	s.Methods.Eastern = map[string]bool{}
	for _, l := range Languages {
		s.Methods.Eastern[l] = false
	}
}

func TestGolden(t *testing.T) {
	checktest.Golden(t, []engine.Check{New()}, map[string]checktest.Variant{"": nil, "allowed": allowAll})
}

// TestLanguages pins the language and charset found in each message, so a
// golden update cannot silently lose one.
func TestLanguages(t *testing.T) {
	tests := []struct {
		file    string
		sign    string
		charset string // canonical charset the parser must report
		text    string // a phrase the decoded text must contain
	}{
		{"chinese-gb2312.eml", "EASTERN_CHINESE", "gbk", "代开各类发票"},
		{"chinese-big5.eml", "EASTERN_CHINESE", "big5", "網路行銷"},
		{"japanese-iso2022jp.eml", "EASTERN_JAPANESE", "iso-2022-jp", "出会い系サイト"},
		{"japanese-shiftjis.eml", "EASTERN_JAPANESE", "shift_jis", "ポイント"},
		{"japanese-eucjp.eml", "EASTERN_JAPANESE", "euc-jp", "ご登録ください"},
		{"korean-euckr.eml", "EASTERN_KOREAN", "euc-kr", "대출을 도와드립니다"},
		{"thai-tis620.eml", "EASTERN_THAI", "windows-874", "สินค้าราคาพิเศษ"},
		{"chinese-charset-only.eml", "EASTERN_CHINESE_CHARSET", "gbk", "English only"},
		{"corpus-korean-spam.eml", "EASTERN_KOREAN", "euc-kr", ""},
		{"corpus-chinese-big5-spam.eml", "EASTERN_CHINESE_CHARSET", "big5", "DIGITAL VIDEO RECORDER"},
		{"corpus-chinese-gb2312-spam.eml", "EASTERN_CHINESE_CHARSET", "gbk", "Chinese market"},
		{"corpus-english-ham.eml", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := checktest.ReadFile(t, "testdata/"+tt.file)
			m := message.Parse(raw, message.DefaultLimits)
			if tt.charset != "" && !contains(m.Charsets, tt.charset) {
				t.Errorf("charsets %v, want %s", m.Charsets, tt.charset)
			}
			if tt.text != "" && !containsText(m.Subject+"\n"+m.Text, tt.text) {
				t.Errorf("text %q does not contain %q", m.Text, tt.text)
			}
			gv := checktest.Scan(t, []engine.Check{New()}, raw, nil)
			if tt.sign == "" {
				if len(gv.Signs) != 0 {
					t.Errorf("signs %+v, want none", gv.Signs)
				}
			} else if !checktest.HasSign(gv, tt.sign) {
				t.Errorf("signs %+v, want %s", gv.Signs, tt.sign)
			}
			if gv := checktest.Scan(t, []engine.Check{New()}, raw, allowAll); len(gv.Signs) != 0 {
				t.Errorf("with every language allowed: signs %+v, want none", gv.Signs)
			}
		})
	}
}

// TestOneLanguageAllowed: allowing Chinese leaves Korean suspicious.
func TestOneLanguageAllowed(t *testing.T) {
	allowChinese := func(s *policy.Settings) { s.Methods.Eastern = map[string]bool{"chinese": false} }
	if gv := checktest.Scan(t, []engine.Check{New()}, checktest.ReadFile(t, "testdata/chinese-gb2312.eml"), allowChinese); len(gv.Signs) != 0 {
		t.Errorf("chinese allowed: signs %+v", gv.Signs)
	}
	if gv := checktest.Scan(t, []engine.Check{New()}, checktest.ReadFile(t, "testdata/korean-euckr.eml"), allowChinese); !checktest.HasSign(gv, "EASTERN_KOREAN") {
		t.Errorf("korean still suspicious: signs %+v", gv.Signs)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func containsText(s, sub string) bool { return strings.Contains(s, sub) }
