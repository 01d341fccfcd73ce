package message

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// renderHTML turns HTML into the text a reader sees and counts the tricks
// that hide or disguise text (into p.m.HTML). Hidden, tiny and same-colour
// text is left out of the result; words split by comments or inline tags
// are joined again. It returns the text and the links (a href, img src).
func (p *parser) renderHTML(src string) (string, []URL) {
	r := htmlRenderer{
		st:    &p.m.HTML,
		limit: p.lim.MaxTextBytes,
		stack: []hstate{{fg: 0x000000, bg: 0xFFFFFF}},
	}
	r.st.Parts++
	z := html.NewTokenizer(strings.NewReader(src))
	attrBuf := make([]attr, 0, 32)
	for n := 0; ; n++ {
		if n&1023 == 1023 && p.expired() {
			r.st.Truncated = true
			break
		}
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			if r.top().tag == atom.Style {
				r.styleSheet(z.Text())
				continue
			}
			raw := z.Raw()
			r.countEncoded(raw)
			r.text(z.Text())
		case html.CommentToken:
			if r.lastLetter && r.pending == splitNone {
				r.pending = splitComment
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			attrs := attrBuf[:0]
			for hasAttr && len(attrs) < 32 {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs = append(attrs, attr{atom.Lookup(k), k, v})
			}
			r.start(a, attrs, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			r.end(atom.Lookup(name))
		}
	}
	r.closeLink()
	if r.truncated {
		r.st.Truncated = true
		p.anomaly(AnomalyTextLimit)
	}
	return strings.TrimSpace(r.out.String()), r.links
}

// attr is one attribute; name and val point into the tokenizer's buffer
// and are valid only while the tag is handled.
type attr struct {
	key  atom.Atom
	name []byte
	val  []byte
}

type splitKind uint8

const (
	splitNone splitKind = iota
	splitComment
	splitTag
)

// hstate is the rendering state inside one open element.
type hstate struct {
	tag atom.Atom
	// none: display:none here or above, which no descendant can undo;
	// invisible: visibility:hidden, which a descendant may undo.
	none, invisible bool
	tiny            bool
	skip            bool  // script, style, head: not text
	fg, bg          int32 // colours 0xRRGGBB
}

type htmlRenderer struct {
	st        *HTMLStats
	out       strings.Builder
	limit     int
	truncated bool
	stack     []hstate
	// lastLetter: the output ends with a letter (no space since).
	lastLetter bool
	space      bool // a space is owed before the next text
	pending    splitKind
	// seenVisible: visible text came already; hidden text before it is
	// the preheader.
	seenVisible bool
	// classes holds the declarations of ".class" rules of <style> sheets.
	classes map[string]string
	// Current link.
	inLink   bool
	linkDom  string
	linkText []byte
	links    []URL
}

const maxHTMLStack = 256

func (r *htmlRenderer) top() *hstate { return &r.stack[len(r.stack)-1] }

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.Img, atom.Hr, atom.Meta, atom.Link, atom.Input, atom.Area, atom.Base,
		atom.Col, atom.Embed, atom.Param, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Br, atom.Tr, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5,
		atom.H6, atom.Table, atom.Td, atom.Th, atom.Ul, atom.Ol, atom.Blockquote, atom.Pre, atom.Hr,
		atom.Body, atom.Html, atom.Title, atom.Dd, atom.Dt, atom.Dl, atom.Center, atom.Form,
		atom.Section, atom.Article, atom.Header, atom.Footer, atom.Tbody, atom.Thead, atom.Address:
		return true
	}
	return false
}

