package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Limits bound the work Parse does on one message.
type Limits struct {
	// MaxDepth is the deepest MIME nesting followed.
	MaxDepth int
	// MaxParts is the most MIME parts parsed.
	MaxParts int
	// MaxHeaderBytes is the most bytes of header read per entity.
	MaxHeaderBytes int
}

// DefaultLimits are the limits used when none are given.
var DefaultLimits = Limits{MaxDepth: 20, MaxParts: 500, MaxHeaderBytes: 256 << 10}

// Parse builds the message model from raw bytes. It never fails.
func Parse(raw []byte, lim Limits) *Message {
	m := &Message{Raw: raw}
	p := &parser{lim: lim, m: m}
	m.Root = p.entity(raw, 0)
	m.Header = m.Root.Header
	m.Subject = m.Header.Get("Subject")
	var text []string
	for _, l := range m.Leaves {
		if l.Text != "" {
			text = append(text, l.Text)
		}
		if strings.HasPrefix(l.MediaType, "image/") {
			m.Images = append(m.Images, l)
		}
	}
	m.Text = strings.Join(text, "\n")
	m.URLs = ExtractURLs(m.Text)
	return m
}

type parser struct {
	lim   Limits
	m     *Message
	parts int
}

func (p *parser) anomaly(name string) {
	for _, a := range p.m.Anomalies {
		if a == name {
			return
		}
	}
	p.m.Anomalies = append(p.m.Anomalies, name)
}

func (p *parser) entity(raw []byte, depth int) *Part {
	p.parts++
	hdr, body := splitHeader(raw, p.lim.MaxHeaderBytes, p.anomaly)
	part := &Part{Header: hdr, MediaType: "text/plain", Params: map[string]string{}}
	if ct := hdr.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			p.anomaly("bad_content_type")
			if i := strings.IndexByte(ct, ';'); i >= 0 {
				mt = ct[:i]
			} else {
				mt = ct
			}
			mt = strings.ToLower(strings.TrimSpace(mt))
		}
		if mt != "" {
			part.MediaType = mt
		}
		if params != nil {
			part.Params = params
		}
	}
	part.Charset = strings.ToLower(part.Params["charset"])
	part.Filename = part.Params["name"]
	if cd := hdr.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil && params["filename"] != "" {
			part.Filename = params["filename"]
		}
	}
	if strings.HasPrefix(part.MediaType, "multipart/") {
		if depth >= p.lim.MaxDepth {
			p.anomaly("mime_depth")
			return part
		}
		boundary := part.Params["boundary"]
		if boundary == "" {
			p.anomaly("multipart_no_boundary")
			return part
		}
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			if p.parts >= p.lim.MaxParts {
				p.anomaly("mime_parts")
				break
			}
			np, err := mr.NextRawPart()
			if err != nil {
				if err != io.EOF {
					p.anomaly("multipart_broken")
				}
				break
			}
			// Rebuild the child's raw form so the same entity parser handles it.
			var buf bytes.Buffer
			for k, vs := range np.Header {
				for _, v := range vs {
					buf.WriteString(k + ": " + v + "\r\n")
				}
			}
			buf.WriteString("\r\n")
			if _, err := io.Copy(&buf, np); err != nil {
				p.anomaly("multipart_broken")
			}
			part.Children = append(part.Children, p.entity(buf.Bytes(), depth+1))
		}
		return part
	}
	part.Body = decodeTransfer(body, hdr.Get("Content-Transfer-Encoding"), p.anomaly)
	if part.MediaType == "message/rfc822" && depth < p.lim.MaxDepth {
		part.Children = append(part.Children, p.entity(part.Body, depth+1))
		return part
	}
	if strings.HasPrefix(part.MediaType, "text/") {
		part.Text = string(part.Body)
		if part.MediaType == "text/html" {
			part.Text = stripTags(part.Text)
		}
	}
	p.m.Leaves = append(p.m.Leaves, part)
	return part
}

// splitHeader reads header fields up to the first empty line.
func splitHeader(raw []byte, max int, anomaly func(string)) (Header, []byte) {
	var h Header
	rest := raw
	read := 0
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		read += len(line) + 1
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return decodeFields(h), rest
		}
		if read > max {
			anomaly("header_too_big")
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h) == 0 {
				anomaly("header_continuation")
				continue
			}
			h[len(h)-1].Raw += " " + strings.TrimSpace(string(line))
			continue
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			anomaly("header_malformed")
			continue
		}
		h = append(h, Field{Name: string(bytes.TrimSpace(line[:c])), Raw: strings.TrimSpace(string(line[c+1:]))})
	}
	return decodeFields(h), rest
}

func decodeFields(h Header) Header {
	dec := new(mime.WordDecoder)
	for i := range h {
		v, err := dec.DecodeHeader(h[i].Raw)
		if err != nil {
			v = h[i].Raw
		}
		h[i].Value = v
	}
	return h
}

func decodeTransfer(body []byte, cte string, anomaly func(string)) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, body)
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			anomaly("bad_base64")
		}
		return out[:n]
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			anomaly("bad_quoted_printable")
		}
		return out
	}
	return body
}

var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

func stripTags(s string) string { return tagRE.ReplaceAllString(s, " ") }

var urlRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'()]+`)

// ExtractURLs finds http(s) and www. links in text.
func ExtractURLs(text string) []URL {
	var out []URL
	for _, raw := range urlRE.FindAllString(text, -1) {
		host := raw
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host, "]") {
			host = host[:i]
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		u := URL{Raw: raw, Host: host}
		if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
			u.Domain = d
		}
		out = append(out, u)
	}
	return out
}
