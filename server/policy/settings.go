package policy

// Methods are the recognition method switches of a group (DESIGN §4).
type Methods struct {
	// DNS turns on DNS checks: DNSBL, reverse DNS, SPF, DKIM/DMARC.
	DNS bool
	// SURBL turns on URI blocklist checks of links.
	SURBL bool
	// Lists turns on the white and black sender lists.
	Lists bool
	// HeaderRules maps a header rule name to on/off; a rule not in the map is on.
	HeaderRules map[string]bool
	// Eastern maps a language ("chinese", "japanese", "korean", "thai") to
	// true when it is suspicious; a language not in the map is suspicious.
	Eastern map[string]bool
	// Obscene turns on obscene-language marking.
	Obscene bool
	// ObsceneTag prepends "[--Obscene--]" to the Subject when obscene text is found.
	ObsceneTag bool
}

// RuleOn reports whether the header rule is switched on.
func (m *Methods) RuleOn(name string) bool {
	on, ok := m.HeaderRules[name]
	return !ok || on
}

// EasternSuspicious reports whether text in the language adds score.
func (m *Methods) EasternSuspicious(lang string) bool {
	s, ok := m.Eastern[lang]
	return !ok || s
}

// DNSBLService is one DNS blocklist of the policy.
type DNSBLService struct {
	// Name for rules and headers, e.g. "spamhaus-zen".
	Name string
	// Zone queried, e.g. "zen.spamhaus.org".
	Zone string
	// Rating added when the list has the IP; the sum over lists ≥ 100 is BLACKLISTED.
	Rating int
	// Returns lists the answers that count, as addresses or ranges
	// ("127.0.0.2-127.0.0.11"); empty = any 127.0.0.0/8 answer but 127.255.255.x.
	Returns []string
	Enabled bool
}

// URIBLService is one URI blocklist (SURBL/URIBL style) of the policy.
type URIBLService struct {
	Name string
	Zone string
	// Score added for a listed domain.
	Score float64
	// Mask selects the bits of a bitmask answer that count; 0 = any answer.
	Mask    uint32
	Enabled bool
}
