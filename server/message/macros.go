package message

import (
	"archive/zip"
	"bytes"
	"path"
	"strings"
)

// OfficeMacros reports an Office document that carries a VBA project, the
// macros that run when the reader clicks "Enable content": a Word or Excel
// 97–2003 file whose compound-file directory holds a _VBA_PROJECT stream,
// or an Office Open XML file (.docm, .xlsm, .pptm, or one renamed .docx)
// holding vbaProject.bin. Only the directories are read; the project is
// not decompressed. Bytes of another kind carry none.
func OfficeMacros(b []byte) bool {
	if cf, ok := openCFB(b); ok {
		for _, e := range cf.dir {
			if e.name == "_VBA_PROJECT" {
				return true
			}
		}
		return false
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
