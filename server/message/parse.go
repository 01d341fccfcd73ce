package message

import (
	"bytes"
	"context"
	"image"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/imghash"
	"github.com/scilla-mail/scilla/server/qrcode"
)

// Parse builds the message model from raw bytes within the limits (zero
// fields take DefaultLimits). It never fails.
func Parse(raw []byte, lim Limits) *Message {
	return ParseContext(context.Background(), raw, lim)
}

// ParseContext is Parse that also stops at ctx's deadline or cancellation,
// recording the parse_timeout anomaly and keeping what was parsed so far.
func ParseContext(ctx context.Context, raw []byte, lim Limits) *Message {
	lim = lim.withDefaults()
	m := &Message{Raw: raw}
	p := &parser{lim: lim, m: m, ctx: ctx, deadline: time.Now().Add(lim.Timeout)}
	if d, ok := ctx.Deadline(); ok && d.Before(p.deadline) {
		p.deadline = d
	}
	if len(raw) > lim.MaxSize {
		p.anomaly(AnomalySizeLimit)
		raw = raw[:lim.MaxSize]
	}
	m.Root = p.entity(raw, 0, "text/plain")
	if m.Root == nil { // cannot happen: the root is always within limits
		m.Root = &Part{MediaType: "text/plain"}
	}
	m.Header = m.Root.Header
	m.Subject = strings.TrimSpace(m.Header.Get("Subject"))
	if !m.Header.Has("MIME-Version") && (m.Header.Has("Content-Type") || m.Header.Has("Content-Transfer-Encoding")) &&
		(strings.HasPrefix(m.Root.MediaType, "multipart/") || m.Root.Charset != "") {
		p.anomaly(AnomalyNoMIMEVersion)
	}
	p.collectText(m.Root)
	m.Text = p.text.String()
	m.Words = countWords(m.Text)
	p.addURLs(ExtractURLs(m.Text))
	p.readQRCodes()
	m.URLs = p.urls
	return m
}

// ParseHeader reads only the top-level header of raw, decoded as Parse
// decodes it, within the limits: for callers that need a field or two of
// a message they do not rate.
func ParseHeader(raw []byte, lim Limits) Header {
	lim = lim.withDefaults()
	p := &parser{lim: lim, m: &Message{Raw: raw}, ctx: context.Background(), deadline: time.Now().Add(lim.Timeout)}
	h, _ := p.readHeader(raw[:min(len(raw), lim.MaxSize)])
	return p.decodeHeader(h)
}

// Bounds on reading QR codes (about 7 ms for a 640×480 image): only short
// messages are searched, as a quishing mail is a few lines and a code while
// newsletters with many pictures have much text, and only their first
// images.
const (
	qrMaxWords  = 300
	qrMaxImages = 3
)

// readQRCodes reads the QR codes in a short message's images, then in
// its PDF attachments' pictures, into Message.QRCodes; the links they hold
// join the message's links.
func (p *parser) readQRCodes() {
	if p.m.Words > qrMaxWords {
		return
	}
	tried := 0 // pictures decoded or not: a broken one counts too
	read := func(img image.Image) {
		if text, err := qrcode.ReadImage(img); err == nil && text != "" {
			p.m.QRCodes = append(p.m.QRCodes, text)
			p.addURLs(ExtractURLs(text))
		}
	}
	for _, part := range p.m.Images {
		if tried == qrMaxImages || p.expired() {
			return
		}
		tried++
		img, err := imghash.Decode(part.Body)
		if err != nil {
			continue
		}
		part.Pixels = img
		read(img)
	}
	for _, pic := range p.pictures {
		if tried == qrMaxImages || p.expired() {
			return
		}
		tried++
		img, used, err := pic.decode(min(p.decodeRoom(), maxPDFInflate))
		p.spend(used)
		if err == nil {
			read(img)
		}
	}
}

// parser holds the state of one Parse.
type parser struct {
	lim      Limits
	m        *Message
	ctx      context.Context
	deadline time.Time
	decoded  int // bytes produced by decoding so far
	checks   int
	stopped  bool
	text     strings.Builder
	urls     []URL
	urlSeen  map[string]bool
	pictures []pdfImage // the PDF attachments' first pictures, for readQRCodes
}

func (p *parser) anomaly(name string) {
	for _, a := range p.m.Anomalies {
		if a == name {
			return
		}
	}
	p.m.Anomalies = append(p.m.Anomalies, name)
}

