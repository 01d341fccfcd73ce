package structure

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scilla-mail/scilla/server/check/checktest"
	rulescheck "github.com/scilla-mail/scilla/server/check/rules"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

func TestGolden(t *testing.T) {
	checktest.Golden(t, []engine.Check{New()}, nil)
}

// TestSigns pins the sign each example must produce, and that switching
// the sign's rule off removes it.
func TestSigns(t *testing.T) {
	tests := []struct {
		file, sign string // sign "" = no sign at all
	}{
		{"html-hidden.eml", SignHiddenText},
		{"html-tiny.eml", SignTinyText},
		{"html-samecolor.eml", SignSameColor},
		{"html-comment-split.eml", SignCommentSplit},
		{"html-tag-split.eml", SignSplitWords},
		{"html-image-only.eml", SignImageOnly},
		{"html-link-mismatch.eml", SignLinkMismatch},
		{"html-many-links.eml", SignManyLinks},
		{"html-encoded.eml", SignEncodedLetters},
		{"corpus-comment-split-spam.eml", SignCommentSplit},
		{"corpus-samecolor-spam.eml", SignSameColor},
		{"corpus-image-only-spam.eml", SignImageOnly},
		{"mime-unterminated.eml", "MIME_MULTIPART_UNTERMINATED"},
		{"mime-boundary-missing.eml", "MIME_MULTIPART_BOUNDARY_MISSING"},
		{"mime-no-boundary.eml", "MIME_MULTIPART_NO_BOUNDARY"},
		{"mime-bad-base64.eml", "MIME_BAD_BASE64"},
		{"mime-unknown-charset.eml", "MIME_UNKNOWN_CHARSET"},
		{"mime-8bit-header.eml", "MIME_HEADER_8BIT"},
		{"attach-executable.eml", SignExecutable},
		{"attach-html.eml", SignHTMLAttachment},
		{"text-random-letters.eml", SignRandomLetters},
		{"ham-long-words.eml", ""},
		{"ham-pdf-attachment.eml", ""},
		{"ham-newsletter.eml", ""},
		{"corpus-ham.eml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := checktest.ReadFile(t, "testdata/"+tt.file)
			gv := checktest.Scan(t, []engine.Check{New()}, raw, nil)
			if tt.sign == "" {
				if len(gv.Signs) != 0 {
					t.Fatalf("signs %+v, want none", gv.Signs)
				}
				return
			}
			if !checktest.HasSign(gv, tt.sign) {
				t.Fatalf("signs %+v, want %s", gv.Signs, tt.sign)
			}
			off := checktest.Scan(t, []engine.Check{New()}, raw, func(s *policy.Settings) {
				s.Methods.HeaderRules = map[string]bool{strings.ToLower(tt.sign): false}
			})
			if checktest.HasSign(off, tt.sign) {
				t.Errorf("rule %s off: sign still there", strings.ToLower(tt.sign))
			}
		})
	}
}

// TestRandomWord: random letters are found, and words of European
// languages, identifiers and shouts are not.
func TestRandomWord(t *testing.T) {
	tests := []struct{ text, want string }{
		{"lowest rates   bxqtrmlkdfw", "bxqtrmlkdfw"},
		{"QKDJTQSSCR at the end", "QKDJTQSSCR"},
		{"tail: mcmfkhcpedgetqj.", "mcmfkhcpedgetqj"},
		{"bxqtrmlk", ""}, // too short
		{"Rechtsschutzversicherung, Rechtsstreit, Herbstschlussverkauf, angstschreeuw", ""},
		{"strengthening Bydgoszczanin przyszczepic", ""},
		{"LARRRRRGER", ""},                                // a shout
		{"bXqtrmlkdfw", ""},                               // mixed case: an identifier
		{"id=bxqtrmlkdfw x/bxqtrmlkdfw", ""},              // in a link
		{"bxqtrmlkdfw2 bxqtrmlkdfwé", ""},                 // touches a digit or a letter beyond ASCII
		{"bxqtrmlkdfw@example.net", ""},                   // an address
		{strings.Repeat("a ", 40000) + "bxqtrmlkdfw", ""}, // beyond what is read
	}
	for _, tt := range tests {
		if got := randomWord(tt.text); got != tt.want {
			t.Errorf("randomWord(%.40q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// FuzzRandomWord: any text is read without a panic, and what is found is
// a word of the text that reads as random.
func FuzzRandomWord(f *testing.F) {
	for _, s := range []string{"lowest rates   bxqtrmlkdfw", "tail: mcmfkhcpedgetqj.", "Rechtsschutzversicherung", "\xffbxqtrmlkdfw.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if w := randomWord(s); w != "" && (!strings.Contains(s, w) || !random(w) || len(w) < minRandomLen) {
			t.Fatalf("randomWord(%q) = %q", s, w)
		}
	})
}

// TestDocumented: docs/analysis.md lists every scoring anomaly with its sign
// and score.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/analysis.md")
	if err != nil {
		t.Fatal(err)
	}
	for a, s := range anomalySigns {
		if s.score == 0 {
			continue
		}
		row := fmt.Sprintf("| `%s` | `%s` | %.1f |", a, SignName(a), s.score)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/analysis.md lacks the row %q", row)
		}
	}
}

