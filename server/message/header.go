package message

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// readHeader splits an entity into its header fields and body. It accepts
// bare LF, folded lines, and stops at the empty line or at the first line
// that cannot be a field (recorded as header_malformed: the rest is body).
// At most lim bytes of field text are stored.
func (p *parser) readHeader(raw []byte) (Header, []byte) {
	var h Header
	var cur []byte // the field being unfolded
	curName := ""
	stored := 0
	over := false
	flush := func() {
		if curName != "" {
			h = append(h, Field{Name: curName, Raw: strings.TrimSpace(string(cur))})
		}
		curName, cur = "", cur[:0]
	}
	store := func(b []byte) {
		room := p.lim.MaxHeaderBytes - stored
		if len(b) > room {
			if !over {
				p.anomaly(AnomalyHeaderTooBig)
				over = true
			}
			b = b[:max(room, 0)]
		}
		stored += len(b)
		cur = append(cur, b...)
	}
	pos := 0
	for pos < len(raw) {
		var line []byte
		next := len(raw)
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			line, next = raw[pos:pos+i], pos+i+1
		} else {
			line = raw[pos:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			flush()
			return p.decodeHeader(h), raw[next:]
		}
		if line[0] == ' ' || line[0] == '\t' {
			if curName == "" {
				if len(h) == 0 {
					p.anomaly(AnomalyHeaderContinuation)
				}
			} else {
				store(line)
			}
			pos = next
			continue
		}
		name, value, ok := splitField(line)
		if !ok {
			if pos == 0 && bytes.HasPrefix(line, []byte("From ")) {
				pos = next // an mbox separator line
				continue
			}
			p.anomaly(AnomalyHeaderMalformed)
			flush()
			return p.decodeHeader(h), raw[pos:]
		}
		flush()
		if stored >= p.lim.MaxHeaderBytes {
			if !over {
				p.anomaly(AnomalyHeaderTooBig)
				over = true
			}
			pos = next
			continue
		}
		curName = string(name)
		stored += len(name)
		store(value)
		pos = next
	}
	flush()
	return p.decodeHeader(h), nil
}

// splitField splits "Name: value". Names are printable ASCII without
// spaces; a space before the colon ("Subject : x") is tolerated.
func splitField(line []byte) (name, value []byte, ok bool) {
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		return nil, nil, false
	}
	name = bytes.TrimRight(line[:c], " \t")
	if len(name) == 0 {
		return nil, nil, false
	}
	for _, b := range name {
		if b <= ' ' || b >= 0x7F {
			return nil, nil, false
		}
	}
	return name, line[c+1:], true
}

// decodeHeader fills Field.Value: RFC 2047 words decoded, raw 8-bit text
// converted with the charset the entity declares (or a guess).
func (p *parser) decodeHeader(h Header) Header {
	fallback := charset{}
	haveFallback := false
	for i := range h {
		raw := h[i].Raw
		if isASCII(raw) && !strings.Contains(raw, "=?") {
			h[i].Value = raw
			continue
		}
		if !isASCII(raw) && !haveFallback {
			p.anomaly(AnomalyHeader8bit)
			haveFallback = true
			fallback = guess8bit([]byte(raw))
			if ct := h.GetRaw("Content-Type"); ct != "" {
				_, params := parseMediaType(ct)
				if cs, ok := lookupCharset(params["charset"]); ok && params["charset"] != "" {
					fallback = cs
				}
			}
		}
		h[i].Value = p.decodeWords(raw, fallback)
	}
	return h
}

// decodeWords decodes RFC 2047 encoded words leniently: words inside other
// tokens, spaces inside words, unknown encodings left as written. Adjacent
// words of one charset are joined before conversion so a multi-byte
// character split across words survives; white space between words is
// dropped (RFC 2047 §6.2).
func (p *parser) decodeWords(s string, fallback charset) string {
	if !strings.Contains(s, "=?") {
		return p.plainHeaderText(s, fallback)
	}
	var b strings.Builder
	var pend []byte
	pendCS := ""
	flush := func() {
		if pendCS == "" {
			return
		}
		cs, ok := lookupCharset(pendCS)
		if !ok {
			p.anomaly(AnomalyUnknownCharset)
			cs = guess8bit(pend)
		} else {
			p.noteCharset(cs.name)
		}
		t := decodeText(cs, pend)
		if cs.enc == nil && !utf8.ValidString(t) {
			t = decodeText(guess8bit(pend), pend)
		}
		b.WriteString(t)
		pend, pendCS = pend[:0], ""
	}
	lastWord := false
	for len(s) > 0 {
		i := strings.Index(s, "=?")
		if i < 0 {
			flush()
			b.WriteString(p.plainHeaderText(s, fallback))
			break
		}
		cs, text, n, ok := parseEncodedWord(s[i:])
		if !ok {
			if end := strings.Index(s[i+2:], "?="); end >= 0 && end < 80 && strings.Count(s[i+2:i+2+end], "?") >= 2 {
				p.anomaly(AnomalyBadEncodedWord) // shaped like a word but does not decode
			}
			flush()
			b.WriteString(p.plainHeaderText(s[:i+2], fallback))
			s = s[i+2:]
			lastWord = false
			continue
		}
		between := s[:i]
		if !(lastWord && strings.TrimSpace(between) == "") {
			flush()
			b.WriteString(p.plainHeaderText(between, fallback))
		}
		if !strings.EqualFold(cs, pendCS) {
			flush()
			pendCS = cs
		}
		pend = append(pend, text...)
		s = s[i+n:]
		lastWord = true
	}
	flush()
	return b.String()
}

