package spamd

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Protocol is the wire dialect of one request.
type Protocol int

// Dialects. SpamC is SpamAssassin's spamc/spamd protocol (Exim's default
// `spam =` variant); RspamC is rspamd's legacy line protocol, which Exim
// speaks with `variant=rspamd` ("CHECK RSPAMC/1.3" plus envelope headers);
// HTTP is rspamd's HTTP protocol (POST /checkv2) used by rspamc and newer
// integrations.
const (
	SpamC Protocol = iota + 1
	RspamC
	HTTP
)

// String names the dialect for logs and metrics: spamc, rspamc or http.
func (p Protocol) String() string {
	switch p {
	case SpamC:
		return "spamc"
	case RspamC:
		return "rspamc"
	case HTTP:
		return "http"
	}
	return "unknown"
}

// Limits of the request reader. Header lines and their number are bounded
// so a client cannot make the server buffer without end before the body.
const (
	maxLineLen = 8 << 10
	maxHeaders = 256
)

// ErrProtocol is wrapped by every error about a malformed request.
var ErrProtocol = errors.New("spamd: protocol error")

// Request is one parsed spamd, rspamc or rspamd-HTTP request.
type Request struct {
	Protocol Protocol
	// Method is upper case: CHECK, SYMBOLS, REPORT, REPORT_IFSPAM, PROCESS,
	// HEADERS, PING, SKIP or TELL for the line protocols; CHECK or PING for
	// HTTP (from the path /checkv2, /check, /symbols, /ping).
	Method string
	// Version is the protocol version from the request line, e.g. "1.5";
	// "" for HTTP.
	Version string
	// Header holds the request headers with canonical keys.
	Header textproto.MIMEHeader
	// Body is the message, decompressed; nil when Oversize.
	Body []byte
	// Size is the message size in bytes as received (after decompression).
	Size int64
	// Oversize is set when the message was bigger than the reader's limit;
	// it was read and dropped so the client's write does not block.
	Oversize bool
}

// versionAtLeast compares the request's "major.minor" version.
func (r *Request) versionAtLeast(major, minor int) bool {
	maj, min, ok := strings.Cut(r.Version, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		return false
	}
	return a > major || (a == major && b >= minor)
}

var lineMethods = map[string]bool{
	"CHECK": true, "SYMBOLS": true, "REPORT": true, "REPORT_IFSPAM": true,
	"PROCESS": true, "HEADERS": true, "PING": true, "SKIP": true, "TELL": true,
}