func (r *htmlRenderer) start(a atom.Atom, attrs []attr, selfClosing bool) {
	switch a {
	case atom.A:
		r.closeLink()
		for _, at := range attrs {
			if at.key == atom.Href {
				r.st.Links++
				r.inLink = true
				if u, ok := parseLink(string(at.val)); ok {
					r.links = append(r.links, u)
					r.linkDom = u.Domain
				}
			}
		}
	case atom.Img:
		r.st.Images++
		for _, at := range attrs {
			if at.key == atom.Src {
				if u, ok := parseLink(string(at.val)); ok {
					r.links = append(r.links, u)
				}
			}
		}
	case atom.Form:
		r.st.Forms++
	case atom.Script:
		r.st.Scripts++
	case atom.Iframe:
		r.st.Iframes++
		for _, at := range attrs {
			if at.key == atom.Src {
				if u, ok := parseLink(string(at.val)); ok {
					r.links = append(r.links, u)
				}
			}
		}
	}
	if isBlock(a) {
		r.newline()
	} else if r.lastLetter && r.pending == splitNone {
		r.pending = splitTag
	}
	if isVoid(a) || selfClosing {
		return
	}
	parent := *r.top()
	s := parent
	s.tag = a
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Noscript, atom.Template, atom.Object:
		s.skip = true
	}
	for _, at := range attrs { // class rules first: inline style overrides them
		if at.key == atom.Class && r.classes != nil {
			for _, c := range strings.Fields(string(at.val)) {
				if decl, ok := r.classes[c]; ok {
					applyStyle(&s, decl, parent.none)
				}
			}
		}
	}
	for _, at := range attrs {
		switch at.key {
		case atom.Style:
			applyStyle(&s, string(at.val), parent.none)
		case atom.Color:
			if a == atom.Font {
				if c, ok := parseColor(string(at.val)); ok {
					s.fg = c
				}
			}
		case atom.Hidden:
			s.none = true
		case atom.Size:
			if a == atom.Font && fontSizeTiny(string(at.val)) {
				s.tiny = true
			}
		default:
			switch {
			case a == atom.Body && bytes.EqualFold(at.name, []byte("text")):
				if c, ok := parseColor(string(at.val)); ok {
					s.fg = c
				}
			case bytes.EqualFold(at.name, []byte("bgcolor")):
				if c, ok := parseColor(string(at.val)); ok {
					s.bg = c
				}
			}
		}
	}
	if len(r.stack) < maxHTMLStack {
		r.stack = append(r.stack, s)
	}
}

func (r *htmlRenderer) end(a atom.Atom) {
	if a == atom.A {
		r.closeLink()
	}
	for i := len(r.stack) - 1; i > 0; i-- {
		if r.stack[i].tag == a {
			r.stack = r.stack[:i]
			break
		}
	}
	if isBlock(a) {
		r.newline()
	} else if r.lastLetter && r.pending == splitNone {
		r.pending = splitTag
	}
}

func (r *htmlRenderer) newline() {
	r.lastLetter = false
	r.pending = splitNone
	r.space = false
	if r.out.Len() > 0 {
		s := r.out.String()
		if s[len(s)-1] != '\n' {
			r.write("\n")
		}
	}
}

func (r *htmlRenderer) write(s string) {
	if r.out.Len()+len(s) > r.limit {
		r.truncated = true
		return
	}
	r.out.WriteString(s)
}

// maxPreheader bounds the preheader: the hidden line before a message's
// visible text that mail programs show beside the subject in the inbox
// list. Newsletters set one in nearly every message, often padded with
// invisible joiners so that the body's first words do not follow it; text
// stuffed in to mislead a filter is longer.
const maxPreheader = 300

