package headers

import (
	"path"
	"regexp"
	"strings"
)

// reWPPath finds the path inside a WordPress site's directories of
// files, up to the query or fragment: "/wp-content/uploads/2026/11/dl.php".
// wp-admin is the site's dashboard, which a plugin's or a host's notice
// links from elsewhere.
var reWPPath = regexp.MustCompile(`(?i)/wp-(?:content|includes)/[^?#]*`)

// wpScriptLink reports a link that runs a script, opens a directory or
// fetches an archive or page inside a WordPress site's directories of
// files (wp-content, wp-includes) at another domain than the sender's:
// "…/wp-content/uploads/2026/11/dl.php?doc=Rechnung",
// "…/wp-includes/js/dvv/empresas/actualizacion.php",
// "…/wp-content/uploads/2024/07/.cache/rc/", "…/uploads/2026/11/Fattura.zip".
// Phishing kits and malware are put on broken-into WordPress sites
// there; a site's own mail links its pictures and documents there.
func wpScriptLink(x *info) bool {
	var own map[string]bool
	for i, u := range x.m.URLs {
		if i == maxBrandLinks {
			break
		}
		if !strings.Contains(u.Raw, "/wp-") && !strings.Contains(u.Raw, "/WP-") {
			continue // most links: no regex
		}
		p := reWPPath.FindString(u.Raw)
		if p == "" {
			continue
		}
		if own == nil {
			own = x.senderDomains()
		}
		if own[u.Domain] {
			continue
		}
		switch strings.ToLower(path.Ext(p)) {
		case "", // a directory: the kit's index
			".php", ".htm", ".html", ".shtml", ".hta", ".zip", ".rar", ".7z", ".iso", ".img", ".exe", ".msi", ".vbs":
			return true
		}
	}
	return false
}

// senderDomains returns the registrable domains of the From address and
// the envelope sender.
func (x *info) senderDomains() map[string]bool {
	own := map[string]bool{}
	for _, a := range x.addresses("From") {
		if d := addrDomain(a.Addr); d != "" {
			own[d] = true
		}
	}
	if x.env != nil {
		if d := addrDomain(x.env.MailFrom); d != "" {
			own[d] = true
		}
	}
	return own
}
