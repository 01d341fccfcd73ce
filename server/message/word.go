package message

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// docText extracts the text of a Word 97–2003 document: the WordDocument
// stream of the OLE2 compound file, read through the piece table of its
// table stream (Clx, [MS-DOC] 2.9.38). Field instructions are dropped.
// ok is false for files that are not such documents (or are encrypted).
func docText(b []byte, limit int) (string, bool) {
	cf, ok := openCFB(b)
	if !ok {
		return "", false
	}
	wd := cf.stream("WordDocument")
	if len(wd) < 0x1AA || binary.LittleEndian.Uint16(wd) != 0xA5EC {
		return "", false
	}
	flags := binary.LittleEndian.Uint16(wd[0x0A:])
	if flags&0x0100 != 0 { // fEncrypted
		return "", false
	}
	table := "0Table"
	if flags&0x0200 != 0 { // fWhichTblStm
		table = "1Table"
	}
	// FibRgFcLcb starts after FibBase (32 bytes), csw + FibRgW, cslw + FibRgLw.
	pos := 32
	csw := int(binary.LittleEndian.Uint16(wd[pos:]))
	pos += 2 + csw*2
	if pos+2 > len(wd) {
		return "", false
	}
	cslw := int(binary.LittleEndian.Uint16(wd[pos:]))
	pos += 2 + cslw*4 + 2
	clxAt := pos + 33*8 // fcClx is the 34th pair of FibRgFcLcb97
	if clxAt+8 > len(wd) {
		return "", false
	}
	fcClx := binary.LittleEndian.Uint32(wd[clxAt:])
	lcbClx := binary.LittleEndian.Uint32(wd[clxAt+4:])
	ts := cf.stream(table)
	if uint64(fcClx)+uint64(lcbClx) > uint64(len(ts)) || lcbClx == 0 {
		return "", false
	}
	clx := ts[fcClx : fcClx+lcbClx]
	// Skip Prc entries (0x01) to the Pcdt (0x02).
	for len(clx) > 0 && clx[0] == 0x01 {
		if len(clx) < 3 {
			return "", false
		}
		n := int(int16(binary.LittleEndian.Uint16(clx[1:])))
		if n < 0 || 3+n > len(clx) {
			return "", false
		}
		clx = clx[3+n:]
	}
	if len(clx) < 5 || clx[0] != 0x02 {
		return "", false
	}
	lcb := int(binary.LittleEndian.Uint32(clx[1:]))
	plc := clx[5:]
	if lcb > len(plc) || lcb < 16 {
		return "", false
	}
	n := (lcb - 4) / 12
	var units []uint16
	for i := 0; i < n && len(units) < limit; i++ {
		cpStart := binary.LittleEndian.Uint32(plc[i*4:])
		cpEnd := binary.LittleEndian.Uint32(plc[(i+1)*4:])
		if cpEnd <= cpStart {
			continue
		}
		count := int(min(cpEnd-cpStart, uint32(limit)))
		pcd := plc[(n+1)*4+i*8:]
		fc := binary.LittleEndian.Uint32(pcd[2:])
		if fc&0x40000000 != 0 { // compressed: one byte per character, Windows-1252
			off := int((fc &^ 0x40000000) / 2)
			if off+count > len(wd) {
				return "", false
			}
			for _, c := range wd[off : off+count] {
				units = append(units, uint16(charmap.Windows1252.DecodeByte(c)))
			}
		} else {
			off := int(fc)
			if off+2*count > len(wd) || off < 0 {
				return "", false
			}
			for k := 0; k < count; k++ {
				units = append(units, binary.LittleEndian.Uint16(wd[off+2*k:]))
			}
		}
	}
	var out strings.Builder
	field := 0 // inside a field instruction (between 0x13 and 0x14)
	for _, r := range utf16.Decode(units) {
		switch r {
		case 0x13:
			field++
			continue
		case 0x14:
			field = max(field-1, 0)
			continue
		case 0x15:
			continue
		}
		if field > 0 {
			continue
		}
		switch r {
		case '\r', 0x0B, 0x0C:
			out.WriteByte('\n')
		case 0x07:
			out.WriteByte('\t')
		case 0x01, 0x08, 0x02, 0x05: // pictures, drawn objects, footnote marks, annotations
		default:
			if r >= ' ' || r == '\t' || r == '\n' {
				out.WriteRune(r)
			}
		}
	}
	return strings.TrimSpace(out.String()), true
}

// cfb is a parsed OLE2 compound file ([MS-CFB]).
type cfb struct {
	data      []byte
	secSize   int
	fat       []uint32
	miniFAT   []uint32
	miniSteam []byte
	dir       []cfbEntry
}

type cfbEntry struct {
	name  string
	typ   byte
	start uint32
	size  uint64
}

const (
	cfbEnd  = 0xFFFFFFFE
	cfbFree = 0xFFFFFFFF
	maxCFB  = 1 << 16 // sectors followed in one chain
)