// plainHeaderText converts unencoded header text; 8-bit bytes use fallback.
func (p *parser) plainHeaderText(s string, fallback charset) string {
	if isASCII(s) || utf8.ValidString(s) && fallback.enc == nil {
		return s
	}
	if fallback.enc == nil && !fallback.kr {
		fallback = guess8bit([]byte(s))
	}
	return decodeText(fallback, []byte(s))
}

// parseEncodedWord parses "=?charset?B|Q?text?=" at the start of s and
// returns the charset, the decoded bytes and the length consumed.
func parseEncodedWord(s string) (cs string, text []byte, n int, ok bool) {
	if len(s) < 8 || s[0] != '=' || s[1] != '?' {
		return "", nil, 0, false
	}
	q1 := strings.IndexByte(s[2:], '?')
	if q1 <= 0 || q1 > 64 {
		return "", nil, 0, false
	}
	q1 += 2
	if q1+2 >= len(s) || s[q1+2] != '?' {
		return "", nil, 0, false
	}
	enc := s[q1+1] | 0x20
	end := strings.Index(s[q1+3:], "?=")
	if end < 0 || end > 1024 {
		return "", nil, 0, false
	}
	payload := s[q1+3 : q1+3+end]
	n = q1 + 3 + end + 2
	cs = s[2:q1]
	switch enc {
	case 'b':
		text, _ = decodeBase64Lenient(nil, []byte(payload), len(payload))
	case 'q':
		text = decodeQ(payload)
	default:
		return "", nil, 0, false
	}
	return cs, text, n, true
}

// decodeQ decodes the RFC 2047 "Q" encoding.
func decodeQ(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// parseMediaType parses a Content-Type or Content-Disposition value
// leniently: a missing or broken parameter never loses the type, quotes may
// be missing, and RFC 2231 continuations and charsets are joined.
func parseMediaType(v string) (mediaType string, params map[string]string) {
	v = strings.TrimSpace(v)
	semi := strings.IndexByte(v, ';')
	if semi < 0 {
		return strings.ToLower(strings.TrimSpace(v)), nil
	}
	mediaType = strings.ToLower(strings.TrimSpace(v[:semi]))
	rest := v[semi+1:]
	var cont map[string][]string
	for len(rest) > 0 && len(params) < 64 {
		rest = strings.TrimLeft(rest, " \t;")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			var vb strings.Builder
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' && end+1 < len(rest) {
					end++
				}
				vb.WriteByte(rest[end])
				end++
			}
			val = vb.String()
			if end < len(rest) {
				end++
			}
			rest = rest[end:]
		} else {
			end := strings.IndexAny(rest, "; \t")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		if params == nil {
			params = map[string]string{}
		}
		if star := strings.IndexByte(key, '*'); star >= 0 {
			// RFC 2231: name*0*=, name*1=, name*=charset'lang'pct-encoded.
			base := key[:star]
			if cont == nil {
				cont = map[string][]string{}
			}
			cont[base] = append(cont[base], key[star:]+"\x00"+val)
			continue
		}
		if _, dup := params[key]; !dup {
			params[key] = val
		}
	}
	for base, pieces := range cont {
		params[base] = join2231(pieces)
	}
	return mediaType, params
}

// join2231 joins RFC 2231 pieces ("*0*\x00us-ascii'en'a%20b", "*1\x00c") in
// index order and decodes the charset of the first.
func join2231(pieces []string) string {
	type piece struct {
		idx     int
		encoded bool
		val     string
	}
	var ps []piece
	for _, p := range pieces {
		k, v, _ := strings.Cut(p, "\x00")
		k = strings.TrimPrefix(k, "*")
		enc := strings.HasSuffix(k, "*")
		k = strings.TrimSuffix(k, "*")
		idx := 0
		for _, c := range k {
			if c < '0' || c > '9' {
				break
			}
			idx = idx*10 + int(c-'0')
			if idx > 1000 {
				break
			}
		}
		ps = append(ps, piece{idx, enc || (k == "" && strings.Count(v, "'") >= 2), v})
	}
	for i := 1; i < len(ps); i++ { // insertion sort: few pieces
		for j := i; j > 0 && ps[j].idx < ps[j-1].idx; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	csName := ""
	var out []byte
	for i, p := range ps {
		v := p.val
		if p.encoded {
			if i == 0 {
				if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
					csName, v = parts[0], parts[2]
				}
			}
			for j := 0; j < len(v); j++ {
				if v[j] == '%' && j+2 < len(v) && isHex(v[j+1]) && isHex(v[j+2]) {
					out = append(out, unhex(v[j+1])<<4|unhex(v[j+2]))
					j += 2
				} else {
					out = append(out, v[j])
				}
			}
		} else {
			out = append(out, v...)
		}
	}
	if cs, ok := lookupCharset(csName); ok {
		return decodeText(cs, out)
	}
	return string(out)
}
