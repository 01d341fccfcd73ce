package message

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/korean"
)

// charset is a resolved charset: enc nil means UTF-8 (or ASCII).
type charset struct {
	name string
	enc  encoding.Encoding
	kr   bool // ISO-2022-KR, decoded by decodeISO2022KR
}

// lookupCharset resolves a declared charset name. The WHATWG index
// (htmlindex) knows the labels mail clients actually write (gb2312 → gbk,
// ks_c_5601-1987 → euc-kr, tis-620 → windows-874, cp1251...); the IANA index
// catches the rest (hz-gb-2312...). ok is false for names neither knows.
func lookupCharset(name string) (charset, bool) {
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	if i := strings.IndexByte(name, '*'); i >= 0 { // RFC 2231 language suffix
		name = name[:i]
	}
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "unicode-1-1-utf-8":
		return charset{name: "utf-8"}, true
	case "iso-2022-kr", "csiso2022kr":
		// WHATWG maps ISO-2022-KR to the replacement encoding; mail still
		// carries it. Its shifted bytes are EUC-KR with the high bit cleared.
		return charset{name: "iso-2022-kr", kr: true}, true
	case "windows-874", "tis-620", "iso-8859-11", "x-windows-874", "cp874", "dos-874":
		return charset{name: "windows-874", enc: charmap.Windows874}, true
	}
	if e, err := htmlindex.Get(name); err == nil && e != encoding.Replacement {
		n, _ := htmlindex.Name(e)
		if n == "utf-8" {
			return charset{name: "utf-8"}, true
		}
		return charset{name: n, enc: e}, true
	}
	for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
		if e, err := idx.Encoding(name); err == nil && e != nil {
			n, _ := idx.Name(e)
			return charset{name: strings.ToLower(n), enc: e}, true
		}
	}
	// "cp1251", "windows1251", "win-1251": a Windows code page by number.
	lower := strings.ToLower(name)
	for _, p := range []string{"windows-", "windows", "win-", "cp-", "cp"} {
		if n, ok := strings.CutPrefix(lower, p); ok && n != "" && n[0] >= '0' && n[0] <= '9' {
			if e, err := htmlindex.Get("windows-" + n); err == nil && e != encoding.Replacement {
				nn, _ := htmlindex.Name(e)
				return charset{name: nn, enc: e}, true
			}
			break
		}
	}
	return charset{}, false
}

// decodeText converts b from cs to UTF-8. Invalid sequences become U+FFFD.
func decodeText(cs charset, b []byte) string {
	if cs.kr {
		return decodeISO2022KR(b)
	}
	if cs.enc == nil {
		return string(b)
	}
	out, err := cs.enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// guess8bit picks a charset for 8-bit text that declares none (or declares
// ASCII): UTF-8 when valid, else KOI8-R or Windows-1251 when the high bytes
// look like Cyrillic letters, else Windows-1252.
func guess8bit(b []byte) charset {
	if utf8.Valid(b) {
		return charset{name: "utf-8"}
	}
	var hi, lowerWin, lowerKoi, other int
	for _, c := range b {
		switch {
		case c < 0x80:
		case c >= 0xE0:
			hi++
			lowerWin++
		case c >= 0xC0:
			hi++
			lowerKoi++
		default:
			other++
		}
	}
	// Cyrillic text is mostly lower-case letters: 0xE0–0xFF in Windows-1251,
	// 0xC0–0xDF in KOI8-R. Latin-1 text has far fewer high bytes per word,
	// so require letters to dominate.
	if hi >= 8 && hi > 4*other {
		if lowerKoi > 2*lowerWin {
			return charset{name: "koi8-r", enc: charmap.KOI8R}
		}
		if lowerWin > 2*lowerKoi && len(b) < 20*hi {
			return charset{name: "windows-1251", enc: charmap.Windows1251}
		}
	}
	return charset{name: "windows-1252", enc: charmap.Windows1252}
}

// decodeISO2022KR decodes ISO-2022-KR (RFC 1557): SO/SI switch between
// ASCII and KS X 1001 shifted down by 0x80, which is EUC-KR with the high bit
// cleared.
func decodeISO2022KR(src []byte) string {
	euc := make([]byte, 0, len(src))
	shifted := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == 0x1B && i+3 < len(src) && string(src[i:i+4]) == "\x1b$)C":
			i += 3
		case c == 0x0E:
			shifted = true
		case c == 0x0F:
			shifted = false
		case shifted && c > 0x20 && c < 0x7F:
			euc = append(euc, c|0x80)
		default:
			euc = append(euc, c)
		}
	}
	out, err := korean.EUCKR.NewDecoder().Bytes(euc)
	if err != nil {
		return strings.ToValidUTF8(string(src), "\uFFFD")
	}
	return string(out)
}
