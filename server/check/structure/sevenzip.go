package structure

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/ulikunitz/xz/lzma"
)

// sevenZipMagic begins a 7z archive.
const sevenZipMagic = "7z\xbc\xaf\x27\x1c"

// Bounds on what is read of a 7z archive's header.
const (
	max7zHeader  = 1 << 20 // bytes of the header, after decoding
	max7zFolders = 64
	max7zCoders  = 8
	max7zStreams = 64
	max7zFiles   = 1 << 16
	// max7zEncodings bounds headers encoded within encoded headers.
	max7zEncodings = 4
)

// Property IDs of the 7z header (7-Zip's 7zFormat.txt).
const (
	sz7End               = 0x00
	sz7Header            = 0x01
	sz7ArchiveProperties = 0x02
	sz7AdditionalStreams = 0x03
	sz7MainStreams       = 0x04
	sz7FilesInfo         = 0x05
	sz7PackInfo          = 0x06
	sz7UnpackInfo        = 0x07
	sz7SubStreamsInfo    = 0x08
	sz7Size              = 0x09
	sz7CRC               = 0x0a
	sz7Folder            = 0x0b
	sz7CodersUnpackSize  = 0x0c
	sz7NumUnpackStream   = 0x0d
	sz7EmptyStream       = 0x0e
	sz7EmptyFile         = 0x0f
	sz7Name              = 0x11
	sz7EncodedHeader     = 0x17
)

// Coder IDs the header reader tells apart.
var (
	sz7AES   = []byte{0x06, 0xf1, 0x07, 0x01}
	sz7LZMA  = []byte{0x03, 0x01, 0x01}
	sz7LZMA2 = []byte{0x21}
	sz7Copy  = []byte{0x00}
)

// list7z reads the file names in a 7z archive's header. 7-Zip compresses
// the header (an "encoded header", LZMA), which is decoded, at most 1 MiB
// of it; an archive whose header is encrypted (7-Zip's -mhe) shows no
// names and is sealed; the files of an archive whose streams pass through
// AES are encrypted. The files themselves are never decompressed. Bytes
// that do not parse list nothing.
func list7z(b []byte) (entries []archiveEntry, sealed bool) {
	if len(b) < 32 { // the signature header; listArchive saw the magic
		return nil, false
	}
	off := binary.LittleEndian.Uint64(b[12:])
	size := binary.LittleEndian.Uint64(b[20:])
	if off > uint64(len(b)) || size > max7zHeader || 32+off+size > uint64(len(b)) {
		return nil, false
	}
	r := &szReader{b: b[32+off : 32+off+size]}
	id := r.byte()
	for n := 0; id == sz7EncodedHeader; n++ {
		if n == max7zEncodings {
			return nil, false
		}
		s := r.streams()
		if r.err {
			return nil, false
		}
		if s.aes {
			return nil, true
		}
		data, ok := s.decodeHeader(b)
		if !ok {
			return nil, false
		}
		r = &szReader{b: data}
		id = r.byte()
	}
	if id != sz7Header {
		return nil, false
	}
	files, aes := r.header()
	if r.err {
		return nil, false
	}
	for _, f := range files[:min(len(files), maxArchiveEntries)] {
		f.encrypted = aes && !strings.HasSuffix(f.name, "/")
		entries = append(entries, f)
	}
	return entries, false
}

// szReader reads the header's numbers and records; err is set, and stays
// set, when the data runs out or breaks a bound.
type szReader struct {
	b   []byte
	err bool
}

