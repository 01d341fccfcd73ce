package message

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestHeaderDecoding(t *testing.T) {
	tests := []struct {
		name, raw, field, want string
	}{
		{"folded", "Subject: one\r\n two\r\n\tthree\r\n\r\n", "Subject", "one two\tthree"},
		{"bare LF", "Subject: hello\nTo: a@b\n\nbody", "Subject", "hello"},
		{"space before colon", "Subject : spaced\r\n\r\n", "Subject", "spaced"},
		{"rfc2047 q", "Subject: =?iso-8859-1?q?caf=E9_cr=E8me?=\r\n\r\n", "Subject", "café crème"},
		{"rfc2047 b koi8", "Subject: =?koi8-r?B?8NLJ18XU?=\r\n\r\n", "Subject", "Привет"},
		{"adjacent words joined", "Subject: =?utf-8?q?a?= =?utf-8?q?b?=\r\n\r\n", "Subject", "ab"},
		{"split multibyte", "Subject: =?utf-8?B?5Lq6?= =?utf-8?B?5rCR?=\r\n\r\n", "Subject", "人民"},
		{"split multibyte across words", "Subject: =?UTF-8?Q?=E4=BA?= =?UTF-8?Q?=BA?=\r\n\r\n", "Subject", "人"},
		{"word inside token", "Subject: Re:=?utf-8?q?x?=y\r\n\r\n", "Subject", "Re:xy"},
		{"unknown charset", "Subject: =?x-unknown?q?abc?=\r\n\r\n", "Subject", "abc"},
		{"bad encoding letter", "Subject: =?utf-8?z?abc?=\r\n\r\n", "Subject", "=?utf-8?z?abc?="},
		{"8bit with declared charset", "Subject: \xcf\xf0\xe8\xe2\xe5\xf2\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n", "Subject", "Привет"},
		{"8bit utf-8", "Subject: Grüße\r\n\r\n", "Subject", "Grüße"},
		{"mbox From line", "From someone@example.org Mon Sep 9 10:00:00 2002\nSubject: x\n\n", "Subject", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.raw), Limits{})
			if got := m.Header.Get(tt.field); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

func TestAnomalies(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"malformed header line", "Subject: x\r\nthis is not a header\r\nTo: a@b\r\n\r\nbody", AnomalyHeaderMalformed},
		{"continuation first", " folded\r\nSubject: x\r\n\r\n", AnomalyHeaderContinuation},
		{"8bit header", "Subject: \xff\xfe\r\n\r\n", AnomalyHeader8bit},
		{"no boundary", "Content-Type: multipart/mixed\r\n\r\nbody", AnomalyNoBoundary},
		{"boundary missing", "Content-Type: multipart/mixed; boundary=b\r\n\r\nbody", AnomalyBoundaryMissing},
		{"unterminated", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n", AnomalyUnterminated},
		{"bad base64", "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n%%%\r\n", AnomalyBadBase64},
		{"bad qp", "Content-Transfer-Encoding: quoted-printable\r\n\r\na=zz b\r\n", AnomalyBadQP},
		{"unknown cte", "Content-Transfer-Encoding: x-rot13\r\n\r\nnopqr\r\n", AnomalyUnknownEncoding},
		{"unknown charset", "Content-Type: text/plain; charset=x-nonsense\r\n\r\ntext\r\n", AnomalyUnknownCharset},
		{"bad utf8", "Content-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe text\r\n", AnomalyBadUTF8},
		{"undeclared 8bit", "Subject: x\r\n\r\n\xe9t\xe9\r\n", AnomalyUndeclared8bit},
		{"nul", "Subject: x\r\n\r\na\x00b\r\n", AnomalyNUL},
		{"bad content type", "Content-Type: text\r\n\r\nx", AnomalyBadContentType},
		{"no mime version", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n", AnomalyNoMIMEVersion},
		{"bad encoded word", "Subject: =?utf-8?x?abc?=\r\n\r\n", AnomalyBadEncodedWord},
		{"bad document", "Content-Type: application/msword\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n", AnomalyBadDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.raw), Limits{})
			if !m.HasAnomaly(tt.want) {
				t.Errorf("anomalies %v, want %s", m.Anomalies, tt.want)
			}
		})
	}
	clean := "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n" +
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>hel=\r\nlo</p>\r\n--b1--\r\n"
	if m := Parse([]byte(clean), Limits{}); len(m.Anomalies) != 0 {
		t.Errorf("clean message: anomalies %v", m.Anomalies)
	}
}