func (p *parser) noteCharset(name string) {
	if name == "" || name == "utf-8" {
		return
	}
	for _, c := range p.m.Charsets {
		if c == name {
			return
		}
	}
	p.m.Charsets = append(p.m.Charsets, name)
}

// expired reports whether the time budget is spent; it reads the clock only
// every few calls to stay cheap in tight loops.
func (p *parser) expired() bool {
	if p.stopped {
		return true
	}
	p.checks++
	if p.checks&15 != 1 {
		return false
	}
	if time.Now().After(p.deadline) || p.ctx.Err() != nil {
		p.stopped = true
		p.anomaly(AnomalyTimeout)
	}
	return p.stopped
}

func (p *parser) decodeRoom() int { return max(p.lim.MaxDecodedBytes-p.decoded, 0) }

func (p *parser) spend(n int) {
	p.decoded += n
	if p.decoded >= p.lim.MaxDecodedBytes {
		p.anomaly(AnomalyDecodeLimit)
	}
}

// entity parses one MIME entity; defType is the type when none is declared
// (message/rfc822 inside multipart/digest). It returns nil when the part
// limit is reached.
func (p *parser) entity(raw []byte, depth int, defType string) *Part {
	if p.m.Parts >= p.lim.MaxParts {
		p.anomaly(AnomalyParts)
		return nil
	}
	p.m.Parts++
	hdr, body := p.readHeader(raw)
	if depth == 0 {
		p.m.Body = body
	}
	part := &Part{Header: hdr, MediaType: defType, Depth: depth}
	if ct := hdr.GetRaw("Content-Type"); ct != "" {
		mt, params := parseMediaType(ct)
		if !validMediaType(mt) {
			p.anomaly(AnomalyBadContentType)
			mt = ""
		}
		if mt != "" {
			part.MediaType = mt
		}
		part.Params = params
	}
	if cs := part.Params["charset"]; cs != "" {
		part.Charset = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	}
	part.Filename = part.Params["name"]
	if cd := hdr.GetRaw("Content-Disposition"); cd != "" {
		disp, params := parseMediaType(cd)
		part.Attachment = disp == "attachment"
		if params["filename"] != "" {
			part.Filename = params["filename"]
		}
	}
	if part.Filename != "" {
		part.Filename = p.decodeWords(part.Filename, charset{})
	}
	if p.expired() {
		return part
	}
	switch {
	case strings.HasPrefix(part.MediaType, "multipart/"):
		p.multipart(part, body, depth)
		return part
	case part.MediaType == "message/rfc822" || part.MediaType == "message/global":
		inner := p.decodeTransfer(body, hdr.Get("Content-Transfer-Encoding"))
		if depth+1 > p.lim.MaxDepth {
			p.anomaly(AnomalyDepth)
			part.Body = inner
			return part
		}
		if c := p.entity(inner, depth+1, "text/plain"); c != nil {
			part.Children = append(part.Children, c)
		}
		return part
	}
	part.Body = p.decodeTransfer(body, hdr.Get("Content-Transfer-Encoding"))
	p.leafText(part)
	p.m.Leaves = append(p.m.Leaves, part)
	if strings.HasPrefix(part.MediaType, "image/") {
		p.m.Images = append(p.m.Images, part)
	}
	return part
}