func (r *szReader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *szReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.err = true
		r.b = nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// number reads 7z's variable-length integer: the leading one bits of the
// first byte say how many bytes follow.
func (r *szReader) number() uint64 {
	first := r.byte()
	var v uint64
	mask := byte(0x80)
	for i := range 8 {
		if first&mask == 0 {
			return v | uint64(first&(mask-1))<<(8*i)
		}
		v |= uint64(r.byte()) << (8 * i)
		mask >>= 1
	}
	return v
}

// bounded reads a number no larger than limit.
func (r *szReader) bounded(limit uint64) uint64 {
	n := r.number()
	if n > limit {
		r.err = true
		return 0
	}
	return n
}

// bits reads a vector of n bits, most significant first.
func (r *szReader) bits(n uint64) []bool {
	data := r.bytes((n + 7) / 8)
	out := make([]bool, 0, n)
	for i := range n {
		if r.err {
			return nil
		}
		out = append(out, data[i/8]&(0x80>>(i%8)) != 0)
	}
	return out
}

// digests skips the CRCs of n items and says which were given.
func (r *szReader) digests(n uint64) []bool {
	var defined []bool
	if r.byte() != 0 {
		defined = make([]bool, n)
		for i := range defined {
			defined[i] = true
		}
	} else {
		defined = r.bits(n)
	}
	for _, d := range defined {
		if d {
			r.bytes(4)
		}
	}
	return defined
}

// szStreams is what a StreamsInfo record says: where the packed streams
// are and which coders unpack each folder.
type szStreams struct {
	packPos   uint64
	packSizes []uint64
	folders   []szFolder
	aes       bool // a coder of some folder is AES
}

type szFolder struct {
	coders   []szCoder
	unpack   []uint64 // size of each coder output
	crcKnown bool
}

type szCoder struct {
	id, props []byte
}

func (r *szReader) streams() szStreams {
	var s szStreams
	for !r.err {
		switch r.byte() {
		case sz7End:
			return s
		case sz7PackInfo:
			s.packPos = r.number()
			n := r.bounded(max7zStreams)
			for !r.err {
				id := r.byte()
				if id == sz7End {
					break
				}
				switch id {
				case sz7Size:
					for range n {
						s.packSizes = append(s.packSizes, r.number())
					}
				case sz7CRC:
					r.digests(n)
				default:
					r.err = true
				}
			}
		case sz7UnpackInfo:
			r.folders(&s)
		case sz7SubStreamsInfo:
			r.subStreams(s.folders)
		default:
			r.err = true
		}
	}
	return s
}

func (r *szReader) folders(s *szStreams) {
	if r.byte() != sz7Folder {
		r.err = true
		return
	}
	n := r.bounded(max7zFolders)
	if r.byte() != 0 { // folders kept elsewhere ("external"): never written by 7-Zip
		r.err = true
		return
	}
	for range n {
		var f szFolder
		var ins, outs uint64
		coders := r.bounded(max7zCoders)
		for range coders {
			flags := r.byte()
			if flags&0x80 != 0 {
				r.err = true
				return
			}
			c := szCoder{id: r.bytes(uint64(flags & 0x0f))}
			in, out := uint64(1), uint64(1)
			if flags&0x10 != 0 {
				in, out = r.bounded(max7zStreams), r.bounded(max7zStreams)
			}
			if flags&0x20 != 0 {
				c.props = r.bytes(r.number())
			}
			ins, outs = ins+in, outs+out
			s.aes = s.aes || bytes.Equal(c.id, sz7AES)
			f.coders = append(f.coders, c)
		}
		if r.err || outs == 0 || ins+1 < outs {
			r.err = true
			return
		}
		for range outs - 1 { // bind pairs
			r.number()
			r.number()
		}
		if packed := ins - (outs - 1); packed > 1 {
			for range packed {
				r.number()
			}
		}
		f.unpack = make([]uint64, outs)
		s.folders = append(s.folders, f)
	}
	if r.byte() != sz7CodersUnpackSize {
		r.err = true
		return
	}
	for i := range s.folders {
		for j := range s.folders[i].unpack {
			s.folders[i].unpack[j] = r.number()
		}
	}
	for !r.err {
		switch r.byte() {
		case sz7End:
			return
		case sz7CRC:
			for i, d := range r.digests(uint64(len(s.folders))) {
				s.folders[i].crcKnown = d
			}
		default:
			r.err = true
		}
	}
}

// subStreams reads past the SubStreamsInfo record: how many files each
// folder holds, their sizes and CRCs.
func (r *szReader) subStreams(folders []szFolder) {
	per := make([]uint64, len(folders))
	for i := range per {
		per[i] = 1
	}
	id := r.byte()
	if id == sz7NumUnpackStream {
		for i := range per {
			per[i] = r.bounded(max7zFiles)
		}
		id = r.byte()
	}
	if id == sz7Size {
		for _, n := range per {
			for range max(n, 1) - 1 {
				r.number()
			}
		}
		id = r.byte()
	}
	if id == sz7CRC {
		var unknown uint64
		for i, n := range per {
			if n != 1 || !folders[i].crcKnown {
				unknown += n
			}
		}
		r.digests(unknown)
		id = r.byte()
	}
	if id != sz7End {
		r.err = true
	}
}

// header reads a plain header: the streams, then the files' names, and
// whether the main streams pass through AES.
func (r *szReader) header() (files []archiveEntry, aes bool) {
	for !r.err {
		switch r.byte() {
		case sz7End:
			return files, aes
		case sz7ArchiveProperties:
			for !r.err && r.byte() != 0 {
				r.bytes(r.number())
			}
		case sz7AdditionalStreams:
			r.streams()
		case sz7MainStreams:
			aes = r.streams().aes
		case sz7FilesInfo:
			files = r.filesInfo()
		default:
			r.err = true
		}
	}
	return nil, false
}

// filesInfo reads the names, marking as folders the entries without data
// that are not empty files.
func (r *szReader) filesInfo() []archiveEntry {
	n := r.bounded(max7zFiles)
	var emptyStream, emptyFile []bool
	var names []string
	for !r.err {
		id := r.byte()
		if id == sz7End {
			break
		}
		data := &szReader{b: r.bytes(r.number())}
		switch id {
		case sz7EmptyStream:
			emptyStream = data.bits(n)
		case sz7EmptyFile:
			empties := 0
			for _, e := range emptyStream {
				if e {
					empties++
				}
			}
			emptyFile = data.bits(uint64(empties))
		case sz7Name:
			if data.byte() == 0 {
				names = utf16Names(data.b)
			}
		}
	}
	if r.err {
		return nil
	}
	files := make([]archiveEntry, 0, min(len(names), maxArchiveEntries))
	empty := 0
	for i, name := range names[:min(uint64(len(names)), n)] {
		name = strings.ToLower(strings.ReplaceAll(name, "\\", "/"))
		if i < len(emptyStream) && emptyStream[i] {
			if empty >= len(emptyFile) || !emptyFile[empty] {
				name += "/"
			}
			empty++
		}
		files = append(files, archiveEntry{name: name})
	}
	return files
}

// utf16Names splits zero-terminated UTF-16LE names.
func utf16Names(b []byte) []string {
	var names []string
	var cur []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			names = append(names, string(utf16.Decode(cur)))
			cur = cur[:0]
			continue
		}
		cur = append(cur, c)
	}
	return names
}

