package headers

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/internal/golden"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
	"github.com/scilla-mail/scilla/server/verdict"
)

var (
	gtube   = engine.Sign{Name: "GTUBE", Score: 1000, Desc: "GTUBE test string", Method: "content", Status: verdict.Spam}
	pharma  = engine.Sign{Name: "PHARMA_WORDS", Score: 3.25, Desc: "pharmacy words", Category: "pharma", Method: "content"}
	obscene = engine.Sign{Name: "OBSCENE", Score: 0.5, Desc: "obscene language", Category: "obscene", Method: "content"}
	date    = engine.Sign{Name: "MISSING_DATE", Score: 1.1, Desc: "no Date", Method: "headers"}
	white   = engine.Sign{Name: "WHITE_IP_LIST", Score: -100, Method: "white ip list", Status: verdict.Trusted}
	black   = engine.Sign{Name: "BLACK_EMAIL_LIST", Score: 100, Method: "black email list", Status: verdict.Blacklisted}
	dsn     = engine.Sign{Name: "DSN", Score: 0, Method: "headers", Status: verdict.Formal}
)

func TestGolden(t *testing.T) {
	p, err := policy.Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	group := func(rcpt string) *policy.Group {
		g, _ := p.Resolve(rcpt)
		return g
	}
	tests := []struct {
		name     string
		rcpt     string
		mailFrom string
		status   verdict.Status
		info     verdict.Info
		score    float64
		rate     int
		method   string
		signs    []engine.Sign
		extra    []engine.Header
	}{
		{name: "spam_accept", rcpt: "a@example.com", mailFrom: "s@spam.test", status: verdict.Spam, score: 1003.25, rate: 100, method: "content", signs: []engine.Sign{gtube, pharma}},
		{name: "spam_obscene_tag", rcpt: "a@example.com", mailFrom: "s@spam.test", status: verdict.Spam, score: 6.5, rate: 97, method: "content", signs: []engine.Sign{pharma, obscene, {Name: "BAYES_99", Score: 2.75, Method: "content"}}},
		{name: "not_detected_obscene_tag_off", rcpt: "plain@example.com", status: verdict.NotDetected, score: 0.5, rate: 8, signs: []engine.Sign{obscene}},
		{name: "probable_spam_copy", rcpt: "copy@example.com", mailFrom: "x@bulk.test", status: verdict.ProbableSpam, score: 4.35, rate: 65, method: "content", signs: []engine.Sign{pharma, date}},
		{name: "spam_redirect", rcpt: "redirect@example.com", mailFrom: "x@bulk.test", status: verdict.Spam, score: 5.1, rate: 92, method: "headers", signs: []engine.Sign{date, {Name: "SUBJ_ID", Score: 4, Method: "headers"}}},
		{name: "blacklisted_reject", rcpt: "reject@example.com", mailFrom: "bad@spammer.test", status: verdict.Blacklisted, score: 100, rate: 100, method: "black email list", signs: []engine.Sign{black}},
		{name: "spam_reject_default_text", rcpt: "reject@example.com", mailFrom: "x@bulk.test", status: verdict.Spam, score: 1000, rate: 100, method: "content", signs: []engine.Sign{gtube}},
		{name: "spam_delete", rcpt: "delete@example.com", mailFrom: "x@bulk.test", status: verdict.Spam, score: 1000, rate: 100, method: "content", signs: []engine.Sign{gtube}},
		{name: "formal", rcpt: "a@example.com", mailFrom: "", status: verdict.Formal, method: "headers", signs: []engine.Sign{dsn}},
		{name: "trusted_white_ip", rcpt: "a@example.com", mailFrom: "friend@partner.test", status: verdict.Trusted, score: -100, method: "white ip list", signs: []engine.Sign{white}},
		{name: "not_detected", rcpt: "a@example.com", mailFrom: "friend@partner.test", status: verdict.NotDetected, score: 1.1, rate: 17, signs: []engine.Sign{date},
			extra: []engine.Header{{Name: "Authentication-Results", Value: "mx.example.com; spf=pass smtp.mailfrom=partner.test"}}},
		{name: "info_not_protected", rcpt: "a@other.test", mailFrom: "x@y.test", status: verdict.NotDetected, info: verdict.NotProtected},
		{name: "info_no_license", rcpt: "a@example.com", mailFrom: "x@y.test", status: verdict.NotDetected, info: verdict.NoLicense},
		{name: "info_not_processed", rcpt: "copy@example.com", mailFrom: "x@y.test", status: verdict.NotDetected, info: verdict.NotProcessed},
		{name: "info_license_limit", rcpt: "a@example.com", mailFrom: "x@y.test", status: verdict.NotDetected, info: verdict.LicenseLimitExceeded},
		{name: "forged_envelope_from", rcpt: "a@example.com", mailFrom: "x@y.test\r\nX-Spam-Flag: NO", status: verdict.NotDetected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := group(tt.rcpt)
			gv := &engine.GroupVerdict{
				Group: g, Recipients: []string{tt.rcpt}, Status: tt.status, Info: tt.info, Score: tt.score,
				Rate: tt.rate, Signs: tt.signs, Method: tt.method, Headers: tt.extra,
			}
			for _, s := range tt.signs {
				if s.Category != "" {
					gv.Categories = append(gv.Categories, s.Category)
				}
			}
			if tt.info == verdict.InfoNone {
				gv.Action = g.Actions[tt.status]
			}
			v := &engine.Verdict{ScanID: "scan-1", DBVersion: "20261122.0745", Groups: []*engine.GroupVerdict{gv}}
			got := render(Build(v, gv, tt.mailFrom))
			golden.Compare(t, filepath.Join("testdata", "golden", tt.name+".txt"), []byte(got))
		})
	}
}

