package bayes

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/scilla-mail/scilla/server/message"
)

func toks(t *testing.T, name string) []string {
	return Tokens(message.Parse(read(t, name), message.DefaultLimits), nil)
}

func TestClassifyLearnsBothWays(t *testing.T) {
	b := NewBuilder()
	for range 5 {
		b.Add(true, toks(t, "spam1.eml"))
		b.Add(false, toks(t, "ham1.eml"))
	}
	m := b.Model(1)
	cl := NewClassifier(DefaultParams())
	if p := cl.Classify(toks(t, "spam1.eml"), m).Prob; p < 0.99 {
		t.Errorf("trained spam rated %.4f", p)
	}
	if p := cl.Classify(toks(t, "ham1.eml"), m).Prob; p > 0.01 {
		t.Errorf("trained ham rated %.4f", p)
	}
	// No training at all: no evidence.
	if p := cl.Classify(toks(t, "spam1.eml"), NewBuilder().Model(1)).Prob; p != 0.5 {
		t.Errorf("untrained rated %.4f", p)
	}
	// Local counts add to the database's: learning the ham as spam (ten
	// times the evidence) flips it.
	local := NewBuilder()
	for range 50 {
		local.Add(true, toks(t, "ham1.eml"))
	}
	if p := cl.Classify(toks(t, "ham1.eml"), m, local.Model(1)).Prob; p < 0.5 {
		t.Errorf("local spam learning ignored: %.4f", p)
	}
}

// The language token is counted but is no evidence: a model that has seen
// French only in spam rates a message no differently for being French,
// and the linear model gives the token no weight.
func TestLanguageTokenIsNoEvidence(t *testing.T) {
	fr := Tokens(message.Parse([]byte("Subject: Avis\r\n\r\nNous vous informons que la convention de services sera modifiée à compter du mois prochain pour tous les clients."), message.DefaultLimits), nil)
	if fr[0] != LanguagePrefix+"fr" {
		t.Fatalf("tokens %q: want %q first", fr, LanguagePrefix+"fr")
	}
	b := NewBuilder()
	for range 5 {
		b.Add(true, append(toks(t, "spam1.eml"), LanguagePrefix+"fr"))
		b.Add(false, toks(t, "ham1.eml"))
	}
	m := b.Model(1)
	if k := m.Lookup(LanguagePrefix + "fr"); k.Spam != 5 || k.Ham != 0 {
		t.Errorf("language token counts %+v, want 5 spam", k)
	}
	cl := NewClassifier(DefaultParams())
	ham := toks(t, "ham1.eml")
	with, without := cl.Classify(append(ham, LanguagePrefix+"fr"), m), cl.Classify(ham, m)
	if with.Prob != without.Prob || with.LogOdds != without.LogOdds {
		t.Errorf("language token moved the classifier: %+v, without %+v", with, without)
	}
	w := TrainWeights([][]string{append(toks(t, "spam1.eml"), LanguagePrefix+"fr"), ham}, []bool{true, false}, DefaultTrainParams())
	if z := w.Score([]string{LanguagePrefix + "fr"}) - w.Score(nil); z != 0 {
		t.Errorf("linear weight of the language token %.4f, want none", z)
	}
	for _, tt := range []struct {
		toks []string
		lang string
		ham  uint32
	}{
		{fr, "fr", 0},
		{ham, "en", 5},                 // English, but from 5 legitimate messages only
		{ham[1:], "", 0},               // the language token (first) left out
		{toks(t, "spam1.eml"), "", 20}, // the model below knows English from 20
	} {
		mm := m
		if tt.ham == 20 {
			big := NewBuilder()
			for range 20 {
				big.Add(false, ham)
			}
			mm = big.Model(1)
		}
		if l, n := UnfamiliarLanguage(tt.toks, mm); l != tt.lang || n != tt.ham {
			t.Errorf("UnfamiliarLanguage(%.3q) = %q, %d; want %q, %d", tt.toks, l, n, tt.lang, tt.ham)
		}
	}
}

