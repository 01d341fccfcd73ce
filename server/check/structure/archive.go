package structure

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/nwaples/rardecode/v2"

	"github.com/scilla-mail/scilla/server/message"
)

// Bounds on what is read of one archive's directory.
const (
	maxArchiveEntries = 1000
	// maxDropperFiles is the most files an archive may hold for a program
	// inside to count: a dropper carries one or two, while a project or
	// backup that holds scripts among its files is ordinary mail between
	// developers.
	maxDropperFiles = 3
)

// Bounds on opening a file inside an archive: a sole archive, two levels
// deep, or the Office documents of a small archive.
const (
	maxArchiveDepth = 2
	maxInnerFile    = 4 << 20 // bytes read of one file
)

// archiveContents is what an archive's directory shows.
type archiveContents struct {
	exe       bool // a program, script or disk image among at most maxDropperFiles files
	decoy     bool // a program named as a document, among any number of files
	macros    bool // an Office document with macros among at most maxDropperFiles files
	encrypted bool // a file, or the directory itself, is encrypted
	page      bool // a web page or SVG image among at most maxDropperFiles files
	script    bool // such a page that runs a script
}

// archiveEntry is one file of an archive's directory.
type archiveEntry struct {
	name      string // lower case, '/' between folders
	encrypted bool
	// open reads the file; nil when it is not offered (a RAR file would
	// have to be decompressed with a window its header chooses).
	open func() (io.ReadCloser, error)
}

// inspectArchive reads a ZIP, RAR or 7z archive's directory: the usual
// wrapping of a malicious attachment ("Rechnung.zip" holding
// "Rechnung.pdf.lnk"), often encrypted with the password in the mail so
// that scanners cannot look inside, or wrapped twice so that scanners that
// open one level see only another archive. The format is told by the
// bytes, not the name. From a ZIP, a sole archive inside is opened in turn
// and the Office documents of a small one are read for macros and its web
// pages for scripts (at most 4 MiB each); nothing else is decompressed.
// Bytes that do not parse as an archive hold nothing.
func inspectArchive(b []byte) archiveContents { return inspectArchiveDepth(b, 0) }

func inspectArchiveDepth(b []byte, depth int) archiveContents {
	var a archiveContents
	entries, sealed := listArchive(b)
	a.encrypted = sealed
	files, exe := 0, false
	var inner *archiveEntry // a sole archive inside
	var docs, pages []*archiveEntry
	for i := range entries {
		e := &entries[i]
		if strings.HasSuffix(e.name, "/") || strings.HasPrefix(e.name, "__macosx/") {
			continue // directories and the resource forks macOS adds
		}
		files++
		a.encrypted = a.encrypted || e.encrypted
		j := strings.LastIndexByte(e.name, '.')
		if j < 0 {
			continue
		}
		switch ext := e.name[j+1:]; {
		case executable(ext):
			exe = true
			a.decoy = a.decoy || decoy(e.name)
		case archiveExt(ext) && !e.encrypted && e.open != nil:
			inner = e
		case officeDocument(ext) && !e.encrypted && e.open != nil:
			docs = append(docs, e)
		case webPage(ext):
			pages = append(pages, e)
		}
	}
	small := files <= maxDropperFiles
	a.exe = exe && small
	a.page = len(pages) > 0 && small
	for _, p := range pages {
		if !small {
			break
		}
		if p.encrypted || p.open == nil {
			continue
		}
		if b, ok := p.read(); ok && runsScript(b) {
			a.script = true
			break
		}
	}
	for _, d := range docs {
		if !small {
			break
		}
		if b, ok := d.read(); ok && message.OfficeMacros(b) {
			a.macros = true
			break
		}
	}
	if files == 1 && inner != nil && depth < maxArchiveDepth {
		if data, ok := inner.read(); ok {
			in := inspectArchiveDepth(data, depth+1)
			a.exe = a.exe || in.exe
			a.decoy = a.decoy || in.decoy
			a.macros = a.macros || in.macros
			a.encrypted = a.encrypted || in.encrypted
			a.page = a.page || in.page
			a.script = a.script || in.script
		}
	}
	return a
}

