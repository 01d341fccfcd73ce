package message

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"path"
	"strings"
)

// OfficeMacros reports an Office document that carries a VBA project, the
// macros that run when the reader clicks "Enable content": a Word or Excel
// 97–2003 file whose compound-file directory holds a _VBA_PROJECT stream,
// a PowerPoint 97–2003 file whose document records say it has macros, or
// an Office Open XML file (.docm, .xlsm, .pptm, or one renamed .docx)
// holding vbaProject.bin. Only directories and record headers are read;
// the project is not decompressed. Bytes of another kind carry none.
func OfficeMacros(b []byte) bool {
	if cf, ok := openCFB(b); ok {
		for _, e := range cf.dir {
			if e.name == "_VBA_PROJECT" {
				return true
			}
		}
		return pptMacros(cf.stream("PowerPoint Document"))
	}
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return false
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if strings.EqualFold(path.Base(f.Name), "vbaProject.bin") {
			return true
		}
	}
	return false
}

// PowerPoint 97–2003 record types ([MS-PPT] 2.13.24) that say where the VBA
// project is: a VBAInfoContainer holding a VBAInfoAtom.
const (
	pptVBAInfo     = 0x03FF
	pptVBAInfoAtom = 0x0400
)

// pptMacros reports a PowerPoint document stream whose VBAInfoAtom says it
// has macros. PowerPoint keeps its VBA project compressed inside the
// stream, not in the compound file's directory. Records are walked flat:
// a container's header (version 0xF) is stepped over into its children,
// an atom is skipped whole, so the walk is linear in the stream's length.
func pptMacros(s []byte) bool {
	le := binary.LittleEndian
	inVBAInfo := false
	for len(s) >= 8 {
		ver, typ, n := le.Uint16(s)&0xF, le.Uint16(s[2:]), le.Uint32(s[4:])
		s = s[8:]
		if ver == 0xF {
			inVBAInfo = typ == pptVBAInfo
			continue
		}
		if inVBAInfo && typ == pptVBAInfoAtom && n >= 12 && len(s) >= 12 {
			return le.Uint32(s[4:]) == 1 // fHasMacros
		}
		inVBAInfo = false
		if uint64(n) > uint64(len(s)) {
			return false
		}
		s = s[n:]
	}
	return false
}
