package message

import (
	"bytes"
	"strings"
)

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63 // URL-safe alphabet, seen in broken mailers
	return t
}()

// decodeBase64Lenient appends the base64 decoding of src to dst, skipping
// characters outside the alphabet and stopping at padding or after max
// output bytes; full reports that max stopped it.
func decodeBase64Lenient(dst, src []byte, max int) (out []byte, full bool) {
	var acc uint32
	n := 0
	for _, c := range src {
		v := b64val[c]
		if v == 0xFF {
			if c == '=' && n >= 2 {
				break
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			if max < 3 {
				return dst, true
			}
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			max -= 3
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		if max >= 1 {
			dst = append(dst, byte(acc>>4))
		}
	case 3:
		if max >= 2 {
			dst = append(dst, byte(acc>>10), byte(acc>>2))
		}
	}
	return dst, false
}

// base64Junk reports whether src holds bytes that are neither base64 nor
// white space, or data after the padding: the mark of a broken encoder or
// of text hidden behind an encoding.
func base64Junk(src []byte) bool {
	pad := false
	for _, c := range src {
		switch {
		case c == '\r' || c == '\n' || c == ' ' || c == '\t':
		case c == '=':
			pad = true
		case b64val[c] != 0xFF && c != '-' && c != '_':
			if pad {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// decodeQP decodes quoted-printable leniently: soft breaks removed, "=XX"
// decoded (lower-case hex too), a stray "=" kept as written. bad reports
// stray "=" signs.
func decodeQP(src []byte, max int) (out []byte, bad bool) {
	out = make([]byte, 0, min(len(src), max))
	for i := 0; i < len(src) && len(out) < max; i++ {
		c := src[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		switch {
		case i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]):
			out = append(out, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
		case i+1 < len(src) && src[i+1] == '\n':
			i++
		case i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			i += 2
		case i+1 == len(src):
		default:
			// "=  \r\n": soft break with trailing white space.
			j := i + 1
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j < len(src) && (src[j] == '\n' || src[j] == '\r') {
				if src[j] == '\r' && j+1 < len(src) && src[j+1] == '\n' {
					j++
				}
				i = j
				continue
			}
			bad = true
			out = append(out, c)
		}
	}
	return out, bad
}

// decodeTransfer undoes the Content-Transfer-Encoding of body within the
// parser's decode budget.
func (p *parser) decodeTransfer(body []byte, cte string) []byte {
	cte = strings.ToLower(strings.TrimSpace(cte))
	if i := strings.IndexByte(cte, ';'); i >= 0 {
		cte = strings.TrimSpace(cte[:i])
	}
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return body
	case "base64", "x-base64":
		room := p.decodeRoom()
		out, full := decodeBase64Lenient(make([]byte, 0, min(len(body)*3/4+3, room)), body, room)
		p.spend(len(out))
		if full {
			p.anomaly(AnomalyDecodeLimit)
		}
		if base64Junk(body) {
			p.anomaly(AnomalyBadBase64)
		}
		return out
	case "quoted-printable":
		room := p.decodeRoom()
		out, bad := decodeQP(body, room)
		p.spend(len(out))
		if bad {
			p.anomaly(AnomalyBadQP)
		}
		if len(out) >= room && len(body) > room {
			p.anomaly(AnomalyDecodeLimit)
		}
		return out
	case "x-uuencode", "x-uue", "uuencode":
		return p.decodeUU(body)
	}
	p.anomaly(AnomalyUnknownEncoding)
	return body
}

// decodeUU decodes a uuencoded body ("begin 644 name" ... "end").
func (p *parser) decodeUU(body []byte) []byte {
	room := p.decodeRoom()
	var out []byte
	started := false
	for _, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if !started {
			started = bytes.HasPrefix(line, []byte("begin "))
			continue
		}
		if len(line) == 0 || bytes.Equal(line, []byte("end")) || bytes.Equal(line, []byte("`")) {
			continue
		}
		n := int((line[0] - ' ') & 0x3F)
		line = line[1:]
		for i := 0; i+3 < len(line)+1 && n > 0 && len(out) < room; i += 4 {
			var c [4]byte
			for j := 0; j < 4; j++ {
				if i+j < len(line) {
					c[j] = (line[i+j] - ' ') & 0x3F
				}
			}
			b := [3]byte{c[0]<<2 | c[1]>>4, c[1]<<4 | c[2]>>2, c[2]<<6 | c[3]}
			k := min(n, 3)
			out = append(out, b[:k]...)
			n -= k
		}
	}
	p.spend(len(out))
	return out
}