// text handles one text token.
func (r *htmlRenderer) text(t []byte) {
	s := r.top()
	if s.skip {
		return
	}
	n := 0
	for _, c := range string(t) {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	if n == 0 {
		if len(t) > 0 {
			r.space = true
			r.lastLetter = false
			r.pending = splitNone
		}
		return
	}
	if (s.none || s.invisible) && !r.seenVisible && r.st.PreheaderChars+n <= maxPreheader {
		r.st.PreheaderChars += n
		r.hiddenText()
		return
	}
	switch {
	case s.none || s.invisible:
		r.st.HiddenChars += n
		r.hiddenText()
		return
	case s.tiny:
		r.st.TinyChars += n
		r.hiddenText()
		return
	case sameColor(s.fg, s.bg):
		r.st.SameColorChars += n
		r.hiddenText()
		return
	}
	r.st.VisibleChars += n
	r.seenVisible = true
	first, _ := utf8.DecodeRune(t)
	if r.pending != splitNone && r.lastLetter && unicode.IsLetter(first) {
		r.st.SplitWords++
		if r.pending == splitComment {
			r.st.CommentSplits++
		}
		r.space = false
	}
	r.pending = splitNone
	// Collapse white space as a browser does.
	if unicode.IsSpace(first) {
		r.space = true
	}
	var b strings.Builder
	fields := bytes.Fields(t)
	for i, f := range fields {
		switch {
		case i > 0:
			b.WriteByte(' ')
		case r.space && r.out.Len() > 0 && !strings.HasSuffix(r.out.String(), "\n"):
			b.WriteByte(' ')
		}
		b.Write(f)
	}
	r.write(b.String())
	last, _ := utf8.DecodeLastRune(t)
	r.space = unicode.IsSpace(last)
	r.lastLetter = unicode.IsLetter(last)
	if r.inLink && len(r.linkText) < 256 {
		r.linkText = append(r.linkText, ' ')
		r.linkText = append(r.linkText, t...)
	}
}

// styleSheet reads the ".class { ... }" rules of a <style> element, so
// text hidden through a class counts like text hidden inline. Other
// selectors are ignored.
func (r *htmlRenderer) styleSheet(css []byte) {
	const maxCSS, maxClasses = 64 << 10, 512
	if len(css) > maxCSS {
		css = css[:maxCSS]
	}
	src := string(css)
	for { // drop comments
		i := strings.Index(src, "/*")
		if i < 0 {
			break
		}
		j := strings.Index(src[i+2:], "*/")
		if j < 0 {
			src = src[:i]
			break
		}
		src = src[:i] + src[i+2+j+2:]
	}
	for _, rule := range strings.Split(src, "}") {
		sel, decl, ok := strings.Cut(rule, "{")
		if !ok {
			continue
		}
		for _, one := range strings.Split(sel, ",") {
			one = strings.TrimSpace(one)
			dot := strings.LastIndexByte(one, '.')
			if dot < 0 || strings.ContainsAny(one, " >+~:[#") {
				continue
			}
			if r.classes == nil {
				r.classes = map[string]string{}
			}
			if len(r.classes) < maxClasses {
				r.classes[one[dot+1:]] += ";" + decl
			}
		}
	}
}

// hiddenText notes that invisible text was skipped: it splits a word when
// visible letters continue right after it ("Vi<span hidden>x</span>agra").
func (r *htmlRenderer) hiddenText() {
	if r.lastLetter && r.pending == splitNone {
		r.pending = splitTag
	}
}

// closeLink compares the domain a link's text shows with where it goes.
func (r *htmlRenderer) closeLink() {
	if !r.inLink {
		return
	}
	if r.linkDom != "" && len(r.linkText) > 0 {
		shown := ExtractURLs(string(r.linkText))
		if len(shown) == 0 {
			if d := bareDomain(strings.TrimSpace(string(r.linkText))); d != "" {
				shown = []URL{{Domain: d}}
			}
		}
		for _, u := range shown {
			if u.Domain != "" && u.Domain != r.linkDom {
				r.st.LinkMismatch++
				break
			}
		}
	}
	r.inLink, r.linkDom, r.linkText = false, "", r.linkText[:0]
}

// countEncoded counts letters written as numeric character references.
func (r *htmlRenderer) countEncoded(raw []byte) {
	for {
		i := bytes.Index(raw, []byte("&#"))
		if i < 0 {
			return
		}
		raw = raw[i+2:]
		base := 10
		if len(raw) > 0 && (raw[0] == 'x' || raw[0] == 'X') {
			base, raw = 16, raw[1:]
		}
		j := 0
		for j < len(raw) && j < 8 && isHex(raw[j]) {
			j++
		}
		v, err := strconv.ParseInt(string(raw[:j]), base, 32)
		if err == nil && (v >= 'a' && v <= 'z' || v >= 'A' && v <= 'Z') {
			r.st.EncodedLetters++
		}
		raw = raw[j:]
	}
}

// applyStyle applies CSS declarations that hide text or set colours;
// later declarations override earlier ones, but display:none inherited
// from an ancestor (parentNone) stays.
func applyStyle(s *hstate, css string, parentNone bool) {
	collapsed := false
	zeroBox := false
	for _, decl := range strings.Split(css, ";") {
		k, v, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important")))
		switch k {
		case "display":
			s.none = parentNone || v == "none"
		case "visibility":
			s.invisible = v == "hidden" || v == "collapse"
		case "opacity":
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				s.invisible = f < 0.1
			}
		case "font-size":
			if f, ok := cssPx(v); ok {
				s.tiny = f <= 3
			}
		case "color":
			if c, ok := parseColor(v); ok {
				s.fg = c
			}
		case "background-color", "background":
			for _, f := range strings.Fields(v) {
				if c, ok := parseColor(f); ok {
					s.bg = c
					break
				}
			}
		case "overflow":
			collapsed = v == "hidden"
		case "height", "max-height", "width", "max-width", "line-height":
			if f, ok := cssPx(v); ok && f < 1 {
				zeroBox = true
			}
		}
	}
	if collapsed && zeroBox {
		s.none = true
	}
}

