package spf

import (
	"fmt"
	"strconv"
	"strings"
)

// token is a piece of a macro-string: a literal or one macro-expand.
type token struct {
	lit     string
	letter  byte // lower-case macro letter; 0 for a literal
	upper   bool // URL-escape the expansion
	digits  int  // keep this many right-hand parts; 0 = all
	reverse bool
	delims  string
}

// parseMacro parses a macro-string (§7.1). exp allows the c, r and t
// letters, which are only valid in explanation strings.
func parseMacro(s string, exp bool) ([]token, error) {
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			// macro-literal = %x21-24 / %x26-7E; explanations may also hold spaces.
			if (c < 0x21 || c > 0x7e) && !(exp && c == ' ') {
				return nil, fmt.Errorf("%w: character %q in %q", ErrSyntax, c, s)
			}
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("%w: lone %% at the end of %q", ErrSyntax, s)
		}
		i++
		switch s[i] {
		case '%':
			lit.WriteByte('%')
			continue
		case '_':
			lit.WriteByte(' ')
			continue
		case '-':
			lit.WriteString("%20")
			continue
		case '{':
		default:
			return nil, fmt.Errorf("%w: bad macro %%%c in %q", ErrSyntax, s[i], s)
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%w: unterminated macro in %q", ErrSyntax, s)
		}
		body := s[i+1 : i+end]
		i += end
		if body == "" {
			return nil, fmt.Errorf("%w: empty macro in %q", ErrSyntax, s)
		}
		t := token{letter: lower(body[0]), upper: isUpper(body[0])}
		switch t.letter {
		case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
		case 'c', 'r', 't':
			if !exp {
				return nil, fmt.Errorf("%w: macro %%{%c} outside exp text in %q", ErrSyntax, body[0], s)
			}
		default:
			return nil, fmt.Errorf("%w: unknown macro letter %q in %q", ErrSyntax, body[0], s)
		}
		j := 1
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j > 1 {
			n, err := strconv.Atoi(body[1:j])
			if err != nil || n == 0 {
				// §7.1: "If a DIGIT is specified, the value MUST be nonzero."
				return nil, fmt.Errorf("%w: bad macro digits in %q", ErrSyntax, s)
			}
			t.digits = min(n, 128)
		}
		if j < len(body) && (body[j] == 'r' || body[j] == 'R') {
			t.reverse = true
			j++
		}
		for ; j < len(body); j++ {
			if !strings.ContainsRune(".-+,/_=", rune(body[j])) {
				return nil, fmt.Errorf("%w: bad macro delimiter %q in %q", ErrSyntax, body[j], s)
			}
		}
		t.delims = body[len(body)-len(trailingDelims(body)):]
		flush()
		toks = append(toks, t)
	}
	flush()
	return toks, nil
}

func trailingDelims(body string) string {
	i := len(body)
	for i > 1 && strings.ContainsRune(".-+,/_=", rune(body[i-1])) {
		i--
	}
	return body[i:]
}

// expand applies a macro token to value (§7.3).
func (t token) expand(value string) string {
	delims := t.delims
	if delims == "" {
		delims = "."
	}
	var parts []string
	start := 0
	for i := 0; i < len(value); i++ {
		if strings.IndexByte(delims, value[i]) >= 0 {
			parts = append(parts, value[start:i])
			start = i + 1
		}
	}
	parts = append(parts, value[start:])
	if t.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if t.digits > 0 && t.digits < len(parts) {
		parts = parts[len(parts)-t.digits:]
	}
	out := strings.Join(parts, ".")
	if t.upper {
		out = escape(out)
	}
	return out
}

// escape URL-escapes per RFC 3986 unreserved characters (§7.3).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
