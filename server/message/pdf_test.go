package message

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/qrcode"
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

// TestPDFImages: the pictures of PDFs written by img2pdf and ReportLab
// (testdata/pdf/README) decode, and a QR code in them reads: grey, 1-bit
// indexed and RGB samples behind PNG predictors, JPEG, ASCII85 over
// Flate; a photograph holds none. A stencil mask written here by hand
// reads too.
func TestPDFImages(t *testing.T) {
	const (
		mailbox  = "https://m365-mailbox-verify.example/auth?id=55102"
		docusign = "https://docusign-review.example/d/7731"
	)
	for _, tc := range []struct {
		file string
		want string
	}{
		{"qr-img2pdf-gray.pdf", docusign},
		{"qr-img2pdf-1bit-indexed.pdf", docusign},
		{"qr-img2pdf-rgb.pdf", mailbox},
		{"qr-img2pdf-jpeg.pdf", mailbox},
		{"qr-reportlab.pdf", docusign},
		{"photo-reportlab.pdf", ""},
	} {
		b, err := os.ReadFile(filepath.Join("testdata/pdf", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		pics := pdfImages(b, 3)
		if len(pics) != 1 {
			t.Errorf("%s: %d pictures, want 1", tc.file, len(pics))
			continue
		}
		img, _, err := pics[0].decode(1 << 20)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if got, _ := qrcode.ReadImage(img); got != tc.want {
			t.Errorf("%s: code %q, want %q", tc.file, got, tc.want)
		}
	}
	// A stencil mask: 1 bit a pixel, 0 paints, in hex.
	code, err := qrcode.ReadImage(stencil(t))
	if err != nil || code != docusign {
		t.Errorf("stencil mask: %q, %v; want %q", code, err, docusign)
	}
}

// stencil returns what decode draws of a hand-written /ImageMask picture
// of the QR code of the picture in testdata/pdf/qr-img2pdf-gray.pdf.
func stencil(t *testing.T) image.Image {
	t.Helper()
	b, err := os.ReadFile("testdata/pdf/qr-img2pdf-gray.pdf")
	if err != nil {
		t.Fatal(err)
	}
	grey, _, err := pdfImages(b, 1)[0].decode(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	r := grey.Bounds()
	var hex strings.Builder
	for y := r.Min.Y; y < r.Max.Y; y++ {
		var acc, n byte
		for x := r.Min.X; x < r.Max.X; x++ {
			acc <<= 1
			if grey.(*image.Gray).GrayAt(x, y).Y > 127 {
				acc |= 1
			}
			if n++; n == 8 {
				fmt.Fprintf(&hex, "%02x", acc)
				acc, n = 0, 0
			}
		}
		if n > 0 {
			fmt.Fprintf(&hex, "%02x", acc<<(8-n))
		}
		hex.WriteByte('\n')
	}
	pdf := fmt.Sprintf("%%PDF-1.4\n4 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ImageMask true /Filter /ASCIIHexDecode >>\nstream\n%s>\nendstream\nendobj\n",
		r.Dx(), r.Dy(), hex.String())
	pics := pdfImages([]byte(pdf), 1)
	if len(pics) != 1 {
		t.Fatalf("stencil mask: %d pictures", len(pics))
	}
	img, _, err := pics[0].decode(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPDFQRCodeInMessage: the QR code of a short message's PDF
// attachment is read, and its link joins the message's links; a long
// message's is not looked at.
func TestPDFQRCodeInMessage(t *testing.T) {
	pdf, err := os.ReadFile("testdata/pdf/qr-reportlab.pdf")
	if err != nil {
		t.Fatal(err)
	}
	mail := func(text string) []byte {
		return []byte("From: it-desk@example.com\r\nTo: b@example.org\r\nSubject: Mailbox verification\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n" +
			"--b\r\nContent-Type: application/pdf; name=\"Verify.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(pdf) + "\r\n--b--\r\n")
	}
	m := Parse(mail("Scan the code in the attached document to keep your mailbox."), DefaultLimits)
	if !slices.Equal(m.QRCodes, []string{"https://docusign-review.example/d/7731"}) ||
		!slices.ContainsFunc(m.URLs, func(u URL) bool { return u.Domain == "docusign-review.example" }) {
		t.Errorf("short message: codes %q, links %v", m.QRCodes, m.URLs)
	}
	if len(m.Anomalies) != 0 {
		t.Errorf("anomalies %v, want none", m.Anomalies)
	}
	if m := Parse(mail(strings.Repeat("minutes of the meeting ", 200)), DefaultLimits); len(m.QRCodes) != 0 {
		t.Errorf("long message: codes %q, want none", m.QRCodes)
	}
}

// FuzzPDFImages: any bytes as a PDF's pictures, without a panic or more
// inflating than allowed.
func FuzzPDFImages(f *testing.F) {
	for _, name := range []string{"qr-img2pdf-1bit-indexed.pdf", "qr-reportlab.pdf"} {
		b, err := os.ReadFile(filepath.Join("testdata/pdf", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("obj << /Subtype /Image /Width 60 /Height 60 /BitsPerComponent 2 /ColorSpace [/Indexed /DeviceGray 3 <00ff>] /Filter /ASCIIHexDecode >> stream\n0f>\nendstream"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, pic := range pdfImages(b, 3) {
			if _, used, _ := pic.decode(1 << 16); used > 1<<16 {
				t.Fatalf("inflated %d bytes", used)
			}
		}
	})
}
