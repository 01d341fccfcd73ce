// Package share is the check for notices of shared files, documents to
// sign, payments and voice messages whose links lead somewhere else, or
// that come as an attached web page: SHARE_NOTICE_OFFSITE. Today's
// commonest phishing says "Anna shared a file with you" or "review and
// sign" in a sharing service's words and layout, from a compromised
// mailbox or a throwaway domain, and its button leads to a look-alike
// login page on a page host or a fresh domain. The services' own notices
// link to the service, and a colleague's or a customer's portal is at
// their own domain; a notice whose links reach neither is the lure.
//
// When the compromised mailbox's own OneDrive holds the lure, the link
// is the service's and SHARE_NOTICE_MAILBOX looks at the sender instead:
// the service's notice names the sharer in the third person ("Kostas
// Pappas shared a file with you") and comes from the service's address;
// the same words from Kostas Pappas's own mailbox were pasted there.
package share

import (
	"context"
	_ "embed"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/rules"
)

// Sign and switch names (methods.header_rules).
const (
	Sign            = "SHARE_NOTICE_OFFSITE"
	RuleName        = "share_notice_offsite"
	MailboxSign     = "SHARE_NOTICE_MAILBOX"
	MailboxRuleName = "share_notice_mailbox"
)

// RuleNames lists the check's switches for the policy's header_rules.
func RuleNames() []string { return []string{RuleName, MailboxRuleName} }

// score is the sign's built-in weight (signs.scores may replace it). A
// customer may share through a portal of another name, so the sign does
// not flag alone; with a brand's name in a stranger's From, a page host or
// the classifier's doubt it does.
const score = 3.0

// mailboxScore is SHARE_NOTICE_MAILBOX's built-in weight. A tenant may
// have its notices sent from the sharer's mailbox, so it does not flag
// alone either.
const mailboxScore = 2.5

// notices are the phrases of the notices, in the rules source format.
//
//go:embed notices.rules
var notices string

// Check finds share notices that link away.
type Check struct {
	phrases *rules.Set
}

// New returns the check.
func New() *Check {
	rs, err := rules.Parse("notices.rules", notices)
	if err != nil {
		panic(err) // cannot happen: TestNotices parses the embedded file
	}
	set, err := rules.Compile(rs)
	if err != nil {
		panic(err) // cannot happen: as above
	}
	return &Check{phrases: set}
}

// Name implements engine.Check.
func (*Check) Name() string { return "share" }

// Run implements engine.Check.
func (c *Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	var res engine.Result
	methods := in.Group.Settings.Methods
	away, service := linkKinds(in.Msg, in.Env)
	where := ""
	switch {
	case pageAttached(in.Msg):
		where = ", in an attached web page"
	case away:
		where = ", but no link leads to a sharing service or the sender's own domain"
	}
	var sharer message.Address
	if where == "" && service && methods.RuleOn(MailboxRuleName) {
		sharer = personalSharer(in.Msg)
	}
	if sharer.Name == "" && (where == "" || !methods.RuleOn(RuleName)) {
		return res, nil
	}
	var t rules.Texts
	t[rules.PartSubject] = rules.Normalize(in.Msg.Subject)
	t[rules.PartBody] = rules.Normalize(in.Msg.Text[:min(len(in.Msg.Text), maxText)])
	if sharer.Name != "" {
		if hit := c.namedSharer(&t, rules.Normalize(sharer.Name)); hit != nil {
			res.Signs = append(res.Signs, engine.Sign{Name: MailboxSign, Score: mailboxScore, Method: "content",
				Desc: strings.ToLower(hit.Desc) + ", naming " + sharer.Name + " as the sharer, from " + sharer.Domain() + " rather than the service"})
		}
		return res, nil
	}
	hits := c.phrases.MatchTexts(&t)
	if len(hits) == 0 {
		return res, nil
	}
	res.Signs = append(res.Signs, engine.Sign{Name: Sign, Score: score, Method: "content",
		Desc: strings.ToLower(hits[0].Desc) + where})
	return res, nil
}

