package clients

import "strings"

// NormalizeAddress strips angle brackets and white space from an envelope
// address and appends "@"+domain to a bare local part. The null sender
// stays empty.
func NormalizeAddress(addr, domain string) string {
	a := strings.TrimSpace(addr)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if a == "" || domain == "" || strings.Contains(a, "@") {
		return a
	}
	return a + "@" + domain
}
