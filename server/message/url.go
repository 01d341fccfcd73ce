package message

import (
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// ExtractURLs finds http(s), ftp and www. links in text, in order.
func ExtractURLs(text string) []URL {
	var out []URL
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20
		if c != 'h' && c != 'w' && c != 'f' {
			continue
		}
		if i > 0 && isURLChar(text[i-1]) && text[i-1] != '(' {
			continue // inside a word
		}
		rest := text[i:]
		var start int
		switch {
		case hasPrefixFold(rest, "http://"), hasPrefixFold(rest, "https://"), hasPrefixFold(rest, "ftp://"):
			start = strings.Index(rest, "://") + 3
		case hasPrefixFold(rest, "www."):
			start = 0
		default:
			continue
		}
		end := start
		for end < len(rest) && isURLChar(rest[end]) {
			end++
		}
		raw := strings.TrimRight(rest[:end], ".,;:!?'\")]>")
		if len(raw) <= start+3 {
			i += end
			continue
		}
		if u, ok := hostOf(raw, raw[start:]); ok {
			out = append(out, u)
		}
		i += end - 1
	}
	return out
}

// CountryCode returns the country-code top-level domain of a domain name
// (two letters, no dot: "gh" of "kentefresh.com.gh"), "" for a generic
// one (".org") or none.
func CountryCode(domain string) string {
	if i := strings.LastIndexByte(domain, '.'); i >= 0 && len(domain)-i == 3 {
		return domain[i+1:]
	}
	return ""
}

// HostUnder reports a host name that is one of domains or under one
// ("eu.docusign.net" under "docusign.net"; not "evildocusign.net"). Hosts
// are compared as given: lower-cased, as URL.Host is.
func HostUnder(host string, domains []string) bool {
	for _, d := range domains {
		if strings.HasSuffix(host, d) && (len(host) == len(d) || host[len(host)-len(d)-1] == '.') {
			return true
		}
	}
	return false
}

func isURLChar(c byte) bool {
	return c > ' ' && c < 0x7F && c != '<' && c != '>' && c != '"' && c != '\'' && c != '(' && c != ')' &&
		c != '{' && c != '}' && c != '|' && c != '\\' && c != '^' && c != '`' ||
		c >= 0x80
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hostOf builds a URL from its raw form and the part after the scheme.
func hostOf(raw, afterScheme string) (URL, bool) {
	host := afterScheme
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[1:i]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if strings.Contains(host, "%") {
		if h, err := url.PathUnescape(host); err == nil {
			host = h
		}
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || len(host) > 253 {
		return URL{}, false
	}
	u := URL{Raw: raw, Host: host}
	if _, err := netip.ParseAddr(host); err == nil {
		return u, true
	}
	if !strings.Contains(host, ".") {
		return URL{}, false
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		u.Domain = d
	}
	return u, true
}

// parseLink reads an href or src value: absolute http(s)/ftp links and
// protocol-relative ones; mailto, javascript and relative links are not
// URLs for our purposes.
func parseLink(v string) (URL, bool) {
	v = strings.TrimSpace(v)
	switch {
	case hasPrefixFold(v, "http://"), hasPrefixFold(v, "https://"), hasPrefixFold(v, "ftp://"):
		return hostOf(v, v[strings.Index(v, "://")+3:])
	case strings.HasPrefix(v, "//"):
		return hostOf(v, v[2:])
	case hasPrefixFold(v, "www."):
		return hostOf(v, v)
	}
	return URL{}, false
}

// bareDomain returns the registrable domain of text that is just a host
// name with a public suffix ("paypal.com"), else "".
func bareDomain(s string) string {
	if s == "" || len(s) > 253 || strings.ContainsAny(s, " \t\n/@") || !strings.Contains(s, ".") {
		return ""
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	if _, icann := publicsuffix.PublicSuffix(s); !icann {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(s)
	if err != nil {
		return ""
	}
	return d
}

// maxRedirectDepth bounds how many wrappers around a link are opened
// (Safe Links around a Google redirect around the target).
const maxRedirectDepth = 3

// redirectTargets returns the links a link carries to redirect to: a query
// value that is itself an absolute http(s) link (Microsoft Safe Links'
// url=, Google's /url?q=, Facebook's l.php?u=, click trackers and the open
// redirects phishing hides behind) and Proofpoint URL Defense's wrapped
// links (v2 u= with its own escaping, v3 __URL__). The checks then see where
// a link really goes, for the URI blocklists and the link rules alike.
func redirectTargets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if strings.HasSuffix(strings.ToLower(u.Host), "urldefense.com") {
		// v3 wraps the link as it was, query included: /v3/__LINK__;...
		if _, rest, ok := strings.Cut(raw, "/v3/__"); ok {
			if t, _, ok := strings.Cut(rest, "__"); ok {
				out = append(out, t)
			}
		}
	}
	q := u.Query()
	for _, key := range slices.Sorted(maps.Keys(q)) { // in a fixed order: the tokens keep theirs
		for _, v := range q[key] {
			if strings.HasSuffix(strings.ToLower(u.Host), "urldefense.proofpoint.com") && key == "u" {
				// v2: "-" stands for "%" and "_" for "/".
				if d, err := url.PathUnescape(strings.NewReplacer("-", "%", "_", "/").Replace(v)); err == nil {
					v = d
				}
			}
			if hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://") {
				out = append(out, v)
			}
		}
	}
	return out
}
