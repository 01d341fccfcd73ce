package headers

import (
	"slices"
	"strings"

	"github.com/scilla-mail/scilla/server/message"
)

// maxBrandLinks bounds the links foreignLinks looks at.
const maxBrandLinks = 64

// brandLink reports a link whose host names a brand as a whole word while
// its registrable domain is not the brand's: "paypal.com.case-7730.help",
// "mitid-dk.fornyelse-app.com", "wetransfer-download.pages.dev". Phishing
// puts the name where a reader glances; a brand's own links stay at its
// domains. Brand names that are common words or that other products carry
// (booking, office, outlook, cash) do not count, nor hosts at the platforms
// where companies get a subdomain of their name (a help desk, a CDN).
func brandLink(x *info) bool { return len(brandLinkDomains(x)) > 0 }

// brandLinkElsewhere reports a From that names a brand its address does
// not belong to (FROM_BRAND_MISMATCH) with a link named after a brand at a
// third domain, neither the brand's nor the sender's (LINK_BRAND_HOST):
// "Santander" writing from a hacked restaurant's mailbox to
// santander-clave-psd2.info, "Royal Mail" at rm-redelivery-uk.info linking
// to royalmail.parcel-update.info. A brand that sends through a domain of
// its own besides its main one ("Colissimo" at notif-colissimo-laposte.info)
// links there or to the brand; nobody legitimate sends a reader from one
// borrowed name to another.
func brandLinkElsewhere(x *info) bool {
	domains := brandLinkDomains(x)
	if len(domains) == 0 || !brandImpersonation(x) {
		return false
	}
	from := addrDomain(x.addresses("From")[0].Addr)
	return slices.ContainsFunc(domains, func(d string) bool { return d != from })
}

// brandLinkDomains returns the registrable domains of the links whose host
// names a brand the domain does not belong to, computed once per message.
func brandLinkDomains(x *info) []string {
	if x.brandLinksDone {
		return x.brandLinks
	}
	x.brandLinksDone = true
	if len(x.brands.hostWords) == 0 {
		return nil
	}
	for _, u := range x.foreignLinks() {
		if !slices.Contains(x.brandLinks, u.Domain) && namesBrand(x.brands, hostWords(u.Host, u.Domain)) {
			x.brandLinks = append(x.brandLinks, u.Domain)
		}
	}
	return x.brandLinks
}

// foreignLinks returns the links, one per host and at most maxBrandLinks
// looked at, that are neither at a link platform nor at a brand's own
// domain: where a host named after a brand or the recipient is a lure.
// Computed once per message.
func (x *info) foreignLinks() []message.URL {
	if x.foreignDone {
		return x.foreign
	}
	x.foreignDone = true
	seen := make([]string, 0, 8)
	for i, u := range x.m.URLs {
		if i == maxBrandLinks {
			break
		}
		if u.Domain == "" || slices.Contains(seen, u.Host) {
			continue
		}
		seen = append(seen, u.Host)
		if !linkPlatform(u.Host) && !x.brands.owns(u.Domain) {
			x.foreign = append(x.foreign, u)
		}
	}
	return x.foreign
}

// rcptNameLink reports a link whose host names a protected recipient's
// organisation with service words or its own suffix, or holds its whole
// domain, at a domain that is not the organisation's:
// "atelier-kronberger-at.mailbox-quota.app", "hanbit-tax-mail.web.app",
// "atelier-kronberger.at.kennwort-verwaltung.com" to staff of
// atelier-kronberger.at. A fake sign-in page of the recipient's own
// webmail, single sign-on or file share is named so that the reader
// takes it for the company's; the company's real pages are at its domain,
// and a service's page for a customer is named after it alone
// ("nordkod.slack.com"). Inbound mail only: the organisation's own mail
// links where it likes.
func rcptNameLink(x *info) bool {
	if x.env != nil && x.env.AuthUser != "" {
		return false
	}
	domains := x.envelopeDomains()
	for _, u := range x.foreignLinks() {
		if slices.Contains(domains, u.Domain) {
			continue
		}
		for _, d := range domains {
			if namesRecipient(u.Host, u.Domain, d) {
				return true
			}
		}
	}
	return false
}

// rcptCountryHost reports a link host, or the From address's domain, that
// spells a recipient domain's country code into its name as a word
// ("otpbank-hu.verify.example", "cdek-kz.delivery", "privat24-ua.online"
// to staff of a company under .hu, .kz, .ua), at a domain that is not the
// recipient's: phishing aimed at a country names the brand and the
// country, where the brand's own domain is under the country's suffix.
// Brands' own domains and link platforms do not count; inbound mail only.
// Some local companies name themselves so (deltasteel-eg.com), which is
// why the sign weighs little on its own.
func rcptCountryHost(x *info) bool {
	if x.env != nil && x.env.AuthUser != "" {
		return false
	}
	hosts := make([]string, 0, 8)
	for _, u := range x.foreignLinks() {
		hosts = append(hosts, u.Host)
	}
	for _, a := range x.addresses("From") {
		if at := strings.LastIndexByte(a.Addr, '@'); at >= 0 {
			hosts = append(hosts, strings.ToLower(a.Addr[at+1:]))
		}
	}
	for _, d := range x.envelopeDomains() {
		cc := message.CountryCode(d)
		if cc == "" {
			continue
		}
		for _, h := range hosts {
			if !message.HostUnder(h, []string{d}) && countryWord(h, cc) {
				return true
			}
		}
	}
	return false
}

