package cgp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every error about a malformed request line.
var ErrSyntax = errors.New("cgp: bad request line")

// maxLine bounds a request line; CommuniGate's own lines are short.
const maxLine = 4096

// Command is one request from CommuniGate: "<seq> <NAME> [<arg>]".
type Command struct {
	// Seq is the sequence number echoed in the reply.
	Seq string
	// Name is upper case: INTF, FILE, QUIT, or anything else (answered
	// with ERROR).
	Name string
	// Arg is the rest of the line, trimmed: the interface version for
	// INTF, the queue file path for FILE.
	Arg string
}

// ParseCommand parses one request line (without its line end).
func ParseCommand(line string) (Command, error) {
	line = strings.TrimRight(line, "\r\n")
	if len(line) > maxLine {
		return Command{}, fmt.Errorf("%w: longer than %d bytes", ErrSyntax, maxLine)
	}
	seq, rest, _ := strings.Cut(line, " ")
	if seq == "" || len(seq) > 20 {
		return Command{}, fmt.Errorf("%w: %q: want a sequence number", ErrSyntax, clip(line))
	}
	for _, c := range seq {
		if c < '0' || c > '9' {
			return Command{}, fmt.Errorf("%w: %q: want a sequence number", ErrSyntax, clip(line))
		}
	}
	name, arg, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	if name == "" {
		return Command{Seq: seq}, fmt.Errorf("%w: %q: no command", ErrSyntax, clip(line))
	}
	for _, c := range name {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return Command{Seq: seq}, fmt.Errorf("%w: %q: bad command name", ErrSyntax, clip(line))
		}
	}
	return Command{Seq: seq, Name: strings.ToUpper(name), Arg: strings.TrimSpace(arg)}, nil
}

// Quote encodes header lines as a CommuniGate string for ADDHEADER: in
// double quotes, backslash and quote escaped, lines separated by \e. Tabs
// become spaces (a folded line still starts with white space) and other
// control characters are dropped, so no value can break the reply line.
func Quote(lines []string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, l := range lines {
		if i > 0 {
			b.WriteString(`\e`)
		}
		l = strings.ReplaceAll(l, "\r\n", "\n")
		for j := 0; j < len(l); j++ {
			switch c := l[j]; {
			case c == '\\':
				b.WriteString(`\\`)
			case c == '"':
				b.WriteString(`\"`)
			case c == '\n':
				b.WriteString(`\e`)
			case c == '\t':
				b.WriteByte(' ')
			case c < 0x20 || c == 0x7f:
			default:
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Unquote decodes a string made by Quote back into lines (for tests and
// for tools that read the helper's log).
func Unquote(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, fmt.Errorf("%w: not a quoted string", ErrSyntax)
	}
	var lines []string
	var cur strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c != '\\' {
			if c == '"' {
				return nil, fmt.Errorf("%w: unescaped quote", ErrSyntax)
			}
			cur.WriteByte(c)
			continue
		}
		i++
		if i >= len(s)-1 {
			return nil, fmt.Errorf("%w: dangling backslash", ErrSyntax)
		}
		switch s[i] {
		case 'e':
			lines = append(lines, cur.String())
			cur.Reset()
		case '\\', '"':
			cur.WriteByte(s[i])
		default:
			return nil, fmt.Errorf("%w: unknown escape \\%c", ErrSyntax, s[i])
		}
	}
	return append(lines, cur.String()), nil
}

// oneLine flattens text for a reply line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
