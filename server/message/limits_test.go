package message

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// scanDeadline is the default per-scan deadline of the server config; every
// pathological input must be parsed well within it.
const scanDeadline = 25 * time.Second

// TestPathological feeds the inputs spammers (and attackers) send and
// checks each one finishes within the scan deadline, allocates a bounded
// amount of memory, and leaves the anomaly that scores it.
func TestPathological(t *testing.T) {
	tests := []struct {
		name    string
		build   func() []byte
		anomaly string
		check   func(t *testing.T, m *Message)
	}{
		{"100000 parts", manyParts(100000), AnomalyParts, func(t *testing.T, m *Message) {
			if m.Parts != DefaultLimits.MaxParts {
				t.Errorf("parts = %d, want the limit %d", m.Parts, DefaultLimits.MaxParts)
			}
		}},
		{"10 MB header line", func() []byte {
			return []byte("Subject: " + strings.Repeat("A", 10<<20) + "\r\nFrom: a@example.org\r\n\r\nbody\r\n")
		}, AnomalyHeaderTooBig, func(t *testing.T, m *Message) {
			if len(m.Subject) > DefaultLimits.MaxHeaderBytes {
				t.Errorf("subject kept %d bytes, limit %d", len(m.Subject), DefaultLimits.MaxHeaderBytes)
			}
		}},
		{"10 MB of folded header lines", func() []byte {
			return []byte("Subject: x\r\n" + strings.Repeat("X-Junk: y\r\n continued\r\n", 10<<20/22) + "\r\nbody\r\n")
		}, AnomalyHeaderTooBig, nil},
		{"nesting depth 1000 multipart", deepMultipart(1000), AnomalyDepth, func(t *testing.T, m *Message) {
			if deepest(m.Root) > DefaultLimits.MaxDepth {
				t.Errorf("depth %d beyond the limit", deepest(m.Root))
			}
		}},
		{"nesting depth 1000 rfc822", func() []byte {
			return []byte(strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 1000) + "Subject: deep\r\n\r\ntext\r\n")
		}, AnomalyDepth, nil},
		{"base64 expanding beyond the decode limit", func() []byte {
			// 20 parts of 1 MB decoded each against an 8 MB budget.
			chunk := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0}, 1<<20))
			var b strings.Builder
			b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
			for i := 0; i < 20; i++ {
				b.WriteString("--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
				b.WriteString(chunk)
				b.WriteString("\r\n")
			}
			b.WriteString("--b--\r\n")
			return []byte(b.String())
		}, AnomalyDecodeLimit, nil},
		{"docx zip bomb", func() []byte {
			return attachment("bomb.docx", zipBomb(8<<20))
		}, AnomalyDecodeLimit, nil},
		{"base64 inside base64", func() []byte {
			inner := []byte("Subject: inner\r\n\r\n" + strings.Repeat("spam ", 30000))
			for i := 0; i < 12; i++ {
				inner = []byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
					base64.StdEncoding.EncodeToString(inner))
			}
			return inner
		}, AnomalyDecodeLimit, func(t *testing.T, m *Message) {
			if m.Parts < 3 {
				t.Errorf("parts %d: nested messages not followed", m.Parts)
			}
		}},
		{"invalid charsets", func() []byte {
			var b strings.Builder
			b.WriteString("Subject: =?x-bogus?B?////?= =?utf-8?Q?=FF=FE?= =?gb2312?B?gA==?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
			for i := 0; i < 200; i++ {
				fmt.Fprintf(&b, "--b\r\nContent-Type: text/plain; charset=\"x-junk-%d\\\"\r\n\r\n\xff\xfe\xfd%d\r\n", i, i)
			}
			return []byte(b.String())
		}, AnomalyUnknownCharset, nil},
		{"NUL bytes", func() []byte {
			return append([]byte("Subject: a\x00b\r\nContent-Type: text/html\r\n\r\n<p>"), bytes.Repeat([]byte{0, 'a'}, 4<<20)...)
		}, AnomalyNUL, func(t *testing.T, m *Message) {
			if strings.ContainsRune(m.Text, 0) {
				t.Error("NUL bytes reached the text")
			}
		}},
		{"deep HTML", func() []byte {
			return []byte("Content-Type: text/html\r\n\r\n" + strings.Repeat("<div><span style='color:#fff'>", 200000) + "x")
		}, "", nil},
		{"huge RTF group nesting", func() []byte {
			return attachment("deep.rtf", []byte(`{\rtf1`+strings.Repeat("{", 1<<20)+"text"+strings.Repeat("}", 1<<20)+"}"))
		}, "", nil},
		{"endless boundary lines", func() []byte {
			return []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n", 2<<20))
		}, AnomalyParts, nil},
	}
	// Smaller budgets where the input would otherwise be slow to build; the
	// code paths are the same.
	limits := map[string]Limits{
		"base64 expanding beyond the decode limit": {MaxDecodedBytes: 8 << 20},
		"docx zip bomb":        {MaxTextBytes: 64 << 10}, // .docx room is 16 × text: 1 MB
		"base64 inside base64": {MaxDecodedBytes: 6 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.build()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			lim := limits[tt.name].withDefaults()
			m := Parse(raw, lim)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if elapsed > scanDeadline {
				t.Errorf("took %s, over the scan deadline %s", elapsed, scanDeadline)
			}
			// Memory: a few times the input plus the decode and text
			// budgets, never proportional to what the input claims to expand to.
			budget := uint64(3*len(raw)) + uint64(2*lim.MaxDecodedBytes) + 16*uint64(lim.MaxTextBytes) + 64<<20
			if used := after.TotalAlloc - before.TotalAlloc; used > budget {
				t.Errorf("allocated %d MB, budget %d MB", used>>20, budget>>20)
			}
			if tt.anomaly != "" && !m.HasAnomaly(tt.anomaly) {
				t.Errorf("anomalies %v, want %s", m.Anomalies, tt.anomaly)
			}
			if !utf8.ValidString(m.Text) || len(m.Text) > DefaultLimits.MaxTextBytes {
				t.Errorf("text: %d bytes, valid UTF-8 %v", len(m.Text), utf8.ValidString(m.Text))
			}
			if tt.check != nil {
				tt.check(t, m)
			}
			t.Logf("%s: %d bytes in %s, anomalies %v", tt.name, len(raw), elapsed, m.Anomalies)
		})
	}
}

