package headers

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scilla-mail/scilla/server/freemail"
	"github.com/scilla-mail/scilla/server/lookalike"
	"github.com/scilla-mail/scilla/server/rules"
)

// brandImpersonation reports a From whose display name names a brand while
// the address is not at one of the brand's domains ("Microsoft 365"
// <no-reply@sharepoint-docs-auth.example>), the mark of most phishing today.
func brandImpersonation(x *info) bool {
	from := x.addresses("From")
	if len(from) != 1 || from[0].Name == "" {
		return false
	}
	words := nameWords(from[0].Name)
	domain := addrDomain(from[0].Addr)
	if domain == "" {
		return false
	}
	// Every brand the name holds may own the domain: "La Poste Suisse"
	// names La Poste too.
	named := false
	for _, b := range x.brands.brands {
		if !containsRun(words, b.Words) {
			continue
		}
		if b.Owns(domain) {
			return false
		}
		named = true
	}
	return named
}

// brandScriptMailer reports a brand's name on a foreign address
// (brandImpersonation) sent by a web server's script: PHPMailer in
// X-Mailer, or the X-PHP-Originating-Script that PHP's mail() writes.
// Phishing kits send so, from a hacked or rented web site; banks, tax
// offices and couriers send through their own systems or a bulk-mail
// service.
func brandScriptMailer(x *info) bool {
	h := x.m.Header
	script := strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Get("X-Mailer"))), "phpmailer") || h.Get("X-PHP-Originating-Script") != ""
	return script && brandImpersonation(x)
}