// render writes a result the way a reader checks it.
func render(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "action: %s\n", r.Action)
	if r.CopyTo != nil {
		fmt.Fprintf(&b, "copy_to: %s\n", strings.Join(r.CopyTo, ", "))
	}
	if r.RedirectTo != nil {
		fmt.Fprintf(&b, "redirect_to: %s\n", strings.Join(r.RedirectTo, ", "))
	}
	if r.RejectText != "" {
		fmt.Fprintf(&b, "reject_text: %s\n", r.RejectText)
	}
	fmt.Fprintf(&b, "subject_prefix: %q\n", r.SubjectPrefix)
	b.WriteString("\n")
	for _, h := range r.Headers {
		fmt.Fprintf(&b, "%s: %s\n", h.Name, h.Value)
	}
	return b.String()
}

func TestStripCoversEveryHeader(t *testing.T) {
	p := policy.Default()
	g := p.All()
	gv := &engine.GroupVerdict{Group: g, Status: verdict.Spam, Score: 7, Rate: 95, Signs: []engine.Sign{pharma}, Action: policy.Action{Header: "x"}}
	r := Build(&engine.Verdict{}, gv, "a@b.c")
	strip := StripNames()
	for _, h := range r.Headers {
		found := false
		for _, n := range strip {
			if strings.EqualFold(n, h.Name) {
				found = true
			}
		}
		if !found {
			t.Errorf("header %s is added but not stripped", h.Name)
		}
	}
}

func TestReportBounded(t *testing.T) {
	var signs []engine.Sign
	for i := range 200 {
		signs = append(signs, engine.Sign{Name: fmt.Sprintf("RULE_NUMBER_%03d", i), Score: 0.1})
	}
	gv := &engine.GroupVerdict{Group: policy.Default().All(), Status: verdict.Spam, Score: 20, Signs: signs}
	for _, h := range Build(&engine.Verdict{}, gv, "").Headers {
		if len(h.Name)+2+len(h.Value) > 998 {
			t.Errorf("%s is %d bytes long", h.Name, len(h.Value))
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			t.Errorf("%s has a line break", h.Name)
		}
	}
}
