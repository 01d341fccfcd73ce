package message

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"
)

// cfbOf returns a compound file (version 3, 512-byte sectors) whose
// directory lists a root entry and the named storages (a trailing "/")
// and empty streams, in order: sector 0 is the FAT, sector 1 the
// directory.
func cfbOf(t testing.TB, names ...string) []byte {
	t.Helper()
	return cfbWith(t, nil, names...)
}

// cfbWith is cfbOf with data as the content of the last name, a stream:
// at least 4,096 bytes, so that it lives in ordinary sectors from sector 2
// on, and at most 126 sectors, so that one FAT sector maps them.
func cfbWith(t testing.TB, data []byte, names ...string) []byte {
	t.Helper()
	if len(names) > 3 {
		t.Fatal("cfbOf: at most 3 names fit the directory sector")
	}
	nsec := (len(data) + 511) / 512
	if data != nil && (len(data) < 4096 || nsec > 126) {
		t.Fatalf("cfbWith: %d bytes of data, want 4,096 to 64,512", len(data))
	}
	const end, free = 0xFFFFFFFE, 0xFFFFFFFF
	le := binary.LittleEndian
	h := make([]byte, 512)
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[0x18:], 0x3E)   // minor version
	le.PutUint16(h[0x1A:], 3)      // major version
	le.PutUint16(h[0x1C:], 0xFFFE) // byte order
	le.PutUint16(h[0x1E:], 9)      // sector shift: 512 bytes
	le.PutUint16(h[0x20:], 6)      // mini sector shift: 64 bytes
	le.PutUint32(h[0x2C:], 1)      // FAT sectors
	le.PutUint32(h[0x30:], 1)      // first directory sector
	le.PutUint32(h[0x38:], 4096)   // mini stream cutoff
	le.PutUint32(h[0x3C:], end)    // no mini FAT
	le.PutUint32(h[0x44:], end)    // no DIFAT sectors
	for i := range 109 {
		le.PutUint32(h[0x4C+i*4:], free)
	}
	le.PutUint32(h[0x4C:], 0) // the FAT is sector 0
	fat := make([]byte, 512)
	for i := range 128 {
		le.PutUint32(fat[i*4:], free)
	}
	le.PutUint32(fat[0:], 0xFFFFFFFD) // sector 0 holds the FAT
	le.PutUint32(fat[4:], end)        // the directory is one sector
	for i := range nsec {
		next := uint32(i + 3)
		if i == nsec-1 {
			next = end
		}
		le.PutUint32(fat[(i+2)*4:], next)
	}
	dir := make([]byte, 512)
	entry := func(i int, name string, typ byte) {
		e := dir[i*128:]
		u := utf16.Encode([]rune(name))
		for k, c := range u {
			le.PutUint16(e[k*2:], c)
		}
		le.PutUint16(e[0x40:], uint16(len(u)*2+2))
		e[0x42] = typ
		le.PutUint32(e[0x44:], free) // no siblings or child: the reader lists entries in order
		le.PutUint32(e[0x48:], free)
		le.PutUint32(e[0x4C:], free)
		le.PutUint32(e[0x74:], end)
	}
	entry(0, "Root Entry", 5)
	for i, n := range names {
		if s, ok := bytes.CutSuffix([]byte(n), []byte("/")); ok {
			entry(i+1, string(s), 1)
		} else {
			entry(i+1, n, 2)
		}
	}
	if data != nil {
		e := dir[len(names)*128:]
		le.PutUint32(e[0x74:], 2)
		le.PutUint32(e[0x78:], uint32(len(data)))
	}
	out := append(append(h, fat...), dir...)
	return append(out, append(data, make([]byte, nsec*512-len(data))...)...)
}

// pptStream returns a PowerPoint document stream of at least 4,096 bytes:
// a DocumentContainer holding a DocInfoListContainer, whose VBAInfoAtom
// says hasMacros, after a padding atom and a DocumentAtom.
func pptStream(hasMacros uint32) []byte {
	le := binary.LittleEndian
	rec := func(ver, typ uint16, body []byte) []byte {
		h := make([]byte, 8)
		le.PutUint16(h, ver)
		le.PutUint16(h[2:], typ)
		le.PutUint32(h[4:], uint32(len(body)))
		return append(h, body...)
	}
	atom := make([]byte, 12)
	le.PutUint32(atom[4:], hasMacros)
	le.PutUint32(atom[8:], 2)
	vba := rec(0x1F, 0x03FF, rec(0x02, 0x0400, atom))
	docInfo := rec(0x0F, 0x07D0, vba)
	body := append(rec(0x01, 0x03E9, make([]byte, 40)), rec(0x00, 0x0FBA, make([]byte, 4096))...)
	return rec(0x0F, 0x03E8, append(body, docInfo...))
}

// zipNamed returns a ZIP archive of empty files with the names.
func zipNamed(t testing.TB, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		if _, err := zw.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOfficeMacros: documents with a VBA project are told from those
// without, in both formats; other bytes carry none.
func TestOfficeMacros(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"Word 97 document with macros", cfbOf(t, "Macros/", "VBA/", "_VBA_PROJECT"), true},
		{"Excel 97 workbook with macros", cfbOf(t, "_VBA_PROJECT_CUR/", "VBA/", "_VBA_PROJECT"), true},
		{"compound file without macros", cfbOf(t, "WordDocument", "1Table"), false},
		{"PowerPoint 97 presentation with macros", cfbWith(t, pptStream(1), "Current User", "PowerPoint Document"), true},
		{"PowerPoint 97 presentation without macros", cfbWith(t, pptStream(0), "Current User", "PowerPoint Document"), false},
		{"PowerPoint stream cut short", cfbWith(t, pptStream(1)[:4190], "Current User", "PowerPoint Document"), false},
		{"real Word 97 document", read("offer.doc"), false},
		{"macro-enabled workbook", zipNamed(t, "[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin"), true},
		{"macro-enabled document renamed .docx", zipNamed(t, "[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), true},
		{"real Word 2007 document", read("offer.docx"), false},
		{"a PDF", []byte("%PDF-1.7\n"), false},
		{"nothing", nil, false},
	} {
		if got := OfficeMacros(tc.b); got != tc.want {
			t.Errorf("%s: OfficeMacros = %v, want %v", tc.name, got, tc.want)
		}
	}
}