// TestTimeout: a spent deadline stops the parse and says so.
func TestTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := ParseContext(ctx, manyParts(5000)(), Limits{MaxParts: 10000})
	if !m.HasAnomaly(AnomalyTimeout) {
		t.Fatalf("anomalies %v, want %s", m.Anomalies, AnomalyTimeout)
	}
	if m.Parts >= 5000 {
		t.Errorf("parsed %d parts after the deadline", m.Parts)
	}
}

// TestLimitsDefaults: zero fields take the defaults, set fields stay.
func TestLimitsDefaults(t *testing.T) {
	l := Limits{MaxParts: 7}.withDefaults()
	if l.MaxParts != 7 || l.MaxDepth != DefaultLimits.MaxDepth || l.Timeout != DefaultLimits.Timeout {
		t.Errorf("withDefaults = %+v", l)
	}
	m := Parse(manyParts(50)(), Limits{MaxParts: 7})
	if m.Parts != 7 || !m.HasAnomaly(AnomalyParts) {
		t.Errorf("parts %d anomalies %v", m.Parts, m.Anomalies)
	}
	m = Parse([]byte("Subject: x\r\n\r\n"+strings.Repeat("y", 1000)), Limits{MaxSize: 100})
	if !m.HasAnomaly(AnomalySizeLimit) || len(m.Text) > 100 {
		t.Errorf("size limit: anomalies %v text %d", m.Anomalies, len(m.Text))
	}
}

func manyParts(n int) func() []byte {
	return func() []byte {
		var b bytes.Buffer
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
		}
		b.WriteString("--p--\r\n")
		return b.Bytes()
	}
}

func deepMultipart(depth int) func() []byte {
	return func() []byte {
		var b bytes.Buffer
		for i := 0; i < depth; i++ {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n--d%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--d%d--\r\n", i)
		}
		return b.Bytes()
	}
}

func deepest(p *Part) int {
	d := p.Depth
	for _, c := range p.Children {
		d = max(d, deepest(c))
	}
	return d
}

func attachment(name string, data []byte) []byte {
	return []byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n" +
		"Content-Type: application/octet-stream; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(data) + "\r\n--a--\r\n")
}

// zipBomb is a .docx whose document.xml inflates to size bytes.
func zipBomb(size int) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("word/document.xml")
	if err != nil {
		panic(err)
	}
	chunk := bytes.Repeat([]byte("<w:t>a</w:t>"), 1<<16)
	for n := 0; n < size; n += len(chunk) {
		w.Write(chunk)
	}
	zw.Close()
	return b.Bytes()
}