// personalSharer returns the From address of a message that does not come
// from a service's notice address, with its display name reduced to the
// person ("Anna Berg (via SharePoint)" is "Anna Berg"); the zero Address
// when that is not so or no name is left.
func personalSharer(m *message.Message) message.Address {
	from := message.ParseAddressList(m.Header.Get("From"))
	if len(from) != 1 || message.HostUnder(from[0].Domain(), noticeSenders) {
		return message.Address{}
	}
	a := from[0]
	a.Name = strings.Trim(viaService.ReplaceAllString(a.Name, ""), ` "'`)
	if utf8.RuneCountInString(a.Name) < minName {
		a.Name = ""
	}
	return a
}

// minName is the shortest display name looked for in the text: shorter
// ones ("Jo", "HR") are found in ordinary words.
const minName = 4

// viaService matches what the services add to the sharer's name in the
// display name: "(via SharePoint)", "via Docusign", "(über SharePoint
// Online)", "(a través de Documentos de Google)", "mediante Docusign".
var viaService = regexp.MustCompile(`(?i)\s+\(?(via|über|a través de|através de|mediante|tramite|przez|kautta)\s.*$`)

// headText bounds where the body must name the sharer: a notice says it
// first; a signature's name further down is not the notice's.
const headText = 1 << 10

// nameWindow is how far after the sharer's name the notice's words must
// begin: "Kostas Pappas shared "Statement Q4 2026.pdf" with you".
const nameWindow = 100

// namedSharer returns the file-sharing or signing phrase that follows the
// sharer's name in the subject or the head of the body, nil if none does.
func (c *Check) namedSharer(t *rules.Texts, name string) *rules.Rule {
	for _, text := range []string{t[rules.PartSubject], t[rules.PartBody][:min(len(t[rules.PartBody]), headText)]} {
		i := strings.Index(text, name)
		if i < 0 {
			continue
		}
		var w rules.Texts
		w[rules.PartBody] = text[i+len(name) : min(len(text), i+len(name)+nameWindow)]
		for _, r := range c.phrases.MatchTexts(&w) {
			if r.Name == "SHARED_FILE" || r.Name == "SIGN_REQUEST" {
				return r
			}
		}
	}
	return nil
}

// maxText bounds the text searched: a notice says what it is at the top.
const maxText = 8 << 10

// maxLinks bounds the links looked at.
const maxLinks = 100

// pageAttached reports an attached web page or SVG image: the services
// link to their files, and a voice message comes as sound, so a notice
// whose content is a page to open in the browser is the sign-in form
// itself.
func pageAttached(m *message.Message) bool {
	for _, l := range m.Leaves {
		switch strings.ToLower(path.Ext(l.Filename)) {
		case ".htm", ".html", ".shtml", ".xhtml", ".svg":
			return true
		}
	}
	return false
}

// linkKinds reports whether a message's links lead away: it has a link
// of its own (not a mailing service's tracking or a markup namespace) and
// none at a sharing service or at the sender's own domain (From, or the
// envelope sender); and whether one is at a sharing service. A link in
// SharePoint's shape on another host leads away wherever it is.
func linkKinds(m *message.Message, env *engine.Envelope) (away, service bool) {
	if len(m.URLs) == 0 {
		return false, false
	}
	own := ownLabels(m, env)
	mine := false
	for i, u := range m.URLs {
		if i == maxLinks {
			break
		}
		switch {
		case u.Domain == "":
			away = true // an IP address
		case message.HostUnder(u.Host, neutralHosts):
		case strings.Contains(u.Raw, "/:") && reSharePointPath.MatchString(u.Raw) && !message.HostUnder(u.Host, sharePoint):
			away = true // SharePoint's link, on a host of the sender's or a look-alike's
		case message.HostUnder(u.Host, serviceHosts):
			return false, true
		default:
			label, _, _ := strings.Cut(u.Domain, ".")
			mine = mine || own[label]
			away = away || !own[label]
		}
	}
	return away && !mine, false
}

// sharePoint is where SharePoint's links are served.
var sharePoint = []string{"sharepoint.com"}

// reSharePointPath matches the path of SharePoint's and OneDrive's
// sharing links ("/:b:/g/personal/…", "/:x:/s/Team/…"), which only
// sharepoint.com serves.
var reSharePointPath = regexp.MustCompile(`^(?i:https?)://[^/]+/:[a-z]:/[a-z]/`)

