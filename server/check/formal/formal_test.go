package formal

import (
	"testing"

	"github.com/scilla-mail/scilla/server/check/checktest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

func allOff(s *policy.Settings) {
	s.Methods.HeaderRules = map[string]bool{RuleDSN: false, RuleMDN: false, RuleAutoReply: false}
}

func TestGolden(t *testing.T) {
	checktest.Golden(t, []engine.Check{New()}, map[string]checktest.Variant{"": nil, "off": allOff})
}

func TestFormal(t *testing.T) {
	tests := []struct {
		file string
		sign string // "" = not formal
		rule string
	}{
		{"postfix-dsn.eml", SignDSN, RuleDSN},
		{"corpus-dsn-delayed.eml", SignDSN, RuleDSN},
		{"qmail-bounce.eml", SignDSN, RuleDSN},
		{"corpus-exchange-ndr.eml", SignDSN, RuleDSN},
		{"thunderbird-mdn.eml", SignMDN, RuleMDN},
		{"exchange-autoreply.eml", SignAutoReply, RuleAutoReply},
		{"vacation-reply.eml", SignAutoReply, RuleAutoReply},
		{"spam-fake-outofoffice.eml", "", ""},
		{"corpus-fake-undeliverable-spam.eml", "", ""},
		{"corpus-ham.eml", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := checktest.ReadFile(t, "testdata/"+tt.file)
			gv := checktest.Scan(t, []engine.Check{New()}, raw, nil)
			if tt.sign == "" {
				if gv.Status == verdict.Formal || len(gv.Signs) != 0 {
					t.Fatalf("status %s signs %+v, want not formal", gv.Status, gv.Signs)
				}
				return
			}
			if gv.Status != verdict.Formal || !checktest.HasSign(gv, tt.sign) {
				t.Fatalf("status %s signs %+v, want FORMAL by %s", gv.Status, gv.Signs, tt.sign)
			}
			if gv.Rate != 0 {
				t.Errorf("rate %d, want 0 for FORMAL", gv.Rate)
			}
			off := func(s *policy.Settings) { s.Methods.HeaderRules = map[string]bool{tt.rule: false} }
			if gv := checktest.Scan(t, []engine.Check{New()}, raw, off); gv.Status == verdict.Formal {
				t.Errorf("rule %s off: status still FORMAL", tt.rule)
			}
		})
	}
}