func TestModelRoundTrip(t *testing.T) {
	b := NewBuilder()
	b.Add(true, toks(t, "spam1.eml"))
	b.Add(false, toks(t, "ham1.eml"))
	m := b.Model(1)
	enc, _ := m.MarshalBinary()
	enc2, _ := b.Model(1).MarshalBinary()
	if !bytes.Equal(enc, enc2) {
		t.Fatal("encoding is not deterministic")
	}
	got, err := UnmarshalModel(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != m.Len() || got.Spam != 1 || got.Ham != 1 || got.Lookup("mortgag") != m.Lookup("mortgag") {
		t.Errorf("round trip differs: %d/%d tokens", got.Len(), m.Len())
	}
	for _, bad := range [][]byte{nil, []byte("SCBAYES1"), enc[:len(enc)-1], append(append([]byte{}, enc...), 0)} {
		if _, err := UnmarshalModel(bad); err == nil {
			t.Errorf("accepted %d bad bytes", len(bad))
		}
	}
}

func TestTokensPrefixesAndLimits(t *testing.T) {
	got := map[string]bool{}
	for _, tk := range toks(t, "spam1.eml") {
		got[tk] = true
	}
	for _, want := range []string{"s:mortgage", "mortgag", "from:dom:offers-example.biz", "url:dom:offers-example.biz", "to:undisclosed", "h:message-id"} {
		if !got[want] {
			t.Errorf("missing token %q", want)
		}
	}
	long := "Subject: x\r\n\r\n" + string(bytes.Repeat([]byte("word "), 100000))
	if n := len(Tokens(message.Parse([]byte(long), message.DefaultLimits), nil)); n > maxTokens {
		t.Errorf("%d tokens", n)
	}
}

// TestTokensIgnoreReceivingSite checks that a message gives the same tokens
// before and after delivery: what the receiving end writes (the recipients'
// domain, Return-Path, Delivered-To, its own Received hops, mailbox flags,
// its own filters' fields)
// describes the site that collected it, and a scan at the MTA never sees it.
func TestTokensIgnoreReceivingSite(t *testing.T) {
	body := "From: Ann <ann@example.org>\r\nSubject: lunch\r\n\r\nSee you at noon.\r\n"
	sent := "Received: from [10.0.0.7] by mail.example.org; Fri, 6 Sep 2002 14:51:10 +0200\r\nTo: bob@site-a.example\r\n" + body
	delivered := "Return-Path: <ann@example.org>\r\nDelivered-To: bob@site-b.example\r\n" +
		"Received: from localhost by store.site-b.example; Fri, 6 Sep 2002 07:51:17 -0500\r\n" +
		"Received: from mx.site-b.example by localhost; Fri, 6 Sep 2002 07:51:15 -0500\r\n" +
		"X-Spam-Status: No, score=-2.6\r\nX-Virus-Scanned: by amavisd\r\nStatus: RO\r\n" +
		"X-Spamtest-Status: Not detected\r\nX-Spamtest-Method: none\r\nX-Rspamd-Score: 0.1\r\n" +
		"X-Status: A\r\nX-Keywords: \r\nTo: bob@site-b.example\r\n" + body
	a := Tokens(message.Parse([]byte(sent), message.DefaultLimits), nil)
	b := Tokens(message.Parse([]byte(delivered), message.DefaultLimits), nil)
	if !slices.Equal(a, b) {
		t.Errorf("tokens differ after delivery:\n sent      %q\n delivered %q", a, b)
	}
	if !slices.Contains(a, "to:n:1") {
		t.Errorf("the number of recipients is the sender's doing and must stay a token: %q", a)
	}
}

// TestTokenizerVersion ties TokenizerVersion to what Tokens emits: the
// digest of the tokens of the test messages is recorded per version, so a
// change to the tokenizer fails here until the version is raised (and the
// databases rebuilt) and the new digest recorded.
func TestTokenizerVersion(t *testing.T) {
	digests := map[int]string{
		2: "e44a44d1683e946d",
		3: "c82d5434cab2ea4a",
		4: "f5ef910305a68592",
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test messages: %v", err)
	}
	h := sha256.New()
	for _, f := range files {
		for _, tok := range toks(t, filepath.Base(f)) {
			h.Write([]byte(tok))
			h.Write([]byte{0})
		}
	}
	got := hex.EncodeToString(h.Sum(nil))[:16]
	if want, ok := digests[TokenizerVersion]; !ok || got != want {
		t.Errorf("Tokens emits what version %d did not (digest %s, recorded %q): raise TokenizerVersion, record the digest, run make db", TokenizerVersion, got, want)
	}
}

func FuzzUnmarshalModel(f *testing.F) {
	b := NewBuilder()
	b.Add(true, []string{"a", "bb", "ccc"})
	b.Add(false, []string{"bb"})
	enc, _ := b.Model(1).MarshalBinary()
	f.Add(enc)
	f.Add([]byte("SCBAYES1\x01\x01\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := UnmarshalModel(data)
		if err != nil {
			return
		}
		again, _ := m.MarshalBinary()
		if !bytes.Equal(again, data) {
			t.Errorf("accepted input does not re-encode identically")
		}
	})
}

// TestStems: remembered stems give the tokens fresh ones give, under
// concurrent use, and a shard starts afresh when full.
func TestStems(t *testing.T) {
	for _, tc := range []struct{ word, want string }{
		{"refinancing", "refinanc"}, {"refinanced", "refinanc"}, {"mortgages", "mortgag"},
		{"free!", "free!"}, {"$100", "$100"}, {"x99", "x99"}, {"über", "über"},
	} {
		tk := tokenizer{}
		if got := tk.stem(tc.word); got != tc.want {
			t.Errorf("stem(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	stems := NewStems()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range []string{"spam1.eml", "ham1.eml"} {
				m := message.Parse(read(t, f), message.DefaultLimits)
				if got, want := Tokens(m, stems), Tokens(m, nil); !slices.Equal(got, want) {
					t.Errorf("%s: tokens with remembered stems differ", f)
				}
			}
		}()
	}
	wg.Wait()
	for i := range 3 * stemShards * stemShardWords {
		stems.stem("w" + strconv.Itoa(i))
	}
	for i := range stems.shards {
		if n := len(stems.shards[i].m); n > stemShardWords {
			t.Errorf("shard %d holds %d words, more than %d", i, n, stemShardWords)
		}
	}
}