// TestRuleNames: every sign can be switched and has a valid policy name.
func TestRuleNames(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	names := RuleNames()
	if len(names) < 30 {
		t.Fatalf("only %d rule names", len(names))
	}
	for _, n := range names {
		if !valid.MatchString(n) {
			t.Errorf("rule name %q is not a valid policy rule name", n)
		}
	}
}

// zipOf returns a ZIP archive holding empty files with the names; a name
// ending in "+enc" is written as an encrypted file (without the suffix).
func zipOf(t testing.TB, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		var err error
		if name, ok := strings.CutSuffix(n, "+enc"); ok {
			// The directory's flag is what the check reads; the 12 bytes
			// stand for the encryption header of ZipCrypto.
			var w io.Writer
			w, err = zw.CreateRaw(&zip.FileHeader{Name: name, Flags: 0x1, CompressedSize64: 12})
			if err == nil {
				_, err = w.Write(make([]byte, 12))
			}
		} else {
			_, err = zw.Create(n)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zipIn returns a ZIP archive holding one file, name, with the bytes data,
// and empty files with the other names.
func zipIn(t testing.TB, name string, data []byte, others ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err == nil {
		_, err = w.Write(data)
	}
	for _, o := range others {
		if err == nil {
			_, err = zw.Create(o)
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withAttachment returns a message with a line of text and one attached
// file of the content type, name and bytes.
func withAttachment(ctype, file string, body []byte) []byte {
	return []byte("From: a@example.com\r\nTo: user@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: " + ctype + "; name=\"" + file + "\"\r\nContent-Disposition: attachment; filename=\"" + file + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(body) + "\r\n--b--\r\n")
}

// rarOf returns a RAR 5 archive of stored (uncompressed) files with the
// names, each holding its name as content; a name ending in "+enc" is
// written with a file encryption record (without the suffix). It follows
// the RAR 5.0 archive format: a signature, then blocks of CRC32, size,
// type and flags (variable-length integers), here a main archive block, a
// file block per file with its data after it, and an end block.
func rarOf(t testing.TB, names ...string) []byte {
	t.Helper()
	vint := func(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
	block := func(typ, flags uint64, fields, extra []byte, data []byte) []byte {
		var h []byte
		h = vint(h, typ)
		h = vint(h, flags)
		if len(extra) > 0 {
			h = vint(h, uint64(len(extra)))
		}
		if flags&0x2 != 0 {
			h = vint(h, uint64(len(data)))
		}
		h = append(append(h, fields...), extra...)
		sized := append(vint(nil, uint64(len(h))), h...)
		out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(sized))
		return append(append(out, sized...), data...)
	}
	b := []byte("Rar!\x1a\x07\x01\x00")
	b = append(b, block(1, 0, vint(nil, 0), nil, nil)...) // main archive block, no archive flags
	for _, n := range names {
		name, enc := strings.CutSuffix(n, "+enc")
		var f []byte
		f = vint(f, 0)                 // file flags
		f = vint(f, uint64(len(name))) // unpacked size
		f = vint(f, 0x20)              // attributes
		f = vint(f, 0)                 // compression: version 0, stored
		f = vint(f, 0)                 // host OS: Windows
		f = vint(f, uint64(len(name)))
		f = append(f, name...)
		flags, data := uint64(0x2), []byte(name)
		var extra []byte
		if enc {
			// Encryption record: type 1, version 0 (AES-256), no flags,
			// KDF count, 16 bytes of salt and of IV.
			rec := vint(vint(vint(nil, 1), 0), 0)
			rec = append(append(rec, 15), make([]byte, 32)...)
			extra = append(vint(nil, uint64(len(rec))), rec...)
			flags |= 0x1
			data = make([]byte, 16)
		}
		b = append(b, block(2, flags, f, extra, data)...)
	}
	return append(b, block(5, 0, vint(nil, 0), nil, nil)...) // end of archive
}

// TestArchiveAttachment: a program inside a small attached ZIP, RAR or 7z
// archive counts as an attached program, an encrypted file as an encrypted
// archive; documents, scripts among a project's files, or bytes that are
// no archive do not. The format is told by the bytes.
func TestArchiveAttachment(t *testing.T) {
	for _, tc := range []struct {
		name           string
		file           string
		body           []byte
		exe, encrypted bool
	}{
		{"shortcut behind a PDF name", "files.zip", zipOf(t, "Rechnung_2026-04417.pdf.lnk"), true, false},
		{"script in a folder", "files.zip", zipOf(t, "docs/", "docs/readme.txt", "docs/Invoice.JS"), true, false},
		{"program with macOS resource forks", "files.zip", zipOf(t, "Scan.exe", "__MACOSX/._Scan.exe", "__MACOSX/._x", "__MACOSX/._y"), true, false},
		{"encrypted program", "files.zip", zipOf(t, "Payment_Advice.scr+enc"), true, true},
		{"encrypted documents", "files.zip", zipOf(t, "payslip_2026-10.pdf+enc"), false, true},
		{"documents", "files.zip", zipOf(t, "checklist.pdf", "template.csv", "README.txt"), false, false},
		{"a web project", "files.zip", zipOf(t, "site/index.html", "site/app.js", "site/style.css", "site/logo.png", "site/README.md"), false, false},
		{"not an archive", "files.zip", []byte("PK this is not a zip file"), false, false},
		{"program in a zip in a zip", "files.zip", zipIn(t, "Order_2291.zip", zipOf(t, "Order_2291.pdf.exe")), true, false},
		{"encrypted program in a zip in a zip", "files.zip", zipIn(t, "docs.zip", zipOf(t, "scan.js+enc")), true, true},
		{"documents in a zip in a zip", "files.zip", zipIn(t, "backup.zip", zipOf(t, "a.pdf", "b.docx")), false, false},
		{"program in a RAR", "Rechnung.rar", rarOf(t, "Rechnung_2026.pdf.exe"), true, false},
		{"encrypted script in a RAR", "Zahlung.rar", rarOf(t, "Zahlung.vbs+enc"), true, true},
		{"documents in a RAR", "scans.rar", rarOf(t, "scan1.pdf", "scan2.pdf"), false, false},
		{"encrypted documents in a RAR", "payroll.rar", rarOf(t, "payroll_2026-10.xlsx+enc"), false, true},
		{"a RAR named .zip", "invoice.zip", rarOf(t, "invoice.js"), true, false},
		{"a RAR in a zip", "order.zip", zipIn(t, "order.rar", rarOf(t, "order.scr")), true, false},
		{"program among many files in a RAR", "tools.rar", rarOf(t, "a.txt", "b.txt", "c.txt", "setup.exe"), false, false},
		{"truncated RAR", "files.rar", rarOf(t, "setup.exe")[:30], false, false},
		{"program in a 7z", "Rechnung.7z", read7z(t, "exe.7z"), true, false},
		{"7z with an uncompressed header", "invoice.7z", read7z(t, "plainhdr.7z"), true, false},
		{"encrypted script in a 7z", "Zahlung.7z", read7z(t, "enc.7z"), true, true},
		{"7z with an encrypted header", "Zahlung.7z", read7z(t, "sealed.7z"), false, true},
		{"documents in a 7z", "scans.7z", read7z(t, "docs.7z"), false, false},
		{"script beside a folder and an empty file in a 7z", "files.7z", read7z(t, "tree.7z"), true, false},
		{"scripts among many files in a 7z", "project.7z", read7z(t, "many.7z"), false, false},
		{"a 7z in a zip", "order.zip", zipIn(t, "order.7z", read7z(t, "exe.7z")), true, false},
		{"truncated 7z", "files.7z", read7z(t, "exe.7z")[:40], false, false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, withAttachment("application/octet-stream", tc.file, tc.body), nil)
		if got := checktest.HasSign(gv, SignExecutable); got != tc.exe {
			t.Errorf("%s: %s %v, want %v", tc.name, SignExecutable, got, tc.exe)
		}
		if got := checktest.HasSign(gv, SignEncryptedArchive); got != tc.encrypted {
			t.Errorf("%s: %s %v, want %v", tc.name, SignEncryptedArchive, got, tc.encrypted)
		}
	}
}

// read7z returns a 7z archive of testdata/7z, made by 7-Zip (see the
// README there).
func read7z(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "7z", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRARSealed: a RAR archive whose headers are encrypted shows no names,
// and counts as an encrypted archive. The block is RAR 5's archive
// encryption header (type 4), which rardecode refuses without a password.
func TestRARSealed(t *testing.T) {
	b := rarOf(t)
	rec := []byte{0, 0, 15}
	rec = append(rec, make([]byte, 16)...)
	var h []byte
	h = binary.AppendUvarint(h, 4)
	h = binary.AppendUvarint(h, 0)
	h = append(h, rec...)
	sized := append(binary.AppendUvarint(nil, uint64(len(h))), h...)
	enc := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(sized))
	sealed := append(append(append([]byte{}, b[:8]...), enc...), sized...)
	sealed = append(sealed, b[8:]...)
	if a := inspectArchive(sealed); !a.encrypted || a.exe {
		t.Errorf("archive with encrypted headers: %+v, want encrypted", a)
	}
}

// TestDecoyName: a program named as a document is a decoy, whether
// attached or inside an archive; a program or a document named plainly is
// not.
func TestDecoyName(t *testing.T) {
	for name, want := range map[string]bool{
		"invoice.pdf.exe":             true,
		"rechnung_2026-04417.pdf.lnk": true,
		"scan.jpg     .scr":           true,
		"lease_agreement.docx__.vbs":  true,
		"documents.zip.js":            true,
		"setup.exe":                   false,
		"tool-1.2.exe":                false,
		"report.pdf":                  false,
		"report.exe.pdf":              false,
		"archive.tar.gz":              false,
		"v1.2/setup.exe":              false,
	} {
		if got := decoy(name); got != want {
			t.Errorf("decoy(%q) = %v, want %v", name, got, want)
		}
	}
	for _, tc := range []struct {
		file string
		body []byte
		want bool
	}{
		{"Invoice.pdf.exe", []byte("MZ"), true},
		{"Setup.exe", []byte("MZ"), false},
		{"Lease.zip", zipOf(t, "Lease/Agreement_signed.pdf.vbs", "Lease/Letters.pdf.vbs"), true},
		{"Order.rar", rarOf(t, "Order Specification.pdf.exe"), true},
		{"tools.zip", zipOf(t, "bin/setup.exe", "README.txt"), false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, withAttachment("application/octet-stream", tc.file, tc.body), nil)
		if got := checktest.HasSign(gv, SignDecoyName); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.file, SignDecoyName, got, tc.want)
		}
		// A program, disguised or not, counts as a forgery: the words get
		// no credit (engine.Sign.Forged).
		for _, sg := range gv.Signs {
			if sg.Forged != (sg.Name == SignDecoyName || sg.Name == SignExecutable || sg.Name == SignMacroLure) {
				t.Errorf("%s: %s forged %v", tc.file, sg.Name, sg.Forged)
			}
		}
	}
}

// TestOfficeMacroAttachment: an attached Office document with a VBA
// project is a sign, whatever its extension says, also inside a ZIP or a
// ZIP in a ZIP; one without is not, nor is a project inside a file that
// is not a document.
func TestOfficeMacroAttachment(t *testing.T) {
	ppt, err := os.ReadFile("testdata/macros.ppt") // a PowerPoint 97 file whose records say it has macros
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		body []byte
		want bool
	}{
		{"Rechnung_4471.xlsm", zipOf(t, "[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin"), true},
		{"Angebot.docx", zipOf(t, "[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), true},
		{"Angebot.docx", zipOf(t, "[Content_Types].xml", "word/document.xml"), false},
		{"backup.zip", zipOf(t, "xl/vbaProject.bin"), false},
		{"Prezentace.ppt", ppt, true},
		{"Prezentace.dat", ppt, false},
		{"Rechnung.zip", zipIn(t, "Rechnung_4471.docm", zipOf(t, "word/document.xml", "word/vbaProject.bin")), true},
		{"Rechnung.zip", zipIn(t, "Rechnung_4471.docx", zipOf(t, "word/document.xml")), false},
		{"Order.zip", zipIn(t, "order.zip", zipIn(t, "Order.xlsm", zipOf(t, "xl/workbook.xml", "xl/vbaProject.bin"))), true},
		{"tools.zip", zipIn(t, "Planner.xlsm", zipOf(t, "xl/workbook.xml", "xl/vbaProject.bin"), "a.txt", "b.txt", "c.txt"), false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, withAttachment("application/octet-stream", tc.file, tc.body), nil)
		if got := checktest.HasSign(gv, SignOfficeMacro); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.file, SignOfficeMacro, got, tc.want)
		}
	}
}

// TestHTMLOnly: HTML without a plain-text alternative is a sign that
// does not back the classifier (engine.Sign.Alone); with one, none.
func TestHTMLOnly(t *testing.T) {
	head := "From: DHL Express <noreply@dhl.example>\r\nTo: user@example.org\r\nSubject: On its way\r\nMIME-Version: 1.0\r\n"
	html := "<html><body><p>Your shipment 4471 is on its way and arrives tomorrow.</p></body></html>"
	only := head + "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
	both := head + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour shipment 4471 is on its way.\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n" + html + "\r\n--b--\r\n"
	gv := checktest.Scan(t, []engine.Check{New()}, []byte(only), nil)
	i := slices.IndexFunc(gv.Signs, func(sg engine.Sign) bool { return sg.Name == SignHTMLOnly })
	if i < 0 || gv.Signs[i].Alone != 0.3 {
		t.Errorf("HTML alone: signs %v, want %s counting at most 0.3 alone", gv.Signs, SignHTMLOnly)
	}
	if gv := checktest.Scan(t, []engine.Check{New()}, []byte(both), nil); checktest.HasSign(gv, SignHTMLOnly) {
		t.Errorf("with a text alternative: signs %v", gv.Signs)
	}
}

// TestMacroLure: a macro workbook whose message asks to enable its content
// (the default database's MALWARE_ENABLE_CONTENT) gets MIME_OFFICE_MACRO_LURE,
// which marks it forged, so a classifier that rates its business prose
// legitimate cannot argue it down; the same workbook sent without the
// request, or the request without a macro document, does not.
func TestMacroLure(t *testing.T) {
	db, err := contentdb.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{Checks: []engine.Check{New(), rulescheck.New()}}, &engine.Snapshot{Policy: policy.Default(), DB: db})
	workbook := zipOf(t, "[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin")
	mail := func(text, file string, body []byte) []byte {
		return []byte(strings.Replace(string(withAttachment("application/octet-stream", file, body)), "see attached", text, 1))
	}
	ask := "Buongiorno, in allegato il listino. Per visualizzare i prezzi è necessario abilitare il contenuto all'apertura del file."
	for _, tc := range []struct {
		name string
		raw  []byte
		want bool
	}{
		{"a macro workbook with the request", mail(ask, "Listino_2027.xlsm", workbook), true},
		{"a macro workbook alone", mail("Buongiorno, in allegato il listino 2027.", "Listino_2027.xlsm", workbook), false},
		{"the request with a workbook without macros", mail(ask, "Listino_2027.xlsx", zipOf(t, "[Content_Types].xml", "xl/workbook.xml")), false},
	} {
		v, err := e.Scan(context.Background(), "t", &engine.Envelope{Rcpts: []string{"user@example.org"}}, tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		gv := v.Groups[0]
		if got := checktest.HasSign(gv, SignMacroLure); got != tc.want {
			t.Errorf("%s: %s %v, want %v (signs %v)", tc.name, SignMacroLure, got, tc.want, gv.Signs)
		}
	}
}

// FuzzInspectArchive: any bytes as an attached archive, without a panic.
func FuzzInspectArchive(f *testing.F) {
	f.Add(zipOf(f, "a.pdf.lnk"))
	f.Add(zipOf(f, "a.pdf+enc"))
	f.Add(zipIn(f, "in.zip", zipOf(f, "a.exe")))
	f.Add([]byte("PK\x05\x06"))
	f.Add(rarOf(f, "a.exe", "b.pdf+enc"))
	f.Add(zipIn(f, "in.rar", rarOf(f, "a.js")))
	f.Add(zipIn(f, "a.docm", zipOf(f, "word/vbaProject.bin")))
	f.Add([]byte("Rar!\x1a\x07\x00\xcf\x90\x73\x00\x00\x0d\x00\x00\x00\x00\x00\x00\x00"))
	for _, name := range []string{"exe.7z", "enc.7z", "sealed.7z", "plainhdr.7z", "tree.7z", "many.7z"} {
		f.Add(read7z(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inspectArchive(b)
	})
}

// qrPNG returns a 400×300 PNG picture holding a QR code of text.
func qrPNG(t testing.TB, text string) []byte {
	t.Helper()
	code, err := gozxingqr.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 200, 200, nil)
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewRGBA(image.Rect(0, 0, 400, 300))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(100, 50, 300, 250), code, image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, canvas); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestQRLink: a short message whose picture holds a QR code with a link
// gets IMAGE_QR_LINK, and the link joins the message's links; a code
// without a link, a picture without a code, or a long newsletter (not
// searched) do not.
func TestQRLink(t *testing.T) {
	const link = "https://sharepoint-mfa.example/renew?id=77"
	blank := func() []byte {
		var b bytes.Buffer
		img := image.NewGray(image.Rect(0, 0, 400, 300))
		for i := range img.Pix {
			img.Pix[i] = byte(i % 200)
		}
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}()
	short := "Your mailbox password expires today. Scan the code below with your phone to keep access."
	long := strings.Repeat("Our autumn newsletter brings news from the garden, recipes and events. ", 40)
	for _, tc := range []struct {
		name  string
		text  string
		image []byte
		want  bool
	}{
		{"quishing", short, qrPNG(t, link), true},
		{"wi-fi code", "The guest network for Thursday's workshop:", qrPNG(t, "WIFI:S:Guests;T:WPA;P:autumn-2026;;"), false},
		{"photo", "Photo from the team day.", blank, false},
		{"newsletter with an app code", long, qrPNG(t, "https://apps.example/garden"), false},
	} {
		raw := "From: it-desk@example.com\r\nTo: user@example.org\r\nSubject: Action required\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/related; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + tc.text + "\r\n" +
			"--b\r\nContent-Type: image/png; name=\"code.png\"\r\nContent-ID: <code>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(tc.image) + "\r\n--b--\r\n"
		gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil)
		if got := checktest.HasSign(gv, SignQRLink); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.name, SignQRLink, got, tc.want)
		}
		m := message.Parse([]byte(raw), message.DefaultLimits)
		found := slices.ContainsFunc(m.URLs, func(u message.URL) bool { return u.Host == "sharepoint-mfa.example" })
		if found != (tc.name == "quishing") {
			t.Errorf("%s: QR link among the message's links %v (%v)", tc.name, found, m.URLs)
		}
	}
	// The code in a picture of an attached PDF (written by ReportLab,
	// server/message/testdata/pdf) counts alike.
	pdf, err := os.ReadFile("../../message/testdata/pdf/qr-reportlab.pdf")
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: it-desk@example.com\r\nTo: user@example.org\r\nSubject: Action required\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + short + "\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"Mailbox.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pdf) + "\r\n--b--\r\n"
	if gv := checktest.Scan(t, []engine.Check{New()}, []byte(raw), nil); !checktest.HasSign(gv, SignQRLink) {
		t.Errorf("QR code in a PDF: no %s", SignQRLink)
	}
}

