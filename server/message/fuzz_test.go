package message

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzLimits keep each fuzz run small and fast.
var fuzzLimits = Limits{MaxParts: 64, MaxDepth: 8, MaxHeaderBytes: 16 << 10, MaxDecodedBytes: 1 << 20, MaxTextBytes: 64 << 10}

func seedFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkMessage holds the invariants every parse must keep.
func checkMessage(t *testing.T, m *Message, lim Limits) {
	lim = lim.withDefaults()
	if m.Root == nil {
		t.Fatal("no root part")
	}
	if m.Parts > lim.MaxParts {
		t.Fatalf("%d parts over the limit %d", m.Parts, lim.MaxParts)
	}
	if len(m.Text) > lim.MaxTextBytes {
		t.Fatalf("text %d bytes over the limit", len(m.Text))
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
		t.Fatal("text or subject not valid UTF-8")
	}
	for _, f := range m.Header {
		if !utf8.ValidString(f.Value) {
			t.Fatalf("header %s value not valid UTF-8: %q", f.Name, f.Value)
		}
	}
	for _, u := range m.URLs {
		if u.Host == "" {
			t.Fatalf("url without host: %+v", u)
		}
	}
}

// FuzzParse drives the whole MIME path: header, multipart, transfer
// encodings, charsets, HTML, RTF and Word extraction.
func FuzzParse(f *testing.F) {
	seedFiles(f, "testdata/*.eml")
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkMessage(t, ParseContext(context.Background(), raw, fuzzLimits), fuzzLimits)
	})
}

// FuzzHeader drives header splitting, RFC 2047 and 8-bit decoding, and
// address and media-type parsing.
func FuzzHeader(f *testing.F) {
	f.Add("Subject: =?utf-8?B?5Lq6?= =?utf-8?Q?=E6=B0=91?=\r\nFrom: \"A, B\" <a@b.example>\r\n\r\n")
	f.Add("Subject: \xcf\xf0\xe8\r\nContent-Type: text/plain; charset=windows-1251; name*0*=utf-8''%D0%BF\r\n\r\n")
	f.Add(" folded first\r\nX: =?x?q?=?=\r\n")
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if i := strings.Index(string(b), "\r\n\r\n"); i > 0 {
			f.Add(string(b[:i+4]))
		}
	}
	f.Fuzz(func(t *testing.T, hdr string) {
		m := Parse([]byte(hdr), fuzzLimits)
		checkMessage(t, m, fuzzLimits)
		for _, fld := range m.Header {
			for _, a := range ParseAddressList(fld.Value) {
				_ = a.Domain()
			}
			parseMediaType(fld.Raw)
		}
	})
}

// FuzzHTML drives the HTML renderer and its trick counters.
func FuzzHTML(f *testing.F) {
	f.Add(`<body bgcolor=white><font color=#fff>x</font>Vi<!-- -->agra<a href="http://a.example.com">www.b.example.org</a>`)
	f.Add(`<div style="display:none;font-size:0;color:rgb(1,2,3)">&#86;&#x69;</div><img src=//x.example>`)
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if strings.Contains(string(b), "<html") || strings.Contains(string(b), "<HTML") {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		m := &Message{}
		p := &parser{lim: fuzzLimits.withDefaults(), m: m, ctx: context.Background()}
		text, links := p.renderHTML(src)
		if !utf8.ValidString(text) && utf8.ValidString(src) {
			t.Fatalf("invalid UTF-8 from valid input: %q", text)
		}
		if len(text) > p.lim.MaxTextBytes {
			t.Fatalf("text %d bytes over the limit", len(text))
		}
		s := m.HTML
		if s.CommentSplits > s.SplitWords || s.LinkMismatch > s.Links || s.VisibleChars < 0 {
			t.Fatalf("inconsistent stats %+v", s)
		}
		for _, u := range links {
			if u.Host == "" {
				t.Fatalf("link without host: %+v", u)
			}
		}
	})
}

// FuzzRTF drives the RTF text extractor.
func FuzzRTF(f *testing.F) {
	seedFiles(f, "testdata/*.rtf")
	f.Add([]byte(`{\rtf1\ansi\ansicpg1251{\fonttbl{\f0\fcharset204 A;}}\f0\'cf\u1044?\bin3 abc\par}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, _ := rtfText(b, 1<<16)
		if len(text) > 1<<16+8 {
			t.Fatalf("text %d bytes over the limit", len(text))
		}
	})
}

// FuzzWord drives the OLE2 compound-file and .doc piece-table reader, the
// .docx reader, the macro finder and the PowerPoint record walk.
func FuzzWord(f *testing.F) {
	seedFiles(f, "testdata/*.doc")
	seedFiles(f, "testdata/*.docx")
	f.Add(cfbOf(f, "Macros/", "VBA/", "_VBA_PROJECT"))
	f.Add(cfbWith(f, pptStream(1), "Current User", "PowerPoint Document"))
	f.Add(zipNamed(f, "word/document.xml", "word/vbaProject.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		docText(b, 1<<16)
		docxText(b, 1<<16, 1<<20)
		OfficeMacros(b)
		pptMacros(b)
	})
}