// ReadRequest reads one request from br. On error the returned request is
// nil, or holds the protocol when that was recognised (to answer in kind). Messages bigger than maxSize are
// read to their end and dropped (Request.Oversize). br should have a buffer
// for the request line and headers.
func ReadRequest(br *bufio.Reader, maxSize int64) (*Request, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("read request line: %w", err)
	}
	if i := strings.LastIndexByte(line, ' '); i > 0 && strings.HasPrefix(line[i+1:], "HTTP/1.") {
		// Hand net/http the whole request again, request line first.
		return readHTTP(bufio.NewReader(io.MultiReader(strings.NewReader(line+"\r\n"), br)), maxSize)
	}
	method, proto, ok := strings.Cut(line, " ")
	if !ok {
		return nil, fmt.Errorf("%w: request line %q: want METHOD SPAMC/version", ErrProtocol, clip(line))
	}
	method = strings.ToUpper(method)
	if !lineMethods[method] {
		return nil, fmt.Errorf("%w: unknown method %q", ErrProtocol, clip(method))
	}
	req := &Request{Method: method, Header: textproto.MIMEHeader{}}
	name, version, ok := strings.Cut(strings.TrimSpace(proto), "/")
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: request line %q: want METHOD SPAMC/version", ErrProtocol, clip(line))
	case name == "SPAMC":
		req.Protocol = SpamC
	case name == "RSPAMC":
		req.Protocol = RspamC
	default:
		return nil, fmt.Errorf("%w: unknown protocol %q", ErrProtocol, clip(name))
	}
	req.Version = version
	if _, err := strconv.ParseFloat(version, 64); err != nil {
		return nil, fmt.Errorf("%w: bad version %q", ErrProtocol, clip(version))
	}
	if method == "PING" || method == "SKIP" {
		return req, nil
	}
	// SPAMC 1.0 has no headers: the message follows the request line.
	if req.Protocol == RspamC || req.versionAtLeast(1, 1) {
		if err := readHeaders(br, req.Header); err != nil {
			return nil, err
		}
	}
	length := int64(-1)
	if v := req.Header.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: bad Content-length %q", ErrProtocol, clip(v))
		}
		length = n
	}
	compressed := false
	if v := req.Header.Get("Compress"); v != "" {
		if !strings.EqualFold(strings.TrimSpace(v), "zlib") {
			return nil, fmt.Errorf("%w: compression %q not supported", ErrProtocol, clip(v))
		}
		if length < 0 {
			return nil, fmt.Errorf("%w: Compress needs Content-length", ErrProtocol)
		}
		compressed = true
	}
	if err := readBody(req, br, length, maxSize); err != nil {
		return nil, err
	}
	if compressed && !req.Oversize {
		if err := inflate(req, maxSize); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// readHTTP reads an rspamd HTTP request. Only the envelope headers and the
// body matter; net/http handles framing (Content-Length or chunked).
func readHTTP(br *bufio.Reader, maxSize int64) (*Request, error) {
	req := &Request{Protocol: HTTP}
	hr, err := http.ReadRequest(br)
	if err != nil {
		return req, fmt.Errorf("%w: http request: %v", ErrProtocol, err)
	}
	defer hr.Body.Close()
	req.Header = textproto.MIMEHeader(hr.Header)
	switch strings.TrimSuffix(hr.URL.Path, "/") {
	case "/checkv2", "/check", "/symbols":
		req.Method = "CHECK"
		if hr.Method != http.MethodPost {
			return req, fmt.Errorf("%w: %s %s: want POST", ErrProtocol, hr.Method, clip(hr.URL.Path))
		}
	case "/ping":
		req.Method = "PING"
		return req, nil
	default:
		return req, fmt.Errorf("%w: unknown path %q", ErrProtocol, clip(hr.URL.Path))
	}
	if err := readBody(req, hr.Body, -1, maxSize); err != nil {
		return req, err
	}
	return req, nil
}

// readBody reads length bytes (or to EOF when length < 0) into req.Body,
// dropping them and setting Oversize past maxSize.
func readBody(req *Request, r io.Reader, length, maxSize int64) error {
	if length > maxSize {
		n, err := io.CopyN(io.Discard, r, length)
		req.Size, req.Oversize = n, true
		if err != nil {
			return fmt.Errorf("read message: got %d of %d bytes: %w", n, length, err)
		}
		return nil
	}
	if length >= 0 {
		req.Body = make([]byte, length)
		n, err := io.ReadFull(r, req.Body)
		req.Size = int64(n)
		if err != nil {
			return fmt.Errorf("read message: got %d of %d bytes: %w", n, length, err)
		}
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	req.Size = int64(len(body))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	if req.Size > maxSize {
		n, err := io.Copy(io.Discard, r)
		req.Size += n
		req.Oversize = true
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		return nil
	}
	req.Body = body
	return nil
}

// inflate replaces a zlib-compressed body (spamc -z) by its content.
func inflate(req *Request, maxSize int64) error {
	zr, err := zlib.NewReader(bytes.NewReader(req.Body))
	if err != nil {
		return fmt.Errorf("%w: zlib body: %v", ErrProtocol, err)
	}
	defer zr.Close()
	body, err := io.ReadAll(io.LimitReader(zr, maxSize+1))
	if err != nil {
		return fmt.Errorf("%w: zlib body: %v", ErrProtocol, err)
	}
	req.Size = int64(len(body))
	if req.Size > maxSize {
		req.Body, req.Oversize = nil, true
		return nil
	}
	req.Body = body
	return nil
}

// readHeaders reads "Name: value" lines up to an empty line.
func readHeaders(br *bufio.Reader, h textproto.MIMEHeader) error {
	for i := 0; ; i++ {
		line, err := readLine(br)
		if err != nil {
			return fmt.Errorf("read headers: %w", err)
		}
		if line == "" {
			return nil
		}
		if i >= maxHeaders {
			return fmt.Errorf("%w: more than %d headers", ErrProtocol, maxHeaders)
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("%w: bad header line %q", ErrProtocol, clip(line))
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	}
}

// readLine reads one line of at most maxLineLen bytes without its CRLF or LF.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineLen {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, maxLineLen)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return "", fmt.Errorf("%w: line without end", ErrProtocol)
			}
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}

// clip shortens untrusted text quoted in errors and logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
