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
	if len(names) > 3 {
		t.Fatal("cfbOf: at most 3 names fit the directory sector")
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
	return append(append(h, fat...), dir...)
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