func TestMIMETree(t *testing.T) {
	raw := "Subject: tree\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain\r\n\r\nplain words\r\n" +
		"--inner\r\nContent-Type: text/html\r\n\r\n<b>html words</b>\r\n--inner--\r\n" +
		"--outer\r\nContent-Type: image/gif; name=\"a.gif\"\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n" +
		"--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nforwarded text\r\n" +
		"--outer--\r\nepilogue\r\n"
	m := Parse([]byte(raw), Limits{})
	if m.Parts != 7 {
		t.Errorf("parts = %d, want 7", m.Parts)
	}
	var types []string
	for _, l := range m.Leaves {
		types = append(types, l.MediaType)
	}
	if want := []string{"text/plain", "text/html", "image/gif", "text/plain"}; !reflect.DeepEqual(types, want) {
		t.Errorf("leaves %v, want %v", types, want)
	}
	if len(m.Images) != 1 || string(m.Images[0].Body[:6]) != "GIF89a" || m.Images[0].Filename != "a.gif" {
		t.Errorf("image not decoded: %+v", m.Images)
	}
	// The alternative contributes its richest part only.
	if m.Text != "html words\nforwarded text" {
		t.Errorf("text = %q", m.Text)
	}
	if len(m.Anomalies) != 0 {
		t.Errorf("anomalies %v", m.Anomalies)
	}
}

