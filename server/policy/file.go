package policy

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// File is the policy file as written (YAML). Every setting of a group that
// is left out inherits the default section; everything the default section
// leaves out keeps the built-in default. The reference with a complete
// example is deploy/policy.example.yaml (also in the README).
type File struct {
	// ProtectedDomains lists the domains whose mail is filtered, with * and
	// ? wildcards: "example.com", "*example.com" (the domain and its
	// subdomains), "*.example.com" (subdomains only). Empty or "*" protects
	// every domain. Mail for other domains passes with
	// "X-SpamTest-Info: Not protected".
	ProtectedDomains Entries `yaml:"protected_domains"`
	// Default is the default policy: recognition settings, lists, DNS block
	// lists and actions that every group inherits.
	Default SectionFile `yaml:"default"`
	// Groups are the recipient groups in match order: a recipient belongs to
	// the first group whose recipients match, else to the built-in group All
	// (id 1). An entry with id 1 configures All itself (no recipients).
	Groups []GroupFile `yaml:"groups"`
	// Texts are the refusal texts.
	Texts TextsFile `yaml:"texts"`
}

// TextsFile sets the texts a mail server uses when it refuses mail.
type TextsFile struct {
	// Reject is the SMTP text of reject actions that set none (without the
	// status code). Default "Message rejected as spam".
	Reject *string `yaml:"reject"`
	// Bounce is the text of the bounce sent when only some recipients of a
	// message reject it.
	Bounce *string `yaml:"bounce"`
}

// SectionFile is the part shared by the default section and the groups.
type SectionFile struct {
	// Detection false switches filtering off: every message is TRUSTED.
	// Default true.
	Detection *bool `yaml:"detection"`
	// Level is the detection level: minimum, standard (default), high or
	// maximum. Higher levels mark more mail as spam.
	Level *string `yaml:"level"`
	// ProbableSpam false turns PROBABLE_SPAM into NOT_DETECTED. Default true.
	ProbableSpam *bool `yaml:"probable_spam"`
	// Methods switches recognition methods on and off.
	Methods MethodsFile `yaml:"methods"`
	// WhiteList are senders (addresses, domains, IPs, CIDR ranges) whose
	// mail is TRUSTED. Inline text may separate entries with spaces,
	// commas, semicolons or newlines.
	WhiteList Entries `yaml:"white_list"`
	// BlackList are senders whose mail is BLACKLISTED.
	BlackList Entries `yaml:"black_list"`
	// WhiteListFiles are files with more white list entries (one or more a
	// line, '#' starts a comment); relative paths are relative to the
	// policy file.
	WhiteListFiles []string `yaml:"white_list_files"`
	// BlackListFiles are files with more black list entries.
	BlackListFiles []string `yaml:"black_list_files"`
	// DNSBL are the DNS block lists of sending IPs. In a group, an entry
	// whose name is a default service changes only the fields it sets (e.g.
	// "enabled: false"); other entries add services.
	DNSBL []DNSBLFile `yaml:"dnsbl"`
	// URIBL are the URI block lists for the domains of links, merged by
	// name like DNSBL.
	URIBL []URIBLFile `yaml:"uribl"`
	// Actions say what happens to the message for each status.
	Actions ActionsFile `yaml:"actions"`
}

// MethodsFile switches recognition methods.
type MethodsFile struct {
	// DNS turns on DNS checks: DNSBL, reverse DNS, SPF, DKIM and DMARC.
	// Default false (they need a resolver).
	DNS *bool `yaml:"dns"`
	// SURBL turns on URI block list checks of links. Default false.
	SURBL *bool `yaml:"surbl"`
	// Lists turns on the white and black lists. Default true.
	Lists *bool `yaml:"lists"`
	// HeaderRules switches single rules of the checks on or off by name
	// (e.g. subject_too_long, formal_autoreply, html_hidden_text); a rule
	// not named stays on.
	HeaderRules map[string]bool `yaml:"header_rules"`
	// Eastern sets each Eastern language (chinese, japanese, korean, thai)
	// to "allowed" or "suspicious" (default: suspicious, adds score).
	Eastern map[string]string `yaml:"eastern"`
	// Obscene turns on obscene-language marking. Default true.
	Obscene *bool `yaml:"obscene"`
	// ObsceneTag prepends "[--Obscene--] " to the Subject of mail with
	// obscene language. Default false.
	ObsceneTag *bool `yaml:"obscene_tag"`
}

