// Package message parses raw RFC 5322 messages into the read-only model every
// check works on. Parsing never fails: whatever is malformed is recorded in
// Message.Anomalies (a spam sign), and limits cut the work short instead of
// growing without bound.
package message

import (
	"strings"
)

// Message is a parsed message. It is built once per scan and shared read-only
// by all checks; nothing may modify it after Parse returns.
type Message struct {
	// Raw is the message as received.
	Raw []byte
	// Header is the top-level header.
	Header Header
	// Root is the top of the MIME tree.
	Root *Part
	// Leaves are the non-multipart parts in document order.
	Leaves []*Part
	// Subject is the decoded Subject (RFC 2047 decoded, UTF-8).
	Subject string
	// Text is the visible text of the message in UTF-8: plain parts, HTML
	// rendered to text, and text extracted from attachments, joined by newlines.
	Text string
	// URLs are the links found in text and HTML, in order of appearance.
	URLs []URL
	// Images are the image parts (GIF, PNG, JPEG...) with decoded bytes.
	Images []*Part
	// Anomalies are malformations found while parsing, e.g. "mime_depth".
	// Each is a stable lower-case name a check may score.
	Anomalies []string
}

// Field is one header field.
type Field struct {
	// Name as written, e.g. "Content-Type".
	Name string
	// Raw is the unfolded value as written (may contain 8-bit bytes).
	Raw string
	// Value is the decoded value: RFC 2047 words decoded, UTF-8.
	Value string
}

// Header is an ordered list of header fields.
type Header []Field

// Get returns the decoded value of the first field with the name (case-insensitive), or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the decoded values of all fields with the name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Has reports whether a field with the name exists.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Part is one MIME entity.
type Part struct {
	Header Header
	// MediaType is the lower-case type/subtype, "text/plain" when absent.
	MediaType string
	// Params are the Content-Type parameters, keys lower-case.
	Params map[string]string
	// Charset is the declared charset, lower-case, "" when absent.
	Charset string
	// Filename from Content-Disposition or the name parameter.
	Filename string
	// Body is the transfer-decoded body (not charset-converted).
	Body []byte
	// Text is the body converted to UTF-8 for text parts, "" otherwise.
	Text string
	// Children of a multipart or message/rfc822 part.
	Children []*Part
}

// URL is a link found in the message.
type URL struct {
	// Raw is the URL as found.
	Raw string
	// Host is the lower-case host name or IP literal.
	Host string
	// Domain is the registrable domain of Host (eTLD+1), "" for IPs.
	Domain string
}
