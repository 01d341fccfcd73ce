package clients

import (
	"bytes"
	"mime"
	"strings"
)

// Strips reports whether e removes header fields called name.
func (e Edits) Strips(name string) bool {
	for _, s := range e.StripHeaders {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// PrefixSubject returns the Subject value with prefix put in front, and
// false when nothing changes (empty prefix, or the subject already starts
// with it). value is the raw field value after the colon; leading white
// space is kept as it was. A non-ASCII prefix is RFC 2047 encoded.
func PrefixSubject(value, prefix string) (string, bool) {
	p := strings.TrimSpace(prefix)
	if p == "" {
		return value, false
	}
	trimmed := strings.TrimLeft(value, " \t")
	lead := value[:len(value)-len(trimmed)]
	if strings.HasPrefix(trimmed, p) {
		return value, false
	}
	if !isASCII(p) {
		p = mime.QEncoding.Encode("utf-8", p)
	}
	if trimmed == "" {
		return lead + p, true
	}
	return lead + p + " " + trimmed, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Apply returns msg with the edits made: stripped fields removed, the first
// Subject prefixed (or a Subject added), new fields appended at the end of
// the header section. Line endings follow the message (CRLF or LF). The body
// is not touched; msg is not modified.
func (e Edits) Apply(msg []byte) []byte {
	if e.Empty() {
		return msg
	}
	nl := []byte("\n")
	if i := bytes.IndexByte(msg, '\n'); i > 0 && msg[i-1] == '\r' {
		nl = []byte("\r\n")
	}
	head, body := SplitHeader(msg)

	var out bytes.Buffer
	out.Grow(len(msg) + 512)
	subjectDone := e.SubjectPrefix == ""
	for _, f := range headerFields(head) {
		name, value, ok := bytes.Cut(f, []byte(":"))
		if ok {
			n := string(bytes.TrimSpace(name))
			if e.Strips(n) {
				continue
			}
			if !subjectDone && strings.EqualFold(n, "Subject") {
				subjectDone = true
				v := strings.TrimRight(string(value), "\r\n")
				if nv, changed := PrefixSubject(v, e.SubjectPrefix); changed {
					out.Write(name)
					out.WriteByte(':')
					out.WriteString(nv)
					out.Write(nl)
					continue
				}
			}
		}
		out.Write(f)
	}
	if !subjectDone {
		v, _ := PrefixSubject("", e.SubjectPrefix)
		out.WriteString("Subject: " + v)
		out.Write(nl)
	}
	for _, h := range e.AddHeaders {
		out.WriteString(h.Name + ": " + strings.ReplaceAll(strings.ReplaceAll(h.Value, "\r\n", "\n"), "\n", string(nl)))
		out.Write(nl)
	}
	out.Write(body)
	return out.Bytes()
}

// SplitHeader splits a message into its header section (each line with its
// line ending) and the rest, which starts with the empty separator line.
// A message without a separator is all header.
func SplitHeader(msg []byte) (head, rest []byte) {
	if bytes.HasPrefix(msg, []byte("\r\n")) || bytes.HasPrefix(msg, []byte("\n")) {
		return nil, msg
	}
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			return msg, nil
		}
		i += j + 1
		if i < len(msg) && msg[i] == '\n' {
			return msg[:i], msg[i:]
		}
		if i+1 < len(msg) && msg[i] == '\r' && msg[i+1] == '\n' {
			return msg[:i], msg[i:]
		}
	}
	return msg, nil
}

// headerFields splits a header section into fields, each with its
// continuation lines and line endings. A line that starts with white space
// at the very beginning is treated as its own field.
func headerFields(head []byte) [][]byte {
	var fields [][]byte
	start := 0
	for i := 0; i < len(head); {
		j := bytes.IndexByte(head[i:], '\n')
		next := len(head)
		if j >= 0 {
			next = i + j + 1
		}
		if next < len(head) && (head[next] == ' ' || head[next] == '\t') {
			i = next // continuation follows
			continue
		}
		fields = append(fields, head[start:next])
		start, i = next, next
	}
	return fields
}

// HeaderValue returns the unfolded value of the first field called name in
// msg's header section, and whether there was one.
func HeaderValue(msg []byte, name string) (string, bool) {
	head, _ := SplitHeader(msg)
	for _, f := range headerFields(head) {
		n, v, ok := bytes.Cut(f, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimSpace(n)), name) {
			s := strings.NewReplacer("\r\n", "", "\n", "").Replace(string(v))
			return strings.TrimSpace(s), true
		}
	}
	return "", false
}