// read returns the entry's bytes, at most maxInnerFile of them.
func (e *archiveEntry) read() ([]byte, bool) {
	r, err := e.open()
	if err != nil {
		return nil, false
	}
	defer r.Close()
	data, _ := io.ReadAll(io.LimitReader(r, maxInnerFile))
	return data, true
}

// archiveExt reports the extensions of the archives inspectArchive reads.
func archiveExt(ext string) bool { return ext == "zip" || ext == "rar" || ext == "7z" }

// Archive signatures.
const (
	zipMagic = "PK\x03\x04"
	rarMagic = "Rar!\x1a\x07" // RAR 1.5–4 go on with 0x00, RAR 5 with 0x01 0x00
)

// listArchive returns the first maxArchiveEntries entries of a ZIP, RAR or
// 7z archive, and whether its directory is encrypted (a RAR or 7z archive
// with encrypted headers shows no names at all).
func listArchive(b []byte) (entries []archiveEntry, sealed bool) {
	switch {
	case bytes.HasPrefix(b, []byte(rarMagic)):
		return listRAR(b)
	case bytes.HasPrefix(b, []byte(zipMagic)):
		return listZIP(b), false
	case bytes.HasPrefix(b, []byte(sevenZipMagic)):
		return list7z(b)
	}
	return nil, false
}

func listZIP(b []byte) []archiveEntry {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil
	}
	var entries []archiveEntry
	for _, f := range zr.File[:min(len(zr.File), maxArchiveEntries)] {
		entries = append(entries, archiveEntry{name: strings.ToLower(f.Name), encrypted: f.Flags&0x1 != 0, open: f.Open})
	}
	return entries
}

// listRAR reads the file headers of a RAR archive (rardecode parses both
// the RAR 1.5–4 and the RAR 5 format) from memory. The files are skipped:
// rardecode.List allocates no decompression window, which a header may
// ask to be gigabytes, while its Reader would for each file. A damaged
// archive lists nothing.
func listRAR(b []byte) (entries []archiveEntry, sealed bool) {
	files, err := rardecode.List(rarName, rardecode.FileSystem(archiveFS(b)))
	for _, f := range files[:min(len(files), maxArchiveEntries)] {
		name := strings.ToLower(f.Name)
		if f.IsDir && !strings.HasSuffix(name, "/") {
			name += "/"
		}
		entries = append(entries, archiveEntry{name: name, encrypted: f.Encrypted || f.HeaderEncrypted})
	}
	return entries, errors.Is(err, rardecode.ErrArchiveEncrypted)
}

// rarName is the name archiveFS gives its one file.
const rarName = "attachment.rar"

// archiveFS is a file system of one file, rarName, holding the bytes: how
// rardecode.List reads an archive that is not on disk. Another name does
// not exist, so the volumes of a multi-volume archive are not found.
type archiveFS []byte

// Open opens rarName.
func (a archiveFS) Open(name string) (fs.File, error) {
	if name != rarName {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return archiveFile{bytes.NewReader(a)}, nil
}

// archiveFile is the open file of an archiveFS.
type archiveFile struct{ *bytes.Reader }

func (f archiveFile) Stat() (fs.FileInfo, error) { return archiveInfo(f.Size()), nil }
func (f archiveFile) Close() error               { return nil }

// archiveInfo describes the file of an archiveFS: its size.
type archiveInfo int64

func (i archiveInfo) Name() string       { return rarName }
func (i archiveInfo) Size() int64        { return int64(i) }
func (i archiveInfo) Mode() fs.FileMode  { return 0o444 }
func (i archiveInfo) ModTime() time.Time { return time.Time{} }
func (i archiveInfo) IsDir() bool        { return false }
func (i archiveInfo) Sys() any           { return nil }