func openCFB(b []byte) (*cfb, bool) {
	if len(b) < 512 || !bytes.Equal(b[:8], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		return nil, false
	}
	shift := binary.LittleEndian.Uint16(b[0x1E:])
	if shift != 9 && shift != 12 {
		return nil, false
	}
	c := &cfb{data: b, secSize: 1 << shift}
	// The DIFAT: 109 entries in the header, then chained DIFAT sectors.
	var difat []uint32
	for i := 0; i < 109; i++ {
		difat = append(difat, binary.LittleEndian.Uint32(b[0x4C+i*4:]))
	}
	next := binary.LittleEndian.Uint32(b[0x44:])
	for k := 0; next != cfbEnd && next != cfbFree && k < 1024; k++ {
		s := c.sector(next)
		if s == nil {
			break
		}
		for i := 0; i+4 <= len(s)-4; i += 4 {
			difat = append(difat, binary.LittleEndian.Uint32(s[i:]))
		}
		next = binary.LittleEndian.Uint32(s[len(s)-4:])
	}
	for _, sn := range difat {
		if sn == cfbFree || sn == cfbEnd {
			continue
		}
		s := c.sector(sn)
		if s == nil {
			continue
		}
		for i := 0; i+4 <= len(s); i += 4 {
			c.fat = append(c.fat, binary.LittleEndian.Uint32(s[i:]))
		}
		if len(c.fat) > len(b) { // more entries than bytes: garbage
			return nil, false
		}
	}
	dirData := c.chain(binary.LittleEndian.Uint32(b[0x30:]), c.fat, c.secSize, c.sector)
	for i := 0; i+128 <= len(dirData) && i < 128*4096; i += 128 {
		e := dirData[i:]
		nl := int(binary.LittleEndian.Uint16(e[0x40:]))
		if nl > 64 {
			nl = 64
		}
		var u []uint16
		for k := 0; k+1 < nl-1; k += 2 {
			u = append(u, binary.LittleEndian.Uint16(e[k:]))
		}
		c.dir = append(c.dir, cfbEntry{
			name:  string(utf16.Decode(u)),
			typ:   e[0x42],
			start: binary.LittleEndian.Uint32(e[0x74:]),
			size:  binary.LittleEndian.Uint64(e[0x78:]) & 0xFFFFFFFF,
		})
	}
	if len(c.dir) == 0 || c.dir[0].typ != 5 {
		return nil, false
	}
	miniFATData := c.chain(binary.LittleEndian.Uint32(b[0x3C:]), c.fat, c.secSize, c.sector)
	for i := 0; i+4 <= len(miniFATData); i += 4 {
		c.miniFAT = append(c.miniFAT, binary.LittleEndian.Uint32(miniFATData[i:]))
	}
	c.miniSteam = c.chain(c.dir[0].start, c.fat, c.secSize, c.sector)
	return c, true
}

func (c *cfb) sector(n uint32) []byte {
	off := (int(n) + 1) * c.secSize
	if n >= cfbEnd-16 || off < 0 || off+c.secSize > len(c.data) {
		return nil
	}
	return c.data[off : off+c.secSize]
}

func (c *cfb) miniSector(n uint32) []byte {
	off := int(n) * 64
	if off < 0 || off+64 > len(c.miniSteam) {
		return nil
	}
	return c.miniSteam[off : off+64]
}

// chain concatenates the sectors of a chain, stopping at loops and at the
// chain length limit.
func (c *cfb) chain(start uint32, fat []uint32, size int, get func(uint32) []byte) []byte {
	var out []byte
	for n, k := start, 0; n != cfbEnd && n != cfbFree && k < maxCFB; k++ {
		s := get(n)
		if s == nil || int(n) >= len(fat) {
			if s != nil {
				out = append(out, s...)
			}
			break
		}
		out = append(out, s...)
		if len(out) > len(c.data) { // a loop: no real chain is longer than the file
			break
		}
		n = fat[n]
	}
	return out
}

// stream returns the named stream's bytes, nil when absent.
func (c *cfb) stream(name string) []byte {
	for _, e := range c.dir {
		if e.typ != 2 || e.name != name {
			continue
		}
		var data []byte
		if e.size < 4096 {
			data = c.chain(e.start, c.miniFAT, 64, c.miniSector)
		} else {
			data = c.chain(e.start, c.fat, c.secSize, c.sector)
		}
		if uint64(len(data)) > e.size {
			data = data[:e.size]
		}
		return data
	}
	return nil
}

// docxText extracts the text of word/document.xml from a .docx (Office
// Open XML) file, reading at most room decompressed bytes so a zip bomb
// cannot exhaust memory. used is the number of bytes decompressed.
func docxText(b []byte, limit, room int) (text string, used int, ok bool) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", 0, false
	}
	for _, f := range zr.File {
		if f.Name != "word/document.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", 0, false
		}
		defer rc.Close()
		xml, err := io.ReadAll(io.LimitReader(rc, int64(room)))
		if err != nil && len(xml) == 0 {
			return "", len(xml), false
		}
		return wordXMLText(xml, limit), len(xml), true
	}
	return "", 0, false
}

// wordXMLText pulls the text runs (<w:t>) out of WordprocessingML, with a
// line break per paragraph and tabs and breaks kept.
func wordXMLText(x []byte, limit int) string {
	var out strings.Builder
	for len(x) > 0 && out.Len() < limit {
		i := bytes.IndexByte(x, '<')
		if i < 0 {
			break
		}
		x = x[i:]
		end := bytes.IndexByte(x, '>')
		if end < 0 {
			break
		}
		tag := x[1:end]
		x = x[end+1:]
		name := tag
		if len(name) > 1 {
			if sp := bytes.IndexAny(name[1:], " \t\r\n/"); sp >= 0 {
				name = name[:sp+1]
			}
		}
		switch string(name) {
		case "w:t":
			if bytes.HasSuffix(tag, []byte("/")) {
				continue
			}
			close := bytes.Index(x, []byte("</w:t>"))
			if close < 0 {
				close = len(x)
			}
			out.WriteString(xmlUnescape(string(x[:close])))
			x = x[close:]
		case "/w:p":
			out.WriteByte('\n')
		case "w:tab":
			out.WriteByte('\t')
		case "w:br", "w:cr":
			out.WriteByte('\n')
		}
	}
	return strings.TrimSpace(out.String())
}

var xmlEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

func xmlUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return xmlEntities.Replace(s)
}
