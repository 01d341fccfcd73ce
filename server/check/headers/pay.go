package headers

import (
	"regexp"
	"strings"
	"unicode"
)

// rePayRange matches a range of money: "€250-€650", "250-400 €",
// "GBP 250-480", "2 500–4 000 kr", "NT$1,500~5,000", "200 € à 800 €",
// "$ 80.000 a $ 250.000". subjectPay wants the currency named on at least
// one side, so dates and times ("2026-11-10", "60–90 min") are not sums.
var rePayRange = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}.,])(?:` + payCurrency + `\s?)?` + payNumber + `\s?(?:` + payCurrency + `\s?)?` +
	`(?:[-–—~]|\s(?:à|a|to|bis|до|tot|till|til|do|az|से)\s)\s?(?:` + payCurrency + `\s?)?` + payNumber + `(?:\s?` + payCurrency + `)?`)

// payCurrency is a currency's sign or code as subjects write it; the
// codes are matched in capitals only ("FT" in an invoice number is not
// forints).
const payCurrency = `(?:[€$£₹¥₺₴₽₦₱₫৳]|NT\$|R\$|(?-i:EUR|USD|GBP|CHF|PLN|CZK|HUF|RON|SEK|NOK|DKK|BGN|RSD|UAH|KZT|INR|Rs|kr|zł|Kč|Ft|lei|лв|руб|грн|дин|din|KM|RM|Rp|KES|KSh|TZS|TSh|UGX|GHS|NGN|PHP|MXN|COP|TRY|TL|MAD|DH|FCFA|XOF|AED|SAR|ZAR|R|BDT|PKR|元|円|원)|[₵₸])`

// reCurrency finds a currency in a range rePayRange matched.
var reCurrency = regexp.MustCompile(payCurrency)

// payNumber is a sum: digits grouped by spaces, dots or commas, with cents.
const payNumber = `\d{1,3}(?:[ .,\x{a0}]?\d{3})*(?:[.,]\d{1,2})?`

// perDay are "per day" in the languages of the job scams' subjects, lower
// case: those of letters that words are made of must stand as whole words
// ("a day", not "a daylight"; after a slash, "EUR/ден"); the others are
// found anywhere ("日領").
var perDay = struct{ words, anywhere []string }{
	words: []string{"/day", "/dag", "/den", "/ден", "/tag", "/jour", "/día", "/dia", "/zi", "/giorno", "/hari", "/день",
		"/ngày", "/dzień", "/päivä", "per day", "a day", "daily", "per dag", "om dagen", "täglich", "pro tag", "al día",
		"por día", "par jour", "au jour", "al giorno", "pe zi", "napi", "sehari", "kada araw", "dziennie", "denně",
		"dnevno", "na dan", "günlük", "per hari", "mỗi ngày", "ngosuku", "kwa siku", "в день", "на ден", "на день", "дневно"},
	anywhere: []string{"/日", "/天", "日領", "每天", "日薪", "रोज़", "प्रतिदिन", "প্রতিদিন", "روزانہ", "하루", "일당"},
}

// saysPerDay reports "per day" in a lower-case subject.
func saysPerDay(l string) bool {
	for _, w := range perDay.anywhere {
		if strings.Contains(l, w) {
			return true
		}
	}
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	for _, w := range perDay.words {
		if wholeIndex(l, w, notLetter) >= 0 {
			return true
		}
	}
	return false
}

// subjectPay reports a Subject that offers a range of pay per day ("Remote
// part-time position - 200-800 EUR per day", "napi 25 000–45 000 Ft"):
// the task scam's lure, in every language it is sent in. Job boards
// advertise yearly or hourly pay, and a shop's offer has one price.
func subjectPay(x *info) bool {
	s := x.m.Subject
	if !strings.ContainsAny(s, "0123456789") || !saysPerDay(strings.ToLower(s)) {
		return false
	}
	for _, r := range rePayRange.FindAllString(s, maxRanges) {
		if reCurrency.MatchString(r) {
			return true
		}
	}
	return false
}

// maxRanges bounds the ranges looked at in one subject.
const maxRanges = 8
