package message

import (
	"bytes"
	"strconv"
	"strings"
)

// rtfSkip are RTF destinations that hold no document text.
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"object": true, "themedata": true, "datastore": true, "latentstyles": true,
	"listtable": true, "listoverridetable": true, "rsidtbl": true, "generator": true,
	"xmlnstbl": true, "mmathpr": true, "fldinst": true, "filetbl": true, "revtbl": true,
	"pgdsctbl": true, "colorschememapping": true, "wgrffmtfilter": true, "fchars": true,
	"lchars": true, "operator": true, "author": true, "title": true, "private": true,
	"shppict": false, "nonshppict": true, "bkmkstart": true, "bkmkend": true, "listtext": true,
}

// rtfCharsetCP maps \fcharset values to Windows code pages.
var rtfCharsetCP = map[int]int{
	0: 1252, 128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254, 163: 1258,
	177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874, 238: 1250,
}

type rtfGroup struct {
	skip bool
	uc   int // bytes to skip after \u
	cp   int // code page of the current font
}

// rtfText extracts the text of an RTF document: code pages from \ansicpg
// and per-font \fcharset, \'hh bytes (multi-byte code pages too), \uN
// characters, paragraphs; fonts, pictures, field instructions and other
// non-text destinations are skipped. ok is false when b is not RTF.
func rtfText(b []byte, limit int) (string, bool) {
	if !bytes.HasPrefix(bytes.TrimLeft(b, " \r\n\t"), []byte(`{\rtf`)) {
		return "", false
	}
	var out strings.Builder
	var pend []byte // \'hh bytes waiting for conversion
	pendCP := 0
	ansi := 1252
	fontCP := map[int]int{}
	curFont := -1
	inFontTbl := 0
	stack := []rtfGroup{{uc: 1, cp: 0}}
	depth := 0
	skipChars := 0
	flush := func() {
		if len(pend) == 0 {
			return
		}
		cp := pendCP
		if cp == 0 {
			cp = ansi
		}
		cs, ok := codePage(cp)
		if !ok {
			cs, _ = lookupCharset("windows-1252")
		}
		out.WriteString(decodeText(cs, pend))
		pend = pend[:0]
	}
	emit := func(s string) {
		flush()
		if out.Len()+len(s) <= limit {
			out.WriteString(s)
		}
	}
	for i := 0; i < len(b) && out.Len() < limit; i++ {
		g := &stack[len(stack)-1]
		c := b[i]
		switch c {
		case '{':
			depth++
			if len(stack) < 1000 {
				stack = append(stack, *g)
			}
			continue
		case '}':
			depth--
			if inFontTbl > 0 && depth < inFontTbl {
				inFontTbl = 0
			}
			if len(stack) > 1 && depth < len(stack)-1 {
				stack = stack[:len(stack)-1]
			}
			continue
		case '\r', '\n':
			continue
		case '\\':
		default:
			if skipChars > 0 {
				skipChars--
				continue
			}
			if !g.skip {
				emit(string(c))
			}
			continue
		}
		// Control word or symbol.
		if i+1 >= len(b) {
			break
		}
		n := b[i+1]
		if !isLetter(n) {
			i++
			switch n {
			case '\'':
				if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
					v := unhex(b[i+1])<<4 | unhex(b[i+2])
					i += 2
					if skipChars > 0 {
						skipChars--
						continue
					}
					if !g.skip {
						if pendCP != g.cp {
							flush()
							pendCP = g.cp
						}
						pend = append(pend, v)
					}
				}
			case '*':
				g.skip = true
			case '~':
				if !g.skip {
					emit("\u00a0")
				}
			case '_':
				if !g.skip {
					emit("-")
				}
			case '\\', '{', '}':
				if !g.skip {
					emit(string(n))
				}
			case '\n', '\r':
				if !g.skip {
					emit("\n")
				}
			}
			continue
		}
		j := i + 1
		for j < len(b) && isLetter(b[j]) && j-i < 32 {
			j++
		}
		word := string(b[i+1 : j])
		num, hasNum := 0, false
		k := j
		if k < len(b) && (b[k] == '-' || isDigit(b[k])) {
			k++
			for k < len(b) && isDigit(b[k]) && k-j < 11 {
				k++
			}
			num, _ = strconv.Atoi(string(b[j:k]))
			hasNum = k > j+1 || isDigit(b[j])
		}
		if k < len(b) && b[k] == ' ' {
			k++
		}
		i = k - 1
		if rtfSkip[word] {
			g.skip = true
			if word == "fonttbl" {
				inFontTbl = depth
			}
			if word != "fonttbl" {
				continue
			}
		}
		switch word {
		case "ansicpg":
			if hasNum {
				ansi = num
			}
		case "f":
			if inFontTbl > 0 {
				curFont = num
			} else if cp, ok := fontCP[num]; ok {
				g.cp = cp
			} else {
				g.cp = 0
			}
		case "fcharset":
			if inFontTbl > 0 && curFont >= 0 {
				if cp, ok := rtfCharsetCP[num]; ok && num != 0 {
					fontCP[curFont] = cp
				}
			}
		case "uc":
			if hasNum {
				g.uc = num
			}
		case "u":
			if hasNum && !g.skip {
				if num < 0 {
					num += 65536
				}
				emit(string(rune(num)))
			}
			skipChars = g.uc
		case "par", "line", "sect", "page":
			if !g.skip {
				emit("\n")
			}
		case "tab", "cell":
			if !g.skip {
				emit("\t")
			}
		case "row":
			if !g.skip {
				emit("\n")
			}
		case "emdash":
			if !g.skip {
				emit("—")
			}
		case "endash":
			if !g.skip {
				emit("–")
			}
		case "bullet":
			if !g.skip {
				emit("•")
			}
		case "lquote", "rquote":
			if !g.skip {
				emit("'")
			}
		case "ldblquote", "rdblquote":
			if !g.skip {
				emit(`"`)
			}
		case "bin":
			if hasNum && num > 0 {
				i += num
			}
		}
	}
	flush()
	return strings.TrimSpace(out.String()), true
}

// codePage resolves a Windows code page number.
func codePage(cp int) (charset, bool) {
	switch cp {
	case 932:
		return lookupCharset("shift_jis")
	case 936:
		return lookupCharset("gbk")
	case 949:
		return lookupCharset("euc-kr")
	case 950:
		return lookupCharset("big5")
	case 874:
		return lookupCharset("windows-874")
	case 65001:
		return lookupCharset("utf-8")
	case 10000:
		return lookupCharset("macintosh")
	}
	return lookupCharset("windows-" + strconv.Itoa(cp))
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