// countryWord reports a host with a label that ends a word in "-cc"
// before a dot or another hyphen ("posta-hu.example", "lidl-hu-prize.top").
func countryWord(host, cc string) bool {
	for i := 0; ; i++ {
		j := strings.Index(host[i:], "-"+cc)
		if j < 0 {
			return false
		}
		i += j
		if end := i + 1 + len(cc); i > 0 && end < len(host) && (host[end] == '.' || host[end] == '-') {
			return true
		}
	}
}

// namesRecipient reports a link host that holds the recipient domain d
// whole before other labels ("d.evil.example"), or a label of d's name
// with service words or d's suffix ("name-webmail", "name-com-au").
func namesRecipient(host, domain, d string) bool {
	if j := wholeIndex(host, d, func(r rune) bool { return r == '.' || r == '-' }); j >= 0 && j+len(d) < len(host) {
		return true // not at the end: "shop-acme.com" is another company's
	}
	name, suffix, ok := orgName(d)
	if !ok {
		return false
	}
	suffixWords := strings.Split(suffix, ".")
	labels := strings.Split(strings.TrimSuffix(host, domain), ".")
	labels = append(labels[:len(labels)-1], strings.Split(domain, ".")[0])
	for _, l := range labels {
		rest, ok := withoutName(l, name)
		if ok && (serviceRest(rest) || slices.ContainsFunc(rest, func(w string) bool { return slices.Contains(suffixWords, w) })) {
			return true
		}
	}
	return false
}

// namesBrand reports whether a brand's host words run in words.
func namesBrand(brands *brandSet, words []string) bool {
	for j, w := range words {
		for _, b := range brands.hostWords[w] {
			if len(words)-j >= len(b) && slices.Equal(words[j:j+len(b)], b) {
				return true
			}
		}
	}
	return false
}

// hostWords splits a host into the words a reader sees: the labels before
// its registrable domain and the registrable domain's first label, cut at
// dots and hyphens ("paypal.com.case-7730.help" → paypal com case 7730).
func hostWords(host, domain string) []string {
	sub := strings.TrimSuffix(strings.TrimSuffix(host, domain), ".")
	label, _, _ := strings.Cut(domain, ".")
	return strings.FieldsFunc(sub+"."+label, func(r rune) bool { return r == '.' || r == '-' })
}

// linkPlatform reports a host under the platforms where companies get
// subdomains of their own name: help desks, CRMs, identity providers,
// status pages, job boards, documentation and CDNs
// ("wetransfer.zendesk.com", "img-prod-cms-rt-microsoft-com.akamaized.net").
// Some of them are public suffixes, so the host is matched, not its
// registrable domain.
func linkPlatform(host string) bool { return message.HostUnder(host, linkPlatforms) }

var linkPlatforms = []string{
	"zendesk.com", "freshdesk.com", "salesforce.com", "force.com", "site.com", "service-now.com",
	"okta.com", "atlassian.net", "statuspage.io", "hubspot.com", "hs-sites.com", "myshopify.com",
	"workday.com", "myworkdayjobs.com", "greenhouse.io", "lever.co", "smartrecruiters.com",
	"github.io", "gitlab.io", "readthedocs.io", "sourceforge.net",
	"akamaized.net", "akamaihd.net", "edgekey.net", "edgesuite.net", "cloudfront.net", "azureedge.net",
}

// linkStopWords are brand domain labels that are common words or that
// other companies' hosts carry for good reason (a hotel's
// booking.example-hotel.com, an add-on vendor's outlook.example.biz).
var linkStopWords = []string{
	"booking", "live", "office", "outlook", "xbox", "skype", "meta", "cash", "square", "zoom", "gen",
	"bring", "posten", "posti", "poste", "skat", "vero", "ups", "ato", "aws", "canada", "citi", "chase", "lloyds", "nets",
	"fortis", "cbc", "ing", // Fortis Healthcare and FortisBC, the CBC's radio, ING's national banks
	"sparkasse", "telekom", "magenta", // Germany's savings banks, the Telekoms of Hungary or Slovakia, a colour
	"correios", "sibs", // Portugal's CTT Correios and the word for post offices; SIBS runs other banks' cards
	"zus", "blik", // Dutch for sister and for a tin
	"revenue", "ros", "boi", // a word, the Robot Operating System, a word in Dutch and Spanish slang
	"nab", "cba", "asic", // a verb, other associations' initials, a kind of chip
	"dbs", // database servers' host names
}

// brandHostWords returns the brand domain labels brandLink looks for, each
// cut at hyphens ("royalmail" → [royalmail], "e-boks" → [e boks]) and
// filed under its first word.
func brandHostWords(labels []string) map[string][][]string {
	out := map[string][][]string{}
	for _, l := range labels {
		if len(l) >= 3 && !slices.Contains(linkStopWords, l) {
			w := strings.Split(l, "-")
			out[w[0]] = append(out[w[0]], w)
		}
	}
	return out
}
