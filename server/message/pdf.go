package message

import (
	"bytes"
	"compress/zlib"
	"io"
)

// Bounds on reading a PDF's links.
const (
	maxPDFLinks   = 100
	maxPDFStreams = 1000
	maxPDFInflate = 4 << 20 // bytes inflated from one PDF's object streams
)

// pdfLinks returns the targets of a PDF's link actions (/URI): the "Open
// document" button of today's phishing PDFs, whose address text filters
// otherwise never see. They are found in the file and in its
// Flate-compressed object streams (/ObjStm), where PDF 1.5 and later keep
// the annotations; page contents and images are not inflated. At most room
// bytes are inflated in all, and used is how many were. ok is false when b
// is not a PDF.
func pdfLinks(b []byte, room int) (links []string, used int, ok bool) {
	if !bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) {
		return nil, 0, false
	}
	links = appendURIs(links, b)
	pdfStreams(b, func(dict, data []byte) bool {
		if !bytes.Contains(dict, []byte("/ObjStm")) || !bytes.Contains(dict, []byte("/FlateDecode")) {
			return true // a stream that holds no objects
		}
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return true
		}
		var out bytes.Buffer
		n, _ := io.Copy(&out, io.LimitReader(zr, int64(room-used)))
		used += int(n)
		links = appendURIs(links, out.Bytes())
		return len(links) < maxPDFLinks && used < room
	})
	if len(links) > maxPDFLinks {
		links = links[:maxPDFLinks]
	}
	return links, used, true
}

// pdfStreams calls fn with the dictionary (from its "obj", at most 1 KiB)
// and the data (up to "endstream") of each of a PDF's first maxPDFStreams
// streams, in file order, until fn returns false.
func pdfStreams(b []byte, fn func(dict, data []byte) bool) {
	rest := b
	for range maxPDFStreams {
		i := bytes.Index(rest, []byte("stream"))
		if i < 0 {
			return
		}
		dict := rest[max(0, i-1024):i]
		if j := bytes.LastIndex(dict, []byte("obj")); j >= 0 {
			dict = dict[j:]
		}
		rest = rest[i+len("stream"):]
		if bytes.HasSuffix(dict, []byte("end")) {
			continue // "endstream" of a stream without its start
		}
		data := bytes.TrimPrefix(bytes.TrimPrefix(rest, []byte("\r")), []byte("\n"))
		if end := bytes.Index(data, []byte("endstream")); end >= 0 {
			data, rest = data[:end], data[end+len("endstream"):]
		}
		if !fn(dict, data) {
			return
		}
	}
}

// appendURIs appends the strings that follow /URI in b: a literal string
// "(...)" or a hex string "<...>".
func appendURIs(links []string, b []byte) []string {
	for len(links) < maxPDFLinks {
		i := bytes.Index(b, []byte("/URI"))
		if i < 0 {
			break
		}
		b = bytes.TrimLeft(b[i+len("/URI"):], " \t\r\n\f")
		var s []byte
		switch {
		case len(b) > 0 && b[0] == '(':
			s, b = pdfLiteral(b[1:])
		case len(b) > 1 && b[0] == '<' && b[1] != '<':
			s, b = pdfHex(b[1:])
		default:
			continue
		}
		if len(s) > 0 {
			links = append(links, string(s))
		}
	}
	return links
}

// pdfLiteral decodes a literal string up to its closing parenthesis
// (nested pairs balance; backslash escapes), returning it and what follows.
func pdfLiteral(b []byte) (s, rest []byte) {
	depth := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '\\':
			if i+1 >= len(b) {
				return s, nil
			}
			i++
			switch e := b[i]; e {
			case 'n':
				s = append(s, '\n')
			case 'r':
				s = append(s, '\r')
			case 't':
				s = append(s, '\t')
			case 'b':
				s = append(s, '\b')
			case 'f':
				s = append(s, '\f')
			case '\r', '\n': // a line continued
			default:
				if e >= '0' && e <= '7' {
					v := 0
					for k := 0; k < 3 && i < len(b) && b[i] >= '0' && b[i] <= '7'; k++ {
						v = v*8 + int(b[i]-'0')
						i++
					}
					i--
					s = append(s, byte(v))
				} else {
					s = append(s, e)
				}
			}
		case '(':
			depth++
			s = append(s, c)
		case ')':
			if depth == 0 {
				return s, b[i+1:]
			}
			depth--
			s = append(s, c)
		default:
			s = append(s, c)
		}
	}
	return s, nil
}

// pdfHex decodes a hex string up to its '>' (white space ignored, an odd
// last digit taken as followed by 0), returning it and what follows.
func pdfHex(b []byte) (s, rest []byte) {
	var hi byte
	half := false
	for i, c := range b {
		if c == '>' {
			if half {
				s = append(s, hi<<4)
			}
			return s, b[i+1:]
		}
		if !isHex(c) {
			continue
		}
		if half {
			s = append(s, hi<<4|unhex(c))
		} else {
			hi = unhex(c)
		}
		half = !half
	}
	return s, nil
}