// cssPx converts a CSS length to pixels (px, pt, em at 16px, %, bare 0).
func cssPx(v string) (float64, bool) {
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyz%")
	unit := v[len(num):]
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, false
	}
	switch unit {
	case "px", "":
		return f, true
	case "pt":
		return f * 4 / 3, true
	case "em", "rem":
		return f * 16, true
	case "%":
		return f * 16 / 100, true
	}
	return 0, false
}

// fontSizeTiny reads <font size>: 1–7, or relative to the default 3.
func fontSizeTiny(v string) bool {
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
	if err != nil {
		return false
	}
	if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
		n += 3
	}
	return n <= 0
}

var namedColors = map[string]int32{
	"white": 0xFFFFFF, "black": 0x000000, "red": 0xFF0000, "green": 0x008000, "blue": 0x0000FF,
	"yellow": 0xFFFF00, "silver": 0xC0C0C0, "gray": 0x808080, "grey": 0x808080, "maroon": 0x800000,
	"navy": 0x000080, "purple": 0x800080, "olive": 0x808000, "teal": 0x008080, "lime": 0x00FF00,
	"aqua": 0x00FFFF, "fuchsia": 0xFF00FF, "orange": 0xFFA500, "snow": 0xFFFAFA, "ivory": 0xFFFFF0,
	"whitesmoke": 0xF5F5F5,
}

// parseColor reads #rgb, #rrggbb (the # may be missing), rgb(r,g,b) and
// the common colour names.
func parseColor(v string) (int32, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if c, ok := namedColors[v]; ok {
		return c, true
	}
	if strings.HasPrefix(v, "rgb(") && strings.HasSuffix(v, ")") {
		parts := strings.Split(v[4:len(v)-1], ",")
		if len(parts) != 3 {
			return 0, false
		}
		var c int32
		for _, s := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return 0, false
			}
			c = c<<8 | int32(min(max(n, 0), 255))
		}
		return c, true
	}
	v = strings.TrimPrefix(v, "#")
	switch len(v) {
	case 3:
		n, err := strconv.ParseUint(v, 16, 16)
		if err != nil {
			return 0, false
		}
		r, g, b := int32(n>>8&0xF), int32(n>>4&0xF), int32(n&0xF)
		return (r*17)<<16 | (g*17)<<8 | b*17, true
	case 6:
		n, err := strconv.ParseUint(v, 16, 32)
		if err != nil {
			return 0, false
		}
		return int32(n), true
	}
	return 0, false
}

// sameColor reports text whose colour is (nearly) its background's: the
// three channels differ by 60 at most together, so filler words in the
// lightest grey on white (#eeeeee) count, a grey footer (#cccccc) does not.
func sameColor(fg, bg int32) bool {
	d := func(shift uint) int32 {
		x := (fg>>shift)&0xFF - (bg>>shift)&0xFF
		if x < 0 {
			return -x
		}
		return x
	}
	return d(16)+d(8)+d(0) <= 60
}