func TestHTMLStats(t *testing.T) {
	tests := []struct {
		name, html string
		text       string
		check      func(HTMLStats) bool
	}{
		{"hidden", `<p>shown</p><div style="display:none">secret words here</div>`, "shown",
			func(s HTMLStats) bool { return s.HiddenChars == 15 && s.VisibleChars == 5 }},
		{"class hidden", `<style>/* x */ p.h, .t { display: none } .c{color:#fff}</style><p class="h">secret</p><span class="a c">ghost</span> <b class=t>x</b>shown`, "shown",
			func(s HTMLStats) bool { return s.PreheaderChars == 7 && s.SameColorChars == 5 && s.VisibleChars == 5 }},
		{"inline overrides class", `<style>.h{display:none}</style><p class="h" style="display:block">seen</p>`, "seen",
			func(s HTMLStats) bool { return s.HiddenChars == 0 }},
		{"display none is final", `x<div style="display:none"><p style="display:block">gone</p></div>`, "x",
			func(s HTMLStats) bool { return s.HiddenChars == 4 }},
		{"visibility undone", `<div style="visibility:hidden"><p style="visibility:visible">seen</p>no</div>`, "seen",
			func(s HTMLStats) bool { return s.HiddenChars == 2 }},
		{"visibility", `x<span style="visibility:hidden">abc</span>`, "x", func(s HTMLStats) bool { return s.HiddenChars == 3 }},
		{"hidden attr", `<p>x</p><p hidden>abc</p>`, "x", func(s HTMLStats) bool { return s.HiddenChars == 3 }},
		{"zero box", `x<div style="height:0;overflow:hidden">abc</div>`, "x", func(s HTMLStats) bool { return s.HiddenChars == 3 }},
		{"preheader", `<div style="display:none;max-height:0">Members only: 20 % off paints this week</div><p>Hello Emilio</p><p hidden>abc</p>`, "Hello Emilio",
			func(s HTMLStats) bool { return s.PreheaderChars == 32 && s.HiddenChars == 3 }},
		{"long hidden text first is no preheader", `<div style="display:none">` + strings.Repeat("word ", 80) + `</div><p>Hello</p>`, "Hello",
			func(s HTMLStats) bool { return s.PreheaderChars == 0 && s.HiddenChars == 320 }},
		{"tiny css", `<span style="font-size:1px">tiny</span> big`, "big", func(s HTMLStats) bool { return s.TinyChars == 4 }},
		{"tiny font", `<font size="-3">tiny</font> big`, "big", func(s HTMLStats) bool { return s.TinyChars == 4 }},
		{"same colour", `<body bgcolor="white"><font color="#FFFFFF">ghost</font> real</body>`, "real",
			func(s HTMLStats) bool { return s.SameColorChars == 5 }},
		{"same colour css", `<div style="background-color:#000;color:rgb(1,1,1)">dark</div>`, "",
			func(s HTMLStats) bool { return s.SameColorChars == 4 }},
		{"near-white filler on white", `<p style="font-size:9px;color:#eeeeee">season pencil</p><p>Shop now</p>`, "Shop now",
			func(s HTMLStats) bool { return s.SameColorChars == 12 && s.VisibleChars == 7 }},
		{"grey footer is read", `<p>Hello</p><p style="color:#cccccc">Unsubscribe</p>`, "Hello\nUnsubscribe",
			func(s HTMLStats) bool { return s.SameColorChars == 0 }},
		{"comment split", `Vi<!-- x -->ag<!---->ra`, "Viagra", func(s HTMLStats) bool { return s.SplitWords == 2 && s.CommentSplits == 2 }},
		{"tag split", `Vi<b></b>agra and <b>bold</b> text`, "Viagra and bold text", func(s HTMLStats) bool { return s.SplitWords == 1 && s.CommentSplits == 0 }},
		{"hidden split", `Vi<span style="display:none">zz</span>agra`, "Viagra", func(s HTMLStats) bool { return s.SplitWords == 1 }},
		{"links", `<a href="http://a.example.com/x">one</a> <a href="https://b.example.org">two</a> <a href="mailto:x@y">m</a>`, "one two m",
			func(s HTMLStats) bool { return s.Links == 3 && s.LinkMismatch == 0 }},
		{"link mismatch", `<a href="http://evil.example.ru/login">www.paypal.com</a>`, "www.paypal.com",
			func(s HTMLStats) bool { return s.LinkMismatch == 1 }},
		{"link bare domain mismatch", `<a href="http://evil.example.ru/login">paypal.com</a>`, "paypal.com",
			func(s HTMLStats) bool { return s.LinkMismatch == 1 }},
		{"link same domain", `<a href="http://www.example.com/a">example.com</a>`, "example.com",
			func(s HTMLStats) bool { return s.LinkMismatch == 0 }},
		{"images", `<img src="http://i.example.com/a.gif"><img src="cid:x">`, "", func(s HTMLStats) bool { return s.Images == 2 }},
		{"encoded", `&#86;&#105;&#x61;gra &#8217;`, "Viagra ’", func(s HTMLStats) bool { return s.EncodedLetters == 3 }},
		{"script style", `<style>p{color:red}</style><script>var x=1</script>text`, "text",
			func(s HTMLStats) bool { return s.Scripts == 1 && s.VisibleChars == 4 }},
		{"blocks", `<p>one</p><p>two<br>three</p>`, "one\ntwo\nthree", func(s HTMLStats) bool { return true }},
		{"entities and spaces", "a&nbsp;b  \n c &amp; d", "a b c & d", func(s HTMLStats) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{}
			p := &parser{lim: DefaultLimits, m: m}
			p.ctx = contextBackground()
			text, _ := p.renderHTML(tt.html)
			if strings.ReplaceAll(text, "\u00a0", " ") != tt.text {
				t.Errorf("text = %q, want %q", text, tt.text)
			}
			if !tt.check(m.HTML) {
				t.Errorf("stats %+v", m.HTML)
			}
		})
	}
}

