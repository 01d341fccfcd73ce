package message

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"slices"
	"testing"
)

// pdfObjStm returns a PDF 1.5 whose link annotation is inside a compressed
// object stream, as current PDF writers save it.
func pdfObjStm(t testing.TB, objects string) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(objects))
	zw.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	b.WriteString("5 0 obj\n<< /Length 40 /Filter /FlateDecode >>\nstream\nq 0 0 1 rg (page drawing) Tj Q\nendstream\nendobj\n")
	b.WriteString("7 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ")
	b.WriteString("99 >>\nstream\r\n")
	b.Write(z.Bytes())
	b.WriteString("\r\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

func TestPDFLinks(t *testing.T) {
	const classic = "%PDF-1.4\n1 0 obj\n<< /Type /Annot /Subtype /Link /Rect [100 100 300 140]\n" +
		"/A << /S /URI /URI (https://docs-share.example/view?id=1\\(a\\)) >> >>\nendobj\n" +
		"2 0 obj\n<< /Type /Annot /Subtype /Link /A << /S /URI /URI <68747470733A2F2F782E6578616D706C652F> >> >>\nendobj\n%%EOF\n"
	for _, tc := range []struct {
		name string
		pdf  []byte
		want []string
		ok   bool
	}{
		{"annotations in the file", []byte(classic), []string{"https://docs-share.example/view?id=1(a)", "https://x.example/"}, true},
		{"annotation in an object stream", pdfObjStm(t, "12 0 << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://sign.docs-review.example/s/9f3) >> >>"),
			[]string{"https://sign.docs-review.example/s/9f3"}, true},
		{"octal escapes", []byte("%PDF-1.3\n<< /URI (https://a.example/\\160\\144f) >>"), []string{"https://a.example/pdf"}, true},
		{"no links", pdfObjStm(t, "3 0 << /Type /Page >>"), nil, true},
		{"not a pdf", []byte("<< /URI (https://a.example/) >>"), nil, false},
	} {
		got, _, ok := pdfLinks(tc.pdf, 1<<20)
		if !slices.Equal(got, tc.want) || ok != tc.ok {
			t.Errorf("%s: pdfLinks = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// TestPDFLinksInMessage: the link of an attached PDF joins the message's
// links, and a PDF's inflating is bounded.
func TestPDFLinksInMessage(t *testing.T) {
	pdf := pdfObjStm(t, "12 0 << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://sign.docs-review.example/s/9f3) >> >>")
	raw := "From: a@example.com\r\nTo: b@example.org\r\nSubject: Remittance\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease review the attached.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"Remittance.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pdf) + "\r\n--b--\r\n"
	m := Parse([]byte(raw), DefaultLimits)
	if !slices.ContainsFunc(m.URLs, func(u URL) bool { return u.Domain == "docs-review.example" }) {
		t.Errorf("PDF link not among the message's links: %v", m.URLs)
	}
	if len(m.Anomalies) != 0 {
		t.Errorf("anomalies %v, want none", m.Anomalies)
	}
	if _, used, _ := pdfLinks(pdf, 10); used > 10 {
		t.Errorf("inflated %d bytes with room for 10", used)
	}
}

// FuzzPDFLinks: any bytes as a PDF, without a panic or more inflating than
// allowed.
func FuzzPDFLinks(f *testing.F) {
	f.Add(pdfObjStm(f, "1 0 << /URI (https://a.example/) >>"))
	f.Add([]byte("%PDF-1.4 /URI <6874> /URI (a\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, used, _ := pdfLinks(b, 1<<16); used > 1<<16 {
			t.Fatalf("inflated %d bytes", used)
		}
	})
}
