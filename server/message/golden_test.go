package message

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/internal/golden"
)

// summary renders what a parse produced, for golden files.
func summary(m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "subject: %q\nparts: %d\nwords: %d\n", m.Subject, m.Parts, m.Words)
	fmt.Fprintf(&b, "anomalies: %v\ncharsets: %v\n", m.Anomalies, m.Charsets)
	fmt.Fprintf(&b, "html: %+v\nimage_only: %v\n", m.HTML, m.ImageOnly())
	for _, l := range m.Leaves {
		fmt.Fprintf(&b, "leaf: %s charset=%q file=%q attachment=%v body=%d text=%d\n",
			l.MediaType, l.Charset, l.Filename, l.Attachment, len(l.Body), len(l.Text))
	}
	for _, u := range m.URLs {
		fmt.Fprintf(&b, "url: %s host=%s domain=%s\n", u.Raw, u.Host, u.Domain)
	}
	text := m.Text
	if len(text) > 1500 {
		text = truncUTF8(text, 1500) + "…"
	}
	fmt.Fprintf(&b, "text:\n%s\n", text)
	return b.String()
}

// TestGolden parses every testdata/*.eml and compares a summary of the
// result (anomalies, charsets, HTML tricks, parts, URLs, text) with
// testdata/golden/<name>.golden. Run with -update after a deliberate change.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.eml")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw, Limits{})
			if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
				t.Error("text is not valid UTF-8")
			}
			got := summary(m)
			golden.Compare(t, filepath.Join("testdata", "golden", name+".golden"), []byte(got))
		})
	}
}

// TestAttachmentText: Word, Word 2007+ and RTF attachments reach Message.Text.
func TestAttachmentText(t *testing.T) {
	for _, f := range []string{"offer-doc.eml", "offer-docx.eml", "offer-rtf.eml"} {
		raw, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		m := Parse(raw, Limits{})
		if !strings.Contains(m.Text, "Дешёвые часы") || !strings.Contains(m.Text, "Please see the attached") {
			t.Errorf("%s: text %q", f, m.Text)
		}
		if len(m.URLs) != 1 || m.URLs[0].Domain != "example.com" {
			t.Errorf("%s: urls %+v", f, m.URLs)
		}
	}
}