// nameWords cuts a display name or a brand's name into the words they are
// compared in: lower-cased, accents folded, split at every character that
// is not a letter or digit.
func nameWords(name string) []string {
	return strings.FieldsFunc(rules.Normalize(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// containsRun reports whether run appears in words as consecutive words.
func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// fromIsRecipient reports mail "from" its only recipient that the recipient
// did not send through an authenticated submission: extortion and phishing
// borrow the victim's own address to look like an internal or a leaked
// message. People writing to themselves log in to do it. Only recipients
// the MTA gave count: newsletters often write their own address in To and
// send to their subscribers in Bcc.
func fromIsRecipient(x *info) bool {
	if x.env == nil || x.env.RcptsFromHeader || x.env.AuthUser != "" || len(x.env.Rcpts) != 1 {
		return false
	}
	from := x.addresses("From")
	return len(from) == 1 && from[0].Addr != "" && strings.EqualFold(strings.Trim(x.env.Rcpts[0], "<>"), from[0].Addr)
}

// addrDomain returns the registrable domain of an address ("paypal.co.uk"
// of service@mail.paypal.co.uk), "" without a domain.
func addrDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return regDomain(strings.ToLower(addr[at+1:]))
}

// domainLabel returns the first label of an address's registrable domain
// ("paypal" of service@mail.paypal.co.uk), "" without a domain.
func domainLabel(addr string) string {
	label, _, _ := strings.Cut(addrDomain(addr), ".")
	return label
}

// freemailReplyTo reports replies sent to a free mailbox the message is
// not from: the advance-fee letter, the fake invoice and the CEO fraud
// want the answer where the organisation cannot see it, or at a second
// mailbox that outlives the first one's closing. Organisations answer at
// their own domains, and a person at the mailbox they write from.
func freemailReplyTo(x *info) bool {
	from, rt := x.addresses("From"), x.addresses("Reply-To")
	if len(from) != 1 || len(rt) != 1 {
		return false
	}
	fl, rl := domainLabel(from[0].Addr), domainLabel(rt[0].Addr)
	return fl != "" && rl != "" && freemail.Label(rl) && !strings.EqualFold(from[0].Addr, rt[0].Addr)
}

var reAddrInName = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// nameAddressMismatch reports a From whose display name is itself an
// address other than the one the mail comes from
// ("support@paypal.com" <x@example.net>): mail programs show the name, so
// the reader sees the address the sender wants to be taken for.
func nameAddressMismatch(x *info) bool {
	from := x.addresses("From")
	if len(from) != 1 {
		return false
	}
	shown := reAddrInName.FindString(from[0].Name)
	return shown != "" && !strings.EqualFold(shown, from[0].Addr)
}

// recipientDomains returns the registrable domains of the recipients: the
// envelope's and those of To and Cc.
func (x *info) recipientDomains() []string {
	if x.rcptDomains != nil {
		return x.rcptDomains
	}
	out := append([]string{}, x.envelopeDomains()...)
	add := func(addr string) {
		if d := addrDomain(addr); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, field := range []string{"To", "Cc"} {
		for _, a := range x.addresses(field) {
			add(a.Addr)
		}
	}
	x.rcptDomains = out
	return out
}

// envelopeDomains returns the domains of the envelope's recipients: the
// protected users'.
func (x *info) envelopeDomains() []string {
	var out []string
	if x.env != nil {
		for _, r := range x.env.Rcpts {
			if d := addrDomain(strings.Trim(r, "<>")); d != "" && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// foreignSenderDomains returns the registrable domains of From and
// Reply-To that are no recipient's.
func (x *info) foreignSenderDomains() []string {
	var out []string
	for _, field := range []string{"From", "Reply-To"} {
		for _, a := range x.addresses(field) {
			if d := addrDomain(a.Addr); d != "" && !slices.Contains(x.recipientDomains(), d) && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// nameRecipientDomain reports a From display name that holds a recipient's
// domain while the address is elsewhere ("example.org Mail Administrator"
// <postmaster@mailbox-storage.example>): fake notices from the recipient's
// own mail system, voicemail or IT desk name the domain so, while the
// organisation's real notices come from the domain itself.
func nameRecipientDomain(x *info) bool {
	from := x.addresses("From")
	if len(from) != 1 || from[0].Name == "" {
		return false
	}
	name := strings.ToLower(from[0].Name)
	d := addrDomain(from[0].Addr)
	for _, t := range x.recipientDomains() {
		if t != d && strings.Contains(t, ".") && wholeIndex(name, t, notDomainRune) >= 0 {
			return true
		}
	}
	return false
}

// wholeIndex returns the index of the first occurrence of sub in s that
// stands whole: the runes either side, if any, are apart, or sub's own
// rune on that side is ("/day" stands whole after "EUR"). -1 if none.
func wholeIndex(s, sub string, apart func(r rune) bool) int {
	first, _ := utf8.DecodeRuneInString(sub)
	last, _ := utf8.DecodeLastRuneInString(sub)
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return -1
		}
		j += i
		end := j + len(sub)
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (j == 0 || apart(first) || apart(before)) && (end == len(s) || apart(last) || apart(after)) {
			return j
		}
		i = j + 1
	}
}

// notDomainRune reports a rune that cannot continue a domain name.
func notDomainRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '@' || r >= 0x80)
}

// serviceWords are the words phishing adds to an organisation's name to
// make a domain for its fake mail, IT desk or portal (example-helpdesk.com,
// example-it-mail365.com). A group's real companies add a line of business
// instead (example-energy.com), so those do not count.
var serviceWords = map[string]bool{
	"365": true, "account": true, "accounts": true, "admin": true, "alert": true, "alerts": true, "auth": true, "billing": true,
	"cloud": true, "docs": true, "document": true, "documents": true, "drive": true, "file": true, "files": true,
	"helpdesk": true, "hr": true, "it": true, "invoice": true, "invoices": true, "login": true, "mail": true,
	"mailbox": true, "microsoft": true, "notice": true, "notification": true, "notifications": true, "notify": true,
	"office": true, "online": true, "outlook": true, "payment": true, "payments": true, "payroll": true, "portal": true,
	"secure": true, "security": true, "share": true, "sharepoint": true, "signin": true, "sso": true, "support": true,
	"update": true, "verify": true, "verification": true, "voicemail": true, "web": true, "webmail": true,
}

// rcptNameDomain reports a From or Reply-To domain made of a recipient
// organisation's name and service words (example-helpdesk.com,
// example-it-mail365.com to staff of example.org): the address of a fake
// notice from the recipient's own IT desk, mail system or payroll.
func rcptNameDomain(x *info) bool {
	for _, d := range x.foreignSenderDomains() {
		label, _, _ := strings.Cut(d, ".")
		for _, t := range x.recipientDomains() {
			name, _, ok := orgName(t)
			if !ok {
				continue
			}
			if rest, ok := withoutName(label, name); ok && serviceRest(rest) {
				return true
			}
		}
	}
	return false
}

// orgName cuts a recipient's registrable domain into the organisation's
// name (its first label) and its suffix; ok is false for a name too short
// to be the organisation's alone or a free-mail provider's.
func orgName(domain string) (name, suffix string, ok bool) {
	name, suffix, _ = strings.Cut(domain, ".")
	return name, suffix, len(name) >= lookalike.MinLabel && !freemail.Label(name)
}

// withoutName returns the hyphen-separated words of label around name, if
// name stands in it as whole words and is not all of it.
func withoutName(label, name string) ([]string, bool) {
	j := wholeIndex(label, name, func(r rune) bool { return r == '-' })
	if j < 0 || label == name {
		return nil, false
	}
	return strings.FieldsFunc(label[:j]+"-"+label[j+len(name):], func(r rune) bool { return r == '-' }), true
}

// serviceRest reports words that include a service word, digits aside
// (mail365 is mail; 365 alone is Microsoft's).
func serviceRest(words []string) bool {
	for _, w := range words {
		if serviceWords[w] || serviceWords[strings.TrimRight(w, "0123456789")] {
			return true
		}
	}
	return false
}