// ownLabels returns the first labels of the registrable domains of the
// From address and the envelope sender: "acme" of news.acme.co.uk. A
// company links to acme.com from acme.de, a service to pandadoc.com from
// pandadoc.net.
func ownLabels(m *message.Message, env *engine.Envelope) map[string]bool {
	own := map[string]bool{}
	addrs := []string{}
	for _, a := range message.ParseAddressList(m.Header.Get("From")) {
		addrs = append(addrs, a.Addr)
	}
	if env != nil {
		addrs = append(addrs, env.MailFrom)
	}
	for _, a := range addrs {
		d, err := publicsuffix.EffectiveTLDPlusOne(message.Address{Addr: a}.Domain())
		if err != nil {
			continue
		}
		label, _, _ := strings.Cut(d, ".")
		own[label] = true
	}
	return own
}

// serviceHosts are where file-sharing, e-signature, voice-mail and
// invoicing services' own notices link to (a supplier's payment reminder
// from Zoho Books links to its portal there).
var serviceHosts = []string{
	"sharepoint.com", "onedrive.com", "onedrive.live.com", "1drv.ms", "teams.microsoft.com", "teams.live.com",
	"drive.google.com", "docs.google.com", "sites.google.com", "meet.google.com", "voice.google.com",
	"dropbox.com", "db.tt", "box.com", "box.net", "wetransfer.com", "we.tl", "icloud.com",
	"sharefile.com", "sharefile.eu", "egnyte.com", "fromsmash.com", "swisstransfer.com", "transfernow.net",
	"filemail.com", "hightail.com", "pcloud.com", "mega.nz", "tresorit.com", "drive.proton.me", "nextcloud.com",
	"docusign.net", "docusign.com", "adobesign.com", "echosign.com", "acrobat.adobe.com", "documentcloud.adobe.com",
	"pandadoc.com", "hellosign.com", "dropboxsign.com", "signnow.com", "yousign.com", "skribble.com",
	"sign.zoho.com", "sign.zoho.eu", "signrequest.com", "oneflow.com", "scrive.com", "signicat.com", "penneo.com",
	"ringcentral.com", "zoom.us", "8x8.com", "vonage.com", "dialpad.com", "aircall.io",
	"books.zoho.com", "books.zoho.eu", "books.zoho.in", "invoice.zoho.com", "in.xero.com", "connect.intuit.com",
	"quickbooks.intuit.com", "freshbooks.com", "invoice.stripe.com", "pay.stripe.com", "bill.com", "invoice2go.com",
}

// noticeSenders are the domains the services send their notices from.
var noticeSenders = []string{
	"sharepointonline.com", "microsoft.com", "google.com", "dropbox.com", "dropboxmail.com", "box.com",
	"docusign.net", "docusign.com", "adobe.com", "adobesign.com", "echosign.com", "pandadoc.com", "pandadoc.net",
	"hellosign.com", "dropboxsign.com", "signnow.com", "yousign.com", "yousign.app", "skribble.com",
	"zoho.com", "zoho.eu", "zoho.in", "signrequest.com", "oneflow.com", "scrive.com", "signicat.com", "penneo.com",
	"wetransfer.com", "sharefile.com", "egnyte.com", "fromsmash.com", "swisstransfer.com", "transfernow.net",
	"filemail.com", "hightail.com", "pcloud.com", "mega.nz", "tresorit.com", "proton.me", "apple.com",
}

// neutralHosts are links that say nothing of where a button leads:
// mailing services' click tracking and image hosting, and the namespaces
// of Office's and the W3C's markup.
var neutralHosts = []string{
	"list-manage.com", "mcusercontent.com", "mailchi.mp", "sendgrid.net", "mailgun.org", "mandrillapp.com",
	"hubspotlinks.com", "hubspotemail.net", "rs6.net", "createsend.com", "cmail19.com", "cmail20.com",
	"mjt.lu", "sendibt2.com", "sendibt3.com", "brevo.com", "klclick.com", "klclick1.com", "awstrack.me", "mlsend.com",
	"w3.org", "schemas.microsoft.com", "schemas.openxmlformats.org", "schema.org",
}