// DNSBLFile is one DNS block list of sending IPs.
type DNSBLFile struct {
	// Name identifies the service in rules, headers and group overrides.
	Name string `yaml:"name"`
	// Zone queried, e.g. "zen.spamhaus.org".
	Zone *string `yaml:"zone"`
	// Rating (0..100) added when the list has the IP; when the ratings of
	// the lists that hit sum to 100 or more the message is BLACKLISTED.
	Rating *int `yaml:"rating"`
	// Returns are the answers that count, as addresses or ranges
	// ("127.0.0.2-127.0.0.11"); empty = any 127.0.0.0/8 answer.
	Returns []string `yaml:"returns"`
	// Enabled false keeps the service listed but unused. Default true.
	Enabled *bool `yaml:"enabled"`
}

// URIBLFile is one URI block list (SURBL/URIBL style).
type URIBLFile struct {
	// Name identifies the service.
	Name string `yaml:"name"`
	// Zone queried, e.g. "multi.surbl.org".
	Zone *string `yaml:"zone"`
	// Score added for a listed link domain.
	Score *float64 `yaml:"score"`
	// Mask selects the bits of a bitmask answer that count; 0 = any answer.
	Mask *uint32 `yaml:"mask"`
	// Enabled false keeps the service listed but unused. Default true.
	Enabled *bool `yaml:"enabled"`
}

// ActionsFile holds the action of each status.
type ActionsFile struct {
	Spam         *ActionFile `yaml:"spam"`
	ProbableSpam *ActionFile `yaml:"probable_spam"`
	Formal       *ActionFile `yaml:"formal"`
	Blacklisted  *ActionFile `yaml:"blacklisted"`
	// Trusted and NotDetected mail is always delivered: only accept is allowed.
	Trusted     *ActionFile `yaml:"trusted"`
	NotDetected *ActionFile `yaml:"not_detected"`
}

// ActionFile is the action for one status. Unset fields inherit.
type ActionFile struct {
	// Action is accept, copy (deliver and copy to addresses), redirect
	// (deliver to addresses instead), reject (refuse with reject_text) or
	// delete (drop silently).
	Action *string `yaml:"action"`
	// Addresses receive the copy or the redirected message.
	Addresses []string `yaml:"addresses"`
	// SubjectPrefix is prepended to the Subject, e.g. "[!! SPAM] "; "" for none.
	SubjectPrefix *string `yaml:"subject_prefix"`
	// Header is the text of an X-Spamtest-Header added to the message; "" for none.
	Header *string `yaml:"header"`
	// RejectText is the SMTP text for reject (default: texts.reject).
	RejectText *string `yaml:"reject_text"`
}

// GroupFile is one recipient group.
type GroupFile struct {
	// ID is the group's number in X-Spamtest-Group-ID: 2..99999999, unique
	// and stable (mail filters key on it); 1 is the built-in group All.
	ID uint32 `yaml:"id"`
	// Name is shown in results and logs; unique.
	Name string `yaml:"name"`
	// Comment is a free note.
	Comment string `yaml:"comment"`
	// Recipients are the address patterns of the group members:
	// user@domain, @domain, * and ? wildcards.
	Recipients Entries `yaml:"recipients"`
	// InheritLists false makes the group use only its own white and black
	// lists instead of adding them to the default ones. Default true.
	InheritLists *bool `yaml:"inherit_lists"`
	// The group's own settings; anything not set inherits the default section.
	SectionFile `yaml:",inline"`
}

// Entries is a list of address or IP entries: a YAML sequence of strings or
// one string; either may hold several entries separated by spaces, commas,
// semicolons or newlines.
type Entries struct {
	// Items are the strings as written, with the line of each.
	Items []EntryText
	// Seq is true when written as a sequence.
	Seq bool
}

// EntryText is one string of an Entries value.
type EntryText struct {
	Text string
	Line int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (e *Entries) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		e.Items = []EntryText{{Text: n.Value, Line: n.Line}}
		return nil
	case yaml.SequenceNode:
		e.Seq = true
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: list entries must be strings", c.Line)}}
			}
			e.Items = append(e.Items, EntryText{Text: c.Value, Line: c.Line})
		}
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a list of entries or one string of entries", n.Line)}}
}
