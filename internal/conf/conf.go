// Package conf loads Scilla's YAML configuration files strictly and validates
// them the same way for every section: an unknown or mistyped key, a value of
// the wrong type and a value a section's Validate rejects are all reported
// with the file, the line and the full key, in one pass.
package conf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Validator is implemented by config sections. Validate returns every
// problem it finds; each should be a *KeyError naming the key relative to
// the section (use Errorf).
type Validator interface {
	Validate() []error
}

// KeyError is a problem with one key.
type KeyError struct {
	// Key is the dotted key path, e.g. "pool.max_workers".
	Key string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

// Errorf returns a *KeyError for key.
func Errorf(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Load reads path into dst (a pointer to a struct already holding the
// defaults) and validates it. See Decode.
func Load(path string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	return Decode(path, data, dst)
}

// Decode parses data strictly into dst and validates every section of dst
// that implements Validator (dst itself, and struct fields recursively). The
// error lists every problem as "file:line: key: message".
func Decode(name string, data []byte, dst any) error {
	var root yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &root); err != nil {
			return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(dst); err != nil {
			return decodeError(name, err)
		}
	}
	var problems []string
	walk(reflect.ValueOf(dst), "", func(prefix string, v Validator) {
		for _, err := range v.Validate() {
			key, msg := "", err.Error()
			var ke *KeyError
			if errors.As(err, &ke) {
				key, msg = join(prefix, ke.Key), ke.Msg
			} else if prefix != "" {
				key = prefix
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, line(&root, key), key, msg))
		}
	})
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// decodeError rewrites yaml.v3's "line N: field x not found in type T" into
// "file:N: unknown key x".
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var out []string
	for _, e := range te.Errors {
		msg := e
		lineNo := ""
		if strings.HasPrefix(msg, "line ") {
			if i := strings.Index(msg, ": "); i > 0 {
				lineNo, msg = strings.TrimPrefix(msg[:i], "line "), msg[i+2:]
			}
		}
		if f, ok := strings.CutPrefix(msg, "field "); ok {
			if i := strings.Index(f, " not found in type"); i >= 0 {
				msg = fmt.Sprintf("unknown key %q", f[:i])
			}
		}
		out = append(out, fmt.Sprintf("%s:%s: %s", name, lineNo, msg))
	}
	return errors.New(strings.Join(out, "\n"))
}

func join(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	}
	return prefix + "." + key
}

// walk calls fn for v and every nested struct field implementing Validator,
// with the dotted yaml key path of the field.
func walk(v reflect.Value, prefix string, fn func(string, Validator)) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	if v.CanAddr() {
		if val, ok := v.Addr().Interface().(Validator); ok {
			fn(prefix, val)
		}
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		walk(v.Field(i), join(prefix, tag), fn)
	}
}

// line finds the line of a dotted key in the document, or of its nearest
// ancestor that is present; 0 when the key is not in the file at all.
func line(root *yaml.Node, key string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := 0
	if key == "" {
		return best
	}
	for _, part := range strings.Split(key, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			return best
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				best, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return best
		}
		n = next
	}
	return best
}
