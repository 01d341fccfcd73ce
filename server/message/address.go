package message

import "strings"

// Address is one mailbox of an address header.
type Address struct {
	// Name is the display name, "" when absent.
	Name string
	// Addr is the address as written, without angle brackets ("" for an
	// empty group such as "undisclosed-recipients:;").
	Addr string
}

// Local returns the part of Addr before the last "@" (all of it without one).
func (a Address) Local() string {
	if i := strings.LastIndexByte(a.Addr, '@'); i >= 0 {
		return a.Addr[:i]
	}
	return a.Addr
}

// Domain returns the lower-case part of Addr after the last "@", "" without one.
func (a Address) Domain() string {
	if i := strings.LastIndexByte(a.Addr, '@'); i >= 0 {
		return strings.ToLower(strings.Trim(a.Addr[i+1:], " .>"))
	}
	return ""
}

// ParseAddressList reads an address header leniently: quoted names,
// comments, angle brackets, groups ("team: a@x, b@y;") and bare words all
// yield entries; nothing is rejected. Group names are dropped.
func ParseAddressList(v string) []Address {
	var out []Address
	for _, item := range splitAddresses(v) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		// A group: "name:" prefix outside quotes and brackets.
		if c := strings.IndexByte(item, ':'); c >= 0 && !strings.ContainsAny(item[:c], `"<@`) {
			item = strings.TrimSpace(item[c+1:])
		}
		item = strings.TrimSpace(strings.TrimSuffix(item, ";"))
		if item == "" {
			continue
		}
		var a Address
		if lt := strings.LastIndexByte(item, '<'); lt >= 0 {
			gt := strings.IndexByte(item[lt:], '>')
			if gt < 0 {
				gt = len(item) - lt
			}
			a.Addr = strings.TrimSpace(item[lt+1 : lt+gt])
			a.Name = strings.Trim(strings.TrimSpace(stripComments(item[:lt])), `"`)
		} else {
			bare := strings.TrimSpace(stripComments(item))
			if i := strings.IndexByte(item, '('); i >= 0 {
				if j := strings.LastIndexByte(item, ')'); j > i {
					a.Name = strings.TrimSpace(item[i+1 : j])
				}
			}
			a.Addr = bare
			if f := strings.Fields(bare); len(f) > 1 {
				for _, w := range f {
					if strings.Contains(w, "@") {
						a.Addr = w
					}
				}
			}
		}
		a.Addr = strings.Trim(a.Addr, `"' `)
		out = append(out, a)
	}
	return out
}

// splitAddresses splits on commas outside quotes, comments and brackets.
func splitAddresses(v string) []string {
	var out []string
	depth, quoted, angle := 0, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && depth == 0 && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
		if len(out) > 1000 {
			return out
		}
	}
	return append(out, v[start:])
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, c := range s {
		switch {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}
