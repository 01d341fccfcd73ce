package message

import (
	"slices"
	"testing"
)

// TestRedirectTargets: the links behind Safe Links, Google and Facebook
// redirects, click trackers and Proofpoint URL Defense join the message's
// links after the wrapper, also two wrappers deep; plain links add nothing.
func TestRedirectTargets(t *testing.T) {
	for _, tc := range []struct {
		name, link string
		hosts      []string
	}{
		{"safe links", "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Flogin.m365-verify.example%2Fa&data=05%7C01",
			[]string{"eur01.safelinks.protection.outlook.com", "login.m365-verify.example"}},
		{"google", "https://www.google.com/url?sa=t&q=https://docs-share.example/x&usg=AOv",
			[]string{"www.google.com", "docs-share.example"}},
		{"safe links around google", "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.google.com%2Furl%3Fq%3Dhttps%3A%2F%2Fpay.evil.example%2F",
			[]string{"nam02.safelinks.protection.outlook.com", "www.google.com", "pay.evil.example"}},
		{"urldefense v3", "https://urldefense.com/v3/__https://invoice.vendor.example/view?id=7__;!!abc$",
			[]string{"urldefense.com", "invoice.vendor.example"}},
		{"urldefense v2", "https://urldefense.proofpoint.com/v2/url?u=https-3A__portal.vendor.example_login&d=DwMF",
			[]string{"urldefense.proofpoint.com", "portal.vendor.example"}},
		{"plain", "https://www.example.com/news?id=7&ref=mail", []string{"www.example.com"}},
	} {
		m := Parse([]byte("From: a@example.com\r\nSubject: x\r\n\r\nSee "+tc.link+" today.\r\n"), DefaultLimits)
		var hosts []string
		for _, u := range m.URLs {
			hosts = append(hosts, u.Host)
		}
		if !slices.Equal(hosts, tc.hosts) {
			t.Errorf("%s: hosts %q, want %q", tc.name, hosts, tc.hosts)
		}
	}
}

func TestHostUnder(t *testing.T) {
	domains := []string{"docusign.net", "drive.google.com"}
	for host, want := range map[string]bool{
		"docusign.net":          true,
		"eu.docusign.net":       true,
		"evildocusign.net":      false,
		"docusign.net.evil.com": false,
		"drive.google.com":      true,
		"google.com":            false,
		"":                      false,
	} {
		if got := HostUnder(host, domains); got != want {
			t.Errorf("HostUnder(%q) = %v, want %v", host, got, want)
		}
	}
}