func TestExtractURLs(t *testing.T) {
	text := "see http://www.Example.co.uk/path?q=1, www.foo.com. and https://user@[2001:db8::1]:8080/x " +
		"or ftp://files.example.org/ and (http://10.0.0.1/a) not mail@example.com nor xhttp://bad"
	var got []string
	for _, u := range ExtractURLs(text) {
		got = append(got, u.Host+"|"+u.Domain)
	}
	want := []string{"www.example.co.uk|example.co.uk", "www.foo.com|foo.com", "2001:db8::1|", "files.example.org|example.org", "10.0.0.1|"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestURLsFromHTML(t *testing.T) {
	raw := "Content-Type: text/html\r\n\r\n<a href=\"http://click.example.net/t?id=1\">here</a> <img src=\"//img.example.org/p.gif\"> visit www.shown.example.com"
	m := Parse([]byte(raw), Limits{})
	var domains []string
	for _, u := range m.URLs {
		domains = append(domains, u.Domain)
	}
	if want := []string{"example.net", "example.org", "example.com"}; !reflect.DeepEqual(domains, want) {
		t.Errorf("domains %v, want %v", domains, want)
	}
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{`"Doe, John" <john@example.org>, jane@example.org (Jane)`, []Address{{"Doe, John", "john@example.org"}, {"Jane", "jane@example.org"}}},
		{`undisclosed-recipients:;`, nil},
		{`team: a@x.org, b@y.org;`, []Address{{"", "a@x.org"}, {"", "b@y.org"}}},
		{`Sales <sales>`, []Address{{"Sales", "sales"}}},
		{`<broken@example.org`, []Address{{"", "broken@example.org"}}},
	}
	for _, tt := range tests {
		if got := ParseAddressList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddressList(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if d := (Address{Addr: "x@Mail.Example.ORG"}).Domain(); d != "mail.example.org" {
		t.Errorf("domain %q", d)
	}
}

func TestDocuments(t *testing.T) {
	const want = "Special offer: cheap replica watches and pills.\nДешёвые часы и лекарства без рецепта.\nVisit http://replica-deals.example.com/buy now."
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got, ok := docText(read("offer.doc"), 1<<20); !ok || got != want {
		t.Errorf("doc: ok=%v text %q", ok, got)
	}
	if got, _, ok := docxText(read("offer.docx"), 1<<20, 1<<20); !ok || got != want {
		t.Errorf("docx: ok=%v text %q", ok, got)
	}
	if got, ok := rtfText(read("offer.rtf"), 1<<20); !ok || got != want {
		t.Errorf("rtf: ok=%v text %q", ok, got)
	}
	if got, ok := rtfText(read("cyrillic.rtf"), 1<<20); !ok || got != "Hello Привет, friend\nclickДà" {
		t.Errorf("rtf code pages: ok=%v text %q", ok, got)
	}
	if _, ok := docText([]byte("not a doc"), 1<<20); ok {
		t.Error("doc: garbage accepted")
	}
	if _, _, ok := docxText([]byte("PK garbage"), 1<<20, 1<<20); ok {
		t.Error("docx: garbage accepted")
	}
}

func TestCharsets(t *testing.T) {
	tests := []struct {
		label, canonical string
	}{
		{"gb2312", "gbk"}, {"GBK", "gbk"}, {"gb18030", "gb18030"}, {"big5", "big5"},
		{"iso-2022-jp", "iso-2022-jp"}, {"Shift_JIS", "shift_jis"}, {"euc-jp", "euc-jp"},
		{"euc-kr", "euc-kr"}, {"ks_c_5601-1987", "euc-kr"}, {"iso-2022-kr", "iso-2022-kr"},
		{"tis-620", "windows-874"}, {"koi8-r", "koi8-r"}, {"cp1251", "windows-1251"},
		{"windows-1250", "windows-1250"}, {"iso-8859-5", "iso-8859-5"}, {"us-ascii", "utf-8"},
		{`"utf-8"`, "utf-8"}, {"hz-gb-2312", "hz-gb-2312"},
	}
	for _, tt := range tests {
		cs, ok := lookupCharset(tt.label)
		if !ok || cs.name != tt.canonical {
			t.Errorf("lookupCharset(%q) = %q, %v; want %q", tt.label, cs.name, ok, tt.canonical)
		}
	}
	if _, ok := lookupCharset("x-no-such-charset"); ok {
		t.Error("unknown charset accepted")
	}
	// ISO-2022-KR: "안녕" is EUC-KR B0 A1... shifted into 7 bits.
	if got := decodeISO2022KR([]byte("\x1b$)C\x0e\x3e\x48\x33\x67\x0f!")); got != "안녕!" {
		t.Errorf("iso-2022-kr: %q", got)
	}
	if cs := guess8bit([]byte("\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0, \xea\xe0\xea \xe4\xe5\xeb\xe0?")); cs.name != "windows-1251" {
		t.Errorf("guess cp1251: %s", cs.name)
	}
	if cs := guess8bit([]byte("\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2, \xcb\xc1\xcb \xc4\xc5\xcc\xc1?")); cs.name != "koi8-r" {
		t.Errorf("guess koi8-r: %s", cs.name)
	}
	if cs := guess8bit([]byte("caf\xe9 cr\xe8me br\xfbl\xe9e")); cs.name != "windows-1252" {
		t.Errorf("guess latin: %s", cs.name)
	}
}

func TestMediaTypeParams(t *testing.T) {
	tests := []struct {
		in, mt string
		params map[string]string
	}{
		{`text/plain; charset="utf-8"`, "text/plain", map[string]string{"charset": "utf-8"}},
		{`Text/HTML;charset=us-ascii;;`, "text/html", map[string]string{"charset": "us-ascii"}},
		{`multipart/mixed; boundary="a;b"; x=1`, "multipart/mixed", map[string]string{"boundary": "a;b", "x": "1"}},
		{`application/pdf; name*=utf-8''%D0%BF.pdf`, "application/pdf", map[string]string{"name": "п.pdf"}},
		{`application/pdf; name*0="long"; name*1="name.pdf"`, "application/pdf", map[string]string{"name": "longname.pdf"}},
		{`text/plain; charset=utf-8; charset=koi8-r`, "text/plain", map[string]string{"charset": "utf-8"}},
	}
	for _, tt := range tests {
		mt, params := parseMediaType(tt.in)
		if mt != tt.mt || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("parseMediaType(%q) = %q %v; want %q %v", tt.in, mt, params, tt.mt, tt.params)
		}
	}
}

func contextBackground() context.Context { return context.Background() }

func TestCountWords(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"Hello, world 2025!", 3},
		{"代开发票", 4},
		{"ポイント進呈", 6},
		{"안녕하세요 친구", 2},
		{"", 0},
	}
	for _, tt := range tests {
		if got := countWords(tt.in); got != tt.want {
			t.Errorf("countWords(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestHTMLMetaCharset(t *testing.T) {
	body := "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"></head><body>\xf0\xd2\xc9\xd7\xc5\xd4</body></html>"
	m := Parse([]byte("Content-Type: text/html\r\n\r\n"+body), Limits{})
	if m.Text != "Привет" {
		t.Errorf("text %q", m.Text)
	}
	m = Parse([]byte("Content-Type: text/html; charset=windows-1251\r\n\r\n<meta charset=\"koi8-r\">\xcf\xf0\xe8\xe2\xe5\xf2"), Limits{})
	if m.Text != "Привет" {
		t.Errorf("MIME charset must win: text %q", m.Text)
	}
}

// TestParseHeader: the top-level header alone, decoded as Parse decodes
// it, whatever the line ends; the body is not read.
// TestBody: Body is what follows the top-level header's blank line, with
// either line end.
func TestBody(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"Subject: x\r\n\r\nbody\r\n\r\nmore\r\n", "body\r\n\r\nmore\r\n"},
		{"Subject: x\n\nbody\r\n\r\nmore\r\n", "body\r\n\r\nmore\r\n"},
		{"Subject: x\r\n", ""},
		{"Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b--\n", "--b\n\npart\n--b--\n"},
	} {
		if got := string(Parse([]byte(tc.raw), DefaultLimits).Body); got != tc.want {
			t.Errorf("%q: Body %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	for _, raw := range []string{
		"From: =?UTF-8?Q?Ma=C3=ABlle_Tremblay?= <m@example.com>\r\nMessage-ID: <a@b>\r\n\r\nSubject: not a header\r\n",
		"From: =?UTF-8?Q?Ma=C3=ABlle_Tremblay?= <m@example.com>\nMessage-ID: <a@b>\n\nSubject: not a header\n",
		"From: =?UTF-8?Q?Ma=C3=ABlle_Tremblay?=\r\n <m@example.com>\r\nMessage-ID: <a@b>\r\n",
	} {
		h := ParseHeader([]byte(raw), DefaultLimits)
		if got := h.Get("From"); got != "Maëlle Tremblay <m@example.com>" {
			t.Errorf("%q: From %q", raw, got)
		}
		if h.Get("Message-ID") != "<a@b>" || h.Has("Subject") {
			t.Errorf("%q: header %v", raw, h)
		}
	}
}
