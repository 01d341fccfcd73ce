// Package check is the registry of the engine's checks: which checks run and
// in what order. Each check lives in its own package under server/check/ and
// follows the engine.Check contract. Cheap checks that can force a status come
// first; checks that wait on the network implement engine.Waiter and start
// concurrently.
package check

import (
	"log/slog"

	"github.com/scilla-mail/scilla/server/bayes"
	bayescheck "github.com/scilla-mail/scilla/server/check/bayes"
	"github.com/scilla-mail/scilla/server/check/dkim"
	"github.com/scilla-mail/scilla/server/check/dnsbl"
	"github.com/scilla-mail/scilla/server/check/eastern"
	"github.com/scilla-mail/scilla/server/check/formal"
	fuzzycheck "github.com/scilla-mail/scilla/server/check/fuzzy"
	"github.com/scilla-mail/scilla/server/check/gtube"
	headerrules "github.com/scilla-mail/scilla/server/check/headers"
	imagecheck "github.com/scilla-mail/scilla/server/check/image"
	"github.com/scilla-mail/scilla/server/check/lists"
	"github.com/scilla-mail/scilla/server/check/obscene"
	"github.com/scilla-mail/scilla/server/check/rdns"
	repliescheck "github.com/scilla-mail/scilla/server/check/replies"
	rulescheck "github.com/scilla-mail/scilla/server/check/rules"
	"github.com/scilla-mail/scilla/server/check/share"
	spfcheck "github.com/scilla-mail/scilla/server/check/spf"
	"github.com/scilla-mail/scilla/server/check/structure"
	"github.com/scilla-mail/scilla/server/check/uribl"
	"github.com/scilla-mail/scilla/server/dns"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/relays"
	"github.com/scilla-mail/scilla/server/replies"
)

// Deps are the shared dependencies checks are built with.
type Deps struct {
	Log *slog.Logger
	// Resolver serves the DNS checks (DNSBL, rDNS, SPF, URI lists, DKIM,
	// DMARC); nil turns them all off (dns.enabled: false).
	Resolver *dns.Resolver
	// DNS is the "dns" config section: sending IPs and authserv-id.
	DNS dns.Config
	// Learned is the local learning store the classifier adds to the
	// database's counts; nil when learning is off.
	Learned *bayes.Store
	// Sent holds the ids of the mail local users sent, for REPLY_TO_SENT;
	// nil when remembering sent mail is off.
	Sent replies.Store
}

// All returns every check in pipeline order.
func All(d Deps) []engine.Check {
	sending := relays.New(d.DNS.ReceivedHeadersToParse, d.DNS.TrustedPrefixes(), d.DNS.CheckAuthenticated)
	return []engine.Check{
		lists.New(sending), // first: a white list hit ends the scan (TRUSTED)
		gtube.New(),
		formal.New(),      // DSN, MDN, auto-replies → FORMAL
		headerrules.New(), // header rules of DESIGN §3, each switchable
		structure.New(),   // MIME malformations and HTML tricks
		eastern.New(),     // Chinese, Japanese, Korean, Thai by script and charset
		obscene.New(),     // OBSCENE sign for the [--Obscene--] tag
		rulescheck.New(),
		share.New(), // share and signing notices whose links lead elsewhere
		bayescheck.New(d.Learned),
		fuzzycheck.New(d.Learned),
		imagecheck.New(),
		// Network checks (engine.Waiter): started first, concurrently.
		dnsbl.New(d.Resolver, sending),
		rdns.New(d.Resolver, sending),
		spfcheck.New(d.Resolver, sending, d.DNS.AuthServID),
		uribl.New(d.Resolver),
		dkim.New(d.Resolver, sending, d.DNS.AuthServID, d.DNS.TrustedAuthServIDs), // DKIM, DMARC, Authentication-Results
		repliescheck.New(d.Sent),                                                  // answers to local users' mail (the ids may be in Redis)
	}
}

// RuleNames lists every rule name the checks accept in the policy's
// methods.header_rules, for policy.Options.Rules.
func RuleNames() []string {
	var names []string
	for _, r := range headerrules.Rules() {
		names = append(names, r.Name)
	}
	names = append(names, formal.RuleNames()...)
	names = append(names, repliescheck.RuleNames()...)
	names = append(names, share.RuleNames()...)
	return append(names, structure.RuleNames()...)
}