// TestPageScript: an attached page or SVG image that runs a script gets
// HTML_ATTACHMENT_SCRIPT beside HTML_ATTACHMENT, and an SVG image that runs
// one also MIME_EXECUTABLE_ATTACHMENT (a script under an image's name); a
// plain SVG logo or a saved receipt gets only HTML_ATTACHMENT.
func TestPageScript(t *testing.T) {
	for _, tc := range []struct {
		name, file, ctype, body string
		want, program           bool
	}{
		{"svg with a script", "Voicemail_0412.svg", "image/svg+xml",
			`<svg xmlns="http://www.w3.org/2000/svg"><script>window.location.href=atob("aHR0cHM6Ly94LmV4YW1wbGUv")</script></svg>`, true, true},
		{"svg with an onload handler", "play.svg", "image/svg+xml",
			`<svg xmlns="http://www.w3.org/2000/svg" OnLoad = "location='https://x.example/'"><rect/></svg>`, true, true},
		{"page with a javascript link", "remittance.html", "text/html",
			`<html><body><a href="JavaScript:void(document.forms[0].submit())">View</a></body></html>`, true, false},
		{"svg logo", "logo.svg", "image/svg+xml",
			`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#0a6"/></svg>`, false, false},
		{"saved receipt", "receipt.html", "text/html",
			`<html><body><h1>Receipt</h1><p>Total 12.40 EUR. Reload the page online if needed.</p></body></html>`, false, false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, withAttachment(tc.ctype, tc.file, []byte(tc.body)), nil)
		if !checktest.HasSign(gv, SignHTMLAttachment) {
			t.Errorf("%s: no %s", tc.name, SignHTMLAttachment)
		}
		if got := checktest.HasSign(gv, SignPageScript); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.name, SignPageScript, got, tc.want)
		}
		if got := checktest.HasSign(gv, SignExecutable); got != tc.program {
			t.Errorf("%s: %s %v, want %v", tc.name, SignExecutable, got, tc.program)
		}
	}
}