// decodeHeader unpacks an encoded header: one folder of one coder, LZMA,
// LZMA2 or none, whose output is at most max7zHeader bytes.
func (s szStreams) decodeHeader(archive []byte) ([]byte, bool) {
	if len(s.folders) != 1 || len(s.folders[0].coders) != 1 || len(s.packSizes) < 1 {
		return nil, false
	}
	f := s.folders[0]
	size, c := f.unpack[0], f.coders[0]
	start, packed := 32+s.packPos, s.packSizes[0]
	if size > max7zHeader || s.packPos > uint64(len(archive)) || packed > uint64(len(archive)) || start+packed > uint64(len(archive)) {
		return nil, false
	}
	in := archive[start : start+packed]
	var r io.Reader
	switch {
	case bytes.Equal(c.id, sz7Copy):
		r = bytes.NewReader(in)
	case bytes.Equal(c.id, sz7LZMA) && len(c.props) == 5:
		// The classic LZMA header: properties, a dictionary no larger than
		// the output (enough to decode it, and never a header's claim of
		// gigabytes), the output size.
		var h [lzma.HeaderLen]byte
		h[0] = c.props[0]
		binary.LittleEndian.PutUint32(h[1:], uint32(max(size, lzma.MinDictCap)))
		binary.LittleEndian.PutUint64(h[5:], size)
		lr, err := lzma.NewReader(io.MultiReader(bytes.NewReader(h[:]), bytes.NewReader(in)))
		if err != nil {
			return nil, false
		}
		r = lr
	case bytes.Equal(c.id, sz7LZMA2):
		lr, err := lzma.Reader2Config{DictCap: int(max(size, lzma.MinDictCap))}.NewReader2(bytes.NewReader(in))
		if err != nil {
			return nil, false
		}
		r = lr
	default:
		return nil, false
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, false
	}
	return out, true
}
