// Package freemail knows the big free mailbox providers, whose addresses
// anyone can open under any name: fraud writes from them as a colleague
// or a boss, and wants the answers there.
package freemail

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Label reports whether a registrable domain's first label is one of the
// big free mailbox providers' ("gmail" of gmail.com, "outlook" of
// outlook.de, "yahoo" of yahoo.co.uk).
func Label(label string) bool {
	switch label {
	case "gmail", "googlemail", "outlook", "hotmail", "live", "msn", "yahoo", "ymail", "aol", "icloud", "me",
		"mail", "gmx", "web", "yandex", "proton", "protonmail", "zoho", "qq", "163", "126", "naver", "hanmail", "rediffmail":
		return true
	}
	return false
}

// Address reports whether an address is a mailbox at one of the providers
// (jan.kowalski.office@gmail.com, someone@mail.yahoo.co.uk).
func Address(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	reg, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return false
	}
	label, _, _ := strings.Cut(reg, ".")
	return Label(label)
}