func validMediaType(mt string) bool {
	slash := strings.IndexByte(mt, '/')
	if slash <= 0 || slash == len(mt)-1 {
		return false
	}
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte(`()<>@,;:\"[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// multipart splits body on the boundary and parses each part.
func (p *parser) multipart(part *Part, body []byte, depth int) {
	boundary := part.Params["boundary"]
	if boundary == "" {
		p.anomaly(AnomalyNoBoundary)
		p.fallbackLeaf(part, body)
		return
	}
	if depth+1 > p.lim.MaxDepth {
		p.anomaly(AnomalyDepth)
		return
	}
	childType := "text/plain"
	if part.MediaType == "multipart/digest" {
		childType = "message/rfc822"
	}
	delim := []byte("--" + boundary)
	pos, start := 0, -1
	found, closed := false, false
	for pos < len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		after := at + len(delim)
		pos = after
		if at > 0 && body[at-1] != '\n' {
			continue // not at the start of a line
		}
		isClose := bytes.HasPrefix(body[after:], []byte("--"))
		if isClose {
			after += 2
		}
		// The rest of the delimiter line must be white space.
		eol := bytes.IndexByte(body[after:], '\n')
		lineEnd := len(body)
		if eol >= 0 {
			lineEnd = after + eol
		}
		if len(bytes.TrimSpace(body[after:lineEnd])) != 0 {
			continue
		}
		found = true
		if start >= 0 {
			if !p.child(part, trimDelimEOL(body[start:at]), depth, childType) {
				return
			}
		}
		if isClose {
			closed = true
			break
		}
		start = min(lineEnd+1, len(body))
		pos = start
	}
	if !found {
		p.anomaly(AnomalyBoundaryMissing)
		p.fallbackLeaf(part, body)
		return
	}
	if !closed {
		p.anomaly(AnomalyUnterminated)
		if start >= 0 && start < len(body) {
			p.child(part, body[start:], depth, childType)
		}
	}
	if len(part.Children) == 0 {
		p.anomaly(AnomalyEmptyMultipart)
	}
}

// child parses one part of a multipart; false means stop (limits).
func (p *parser) child(parent *Part, raw []byte, depth int, defType string) bool {
	if p.expired() {
		return false
	}
	c := p.entity(raw, depth+1, defType)
	if c == nil {
		return false
	}
	parent.Children = append(parent.Children, c)
	return true
}

// trimDelimEOL removes the line break that belongs to the next delimiter.
func trimDelimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// fallbackLeaf treats the body of a broken multipart as plain text, so its
// words still reach the checks.
func (p *parser) fallbackLeaf(part *Part, body []byte) {
	leaf := &Part{MediaType: "text/plain", Charset: part.Charset, Depth: part.Depth + 1}
	leaf.Body = body
	p.leafText(leaf)
	part.Children = append(part.Children, leaf)
	p.m.Leaves = append(p.m.Leaves, leaf)
}

// leafText fills Part.Text for the parts whose text a reader sees: text
// parts, HTML, RTF and Word documents; of a PDF it takes the links.
func (p *parser) leafText(part *Part) {
	ext := strings.ToLower(path.Ext(part.Filename))
	mt := part.MediaType
	switch {
	case mt == "text/html" || (ext == ".html" || ext == ".htm") && !strings.HasPrefix(mt, "image/"):
		if part.Charset == "" {
			part.Charset = metaCharset(part.Body)
		}
		text, links := p.renderHTML(p.toUTF8(part, part.Body))
		part.Text = text
		p.addURLs(links)
	case mt == "text/rtf" || mt == "application/rtf" || ext == ".rtf":
		text, ok := rtfText(part.Body, p.lim.MaxTextBytes)
		if !ok {
			p.anomaly(AnomalyBadDocument)
		}
		part.Text = text
	case mt == "application/msword" || ext == ".doc":
		text, ok := docText(part.Body, p.lim.MaxTextBytes)
		if !ok {
			p.anomaly(AnomalyBadDocument)
		}
		part.Text = text
	case mt == "application/vnd.openxmlformats-officedocument.wordprocessingml.document" || ext == ".docx":
		// WordprocessingML is rarely more than 16 times its text.
		room := min(p.decodeRoom(), 16*p.lim.MaxTextBytes)
		text, used, ok := docxText(part.Body, p.lim.MaxTextBytes, room)
		p.spend(used)
		if used >= room {
			p.anomaly(AnomalyDecodeLimit)
		}
		if !ok {
			p.anomaly(AnomalyBadDocument)
		}
		part.Text = text
	case mt == "application/pdf" || ext == ".pdf":
		// No text: a PDF's links, which join the message's links, and its
		// first pictures, for their QR codes (readQRCodes). Half
		// the decoding budget at most, so that a big legitimate PDF
		// never reaches the limit (an anomaly).
		links, used, _ := pdfLinks(part.Body, min(p.decodeRoom()/2, maxPDFInflate))
		p.spend(used)
		for _, l := range links {
			p.addURLs(ExtractURLs(l))
		}
		if len(p.pictures) < qrMaxImages {
			p.pictures = append(p.pictures, pdfImages(part.Body, qrMaxImages-len(p.pictures))...)
		}
	case strings.HasPrefix(mt, "text/") && mt != "text/rfc822-headers":
		part.Text = p.toUTF8(part, part.Body)
	}
	if len(part.Text) > p.lim.MaxTextBytes {
		p.anomaly(AnomalyTextLimit)
		part.Text = truncUTF8(part.Text, p.lim.MaxTextBytes)
	}
}

// metaCharset finds the charset an HTML document declares in its first
// bytes (<meta charset=...> or http-equiv Content-Type), "" for none.
func metaCharset(b []byte) string {
	head := b[:min(len(b), 2048)]
	i := bytes.Index(bytes.ToLower(head), []byte("charset="))
	if i < 0 {
		return ""
	}
	v := head[i+len("charset="):]
	v = bytes.TrimLeft(v, `"' `)
	end := bytes.IndexAny(v, "\"'>;/ \t\r\n")
	if end < 0 {
		end = len(v)
	}
	return strings.ToLower(string(v[:end]))
}

// toUTF8 converts a text body from its declared charset, guessing when the
// declaration is missing or wrong.
func (p *parser) toUTF8(part *Part, b []byte) string {
	if len(b) > p.lim.MaxTextBytes*4 {
		b = b[:p.lim.MaxTextBytes*4]
	}
	if bytes.IndexByte(b, 0) >= 0 {
		p.anomaly(AnomalyNUL)
		b = bytes.ReplaceAll(b, []byte{0}, nil)
	}
	cs, ok := lookupCharset(part.Charset)
	if !ok {
		p.anomaly(AnomalyUnknownCharset)
		cs = guess8bit(b)
	}
	p.noteCharset(cs.name)
	if cs.enc == nil && !cs.kr && !utf8.Valid(b) {
		if part.Charset == "" || strings.Contains(part.Charset, "ascii") {
			p.anomaly(AnomalyUndeclared8bit)
		} else {
			p.anomaly(AnomalyBadUTF8)
		}
		cs = guess8bit(b)
	}
	return decodeText(cs, b)
}

// collectText builds Message.Text: every part's text, but only the
// richest alternative of a multipart/alternative (what a reader sees).
func (p *parser) collectText(part *Part) {
	if part == nil || p.text.Len() >= p.lim.MaxTextBytes {
		return
	}
	if part.MediaType == "multipart/alternative" && len(part.Children) > 1 {
		var best *Part
		for _, c := range part.Children {
			if hasText(c) {
				best = c // later alternatives are richer (RFC 2046 §5.1.4)
			}
		}
		p.collectText(best)
		return
	}
	if len(part.Children) > 0 {
		for _, c := range part.Children {
			p.collectText(c)
		}
		return
	}
	if strings.TrimSpace(part.Text) == "" {
		return
	}
	room := p.lim.MaxTextBytes - p.text.Len()
	t := part.Text
	if len(t) > room {
		p.anomaly(AnomalyTextLimit)
		t = truncUTF8(t, room)
	}
	if p.text.Len() > 0 {
		p.text.WriteByte('\n')
	}
	p.text.WriteString(t)
}

func hasText(p *Part) bool {
	if strings.TrimSpace(p.Text) != "" {
		return true
	}
	for _, c := range p.Children {
		if hasText(c) {
			return true
		}
	}
	return false
}

const maxURLs = 1000

func (p *parser) addURLs(us []URL) { p.addURLsDepth(us, 0) }

// addURLsDepth adds links, each followed by the links it redirects to.
func (p *parser) addURLsDepth(us []URL, depth int) {
	for _, u := range us {
		if len(p.urls) >= maxURLs {
			return
		}
		if p.urlSeen == nil {
			p.urlSeen = map[string]bool{}
		}
		if p.urlSeen[u.Raw] {
			continue
		}
		p.urlSeen[u.Raw] = true
		p.urls = append(p.urls, u)
		if depth < maxRedirectDepth && strings.ContainsAny(u.Raw, "?_") {
			for _, t := range redirectTargets(u.Raw) {
				p.addURLsDepth(ExtractURLs(t), depth+1)
			}
		}
	}
}

// truncUTF8 cuts s to at most n bytes without splitting a character.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// countWords counts runs of letters and digits; in scripts written
// without spaces (Han, Kana, Thai) every character counts as a word.
func countWords(s string) int {
	n := 0
	in := false
	for _, r := range s {
		if r >= 0x0E00 && (r <= 0x0E7F || r >= 0x3040 && r <= 0x30FF || r >= 0x3400 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF) {
			n++
			in = false
			continue
		}
		w := unicode.IsLetter(r) || unicode.IsDigit(r)
		if w && !in {
			n++
		}
		in = w
	}
	return n
}
