package spamd

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(raw []byte, max int64) (*Request, error) {
	return ReadRequest(bufio.NewReaderSize(bytes.NewReader(raw), 16<<10), max)
}

func TestReadRequestFiles(t *testing.T) {
	msg := readFile(t, "message.eml")
	tests := []struct {
		file     string
		proto    Protocol
		method   string
		header   map[string][]string
		wantBody bool
	}{
		{"exim-spamd.req", SpamC, "REPORT", map[string][]string{"User": {"nobody"}}, true},
		{"exim-rspamd.req", RspamC, "CHECK", map[string][]string{
			"Rcpt": {"<user@example.com>", "<other@example.net>"}, "Queue-Id": {"1abcDE-000123-AB"},
			"Ip": {"192.0.2.10"}, "Helo": {"mail.example.org"}, "From": {"<sender@example.org>"}, "User": {"alice"},
		}, true},
		{"checkv2.req", HTTP, "CHECK", map[string][]string{"Rcpt": {"user@example.com"}, "Ip": {"2001:db8::1"}}, true},
		{"process.req", SpamC, "PROCESS", map[string][]string{"User": {"user@example.com"}}, true},
		{"ping.req", SpamC, "PING", nil, false},
		{"symbols-v10.req", SpamC, "SYMBOLS", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req, err := parse(readFile(t, tt.file), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if req.Protocol != tt.proto || req.Method != tt.method {
				t.Errorf("got %v %s, want %v %s", req.Protocol, req.Method, tt.proto, tt.method)
			}
			for k, want := range tt.header {
				if got := req.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tt.wantBody && !bytes.Equal(req.Body, msg) {
				t.Errorf("body = %q, want the message", req.Body)
			}
		})
	}
}

func TestReadRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty line", "\r\n", "request line"},
		{"unknown method", "EAT SPAMC/1.5\r\n\r\n", "unknown method"},
		{"unknown protocol", "CHECK FOO/1.0\r\n\r\n", "unknown protocol"},
		{"bad version", "CHECK SPAMC/x\r\n\r\n", "bad version"},
		{"bad length", "CHECK SPAMC/1.5\r\nContent-length: -4\r\n\r\n", "bad Content-length"},
		{"short body", "CHECK SPAMC/1.5\r\nContent-length: 40\r\n\r\nshort", "got 5 of 40 bytes"},
		{"bad header", "CHECK SPAMC/1.5\r\nno colon here\r\n\r\n", "bad header line"},
		{"long line", "CHECK SPAMC/1.5\r\nUser: " + strings.Repeat("x", 9000) + "\r\n\r\n", "longer than"},
		{"many headers", "CHECK SPAMC/1.5\r\n" + strings.Repeat("X: y\r\n", 300) + "\r\n", "more than 256 headers"},
		{"unterminated", "CHECK SPAMC/1.5\r\nUser: x", "line without end"},
		{"compress unknown", "CHECK SPAMC/1.5\r\nCompress: lz4\r\nContent-length: 1\r\n\r\nx", "not supported"},
		{"compress no length", "CHECK SPAMC/1.5\r\nCompress: zlib\r\n\r\nx", "needs Content-length"},
		{"compress garbage", "CHECK SPAMC/1.5\r\nCompress: zlib\r\nContent-length: 4\r\n\r\nabcd", "zlib"},
		{"http get check", "GET /checkv2 HTTP/1.1\r\nHost: x\r\n\r\n", "want POST"},
		{"http path", "POST /learnspam HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "unknown path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.raw), 1<<20)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestReadRequestOversize(t *testing.T) {
	body := strings.Repeat("x", 5000)
	for _, raw := range []string{
		fmt.Sprintf("CHECK SPAMC/1.5\r\nContent-length: %d\r\n\r\n%s", len(body), body),
		"CHECK SPAMC/1.5\r\n\r\n" + body, // no length: read to EOF
		fmt.Sprintf("POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body),
	} {
		req, err := parse([]byte(raw), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !req.Oversize || req.Body != nil || req.Size != 5000 {
			t.Errorf("oversize=%v body=%d size=%d, want oversize, no body, size 5000", req.Oversize, len(req.Body), req.Size)
		}
	}
}

func TestReadRequestZlib(t *testing.T) {
	msg := readFile(t, "message.eml")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(msg)
	zw.Close()
	raw := fmt.Sprintf("CHECK SPAMC/1.5\r\nCompress: zlib\r\nContent-length: %d\r\n\r\n", z.Len()) + z.String()
	req, err := parse([]byte(raw), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req.Body, msg) {
		t.Errorf("body = %q", req.Body)
	}
}

func TestErrProtocolWrapped(t *testing.T) {
	_, err := parse([]byte("NOPE SPAMC/1.5\r\n\r\n"), 100)
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("err %v does not wrap ErrProtocol", err)
	}
}

// FuzzReadRequest checks the reader never panics, never returns more body
// than allowed, and agrees with itself on what it parsed.
func FuzzReadRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.req")
	for _, file := range files {
		f.Add(readFile(f, filepath.Base(file)))
	}
	f.Add([]byte("CHECK SPAMC/1.5\r\nCompress: zlib\r\nContent-length: 2\r\n\r\nxx"))
	f.Add([]byte("POST /checkv2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		const limit = 4096
		req, err := parse(raw, limit)
		if err != nil {
			return
		}
		if int64(len(req.Body)) > limit {
			t.Fatalf("body of %d bytes over the limit", len(req.Body))
		}
		if req.Oversize && req.Body != nil {
			t.Fatal("oversize request kept its body")
		}
		if !lineMethods[req.Method] {
			t.Fatalf("method %q", req.Method)
		}
		_ = scanRequest(req, "postmaster@localhost") // must not panic on any headers
	})
}

// TestScanRequestRecipients: the MTA's recipients when it sends them,
// else To and Cc, else the default; anything not from the MTA is marked so
// that checks do not take it for the envelope.
func TestScanRequestRecipients(t *testing.T) {
	tests := []struct {
		name       string
		hdr        map[string]string
		msg        string
		want       []string
		fromHeader bool
	}{
		{"rspamd envelope", map[string]string{"Rcpt": "<a@example.com>"}, "To: b@example.com\r\n\r\nx", []string{"a@example.com"}, false},
		{"To and Cc", nil, "To: \"B\" <b@example.com>\r\nCc: c@example.com\r\n\r\nx", []string{"b@example.com", "c@example.com"}, true},
		{"undisclosed recipients", nil, "To: undisclosed-recipients:;\r\n\r\nx", []string{"postmaster@localhost"}, true},
		{"no To at all", nil, "Subject: x\r\n\r\nx", []string{"postmaster@localhost"}, true},
		{"bare word in To", nil, "To: friend\r\n\r\nx", []string{"postmaster@localhost"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{Protocol: HTTP, Header: textproto.MIMEHeader{}, Body: []byte(tt.msg)}
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			env := scanRequest(req, "postmaster@localhost").GetEnvelope()
			if got := env.GetRcptTo(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("recipients %v, want %v", got, tt.want)
			}
			if env.GetRcptFromHeader() != tt.fromHeader {
				t.Errorf("rcpt_from_header %v, want %v", env.GetRcptFromHeader(), tt.fromHeader)
			}
		})
	}
}