// TestArchivedPage: a web page alone or nearly so in an attached archive
// (an "invoice" ZIP holding Factuur.html) counts as an attached page, and
// its script as a page that runs one; a zipped web project does not count.
func TestArchivedPage(t *testing.T) {
	const script = `<html><body><script>location.href=atob("aHR0cHM6Ly94LmV4YW1wbGUv")</script></body></html>`
	const plain = `<html><body><h1>Factuur 2026-11873</h1><p>Totaal 2.487,60 EUR</p></body></html>`
	for _, tc := range []struct {
		name         string
		body         []byte
		page, script bool
	}{
		{"a page alone", zipIn(t, "Factuur_2026-11873.html", []byte(plain)), true, false},
		{"a page that runs a script", zipIn(t, "Remittance.htm", []byte(script)), true, true},
		{"an SVG with a script beside a text", zipIn(t, "Voicemail.svg", []byte(`<svg><script>x()</script></svg>`), "readme.txt"), true, true},
		{"an encrypted page", zipOf(t, "Invoice.html+enc"), true, false},
		{"a page in a zip in a zip", zipIn(t, "inner.zip", zipIn(t, "Payment.html", []byte(script))), true, true},
		{"a web project", zipIn(t, "site/index.html", []byte(script), "site/app.js", "site/style.css", "site/logo.png"), false, false},
		{"documents", zipOf(t, "a.pdf", "b.docx"), false, false},
	} {
		gv := checktest.Scan(t, []engine.Check{New()}, withAttachment("application/zip", "files.zip", tc.body), nil)
		if got := checktest.HasSign(gv, SignHTMLAttachment); got != tc.page {
			t.Errorf("%s: %s %v, want %v", tc.name, SignHTMLAttachment, got, tc.page)
		}
		if got := checktest.HasSign(gv, SignPageScript); got != tc.script {
			t.Errorf("%s: %s %v, want %v", tc.name, SignPageScript, got, tc.script)
		}
	}
}
