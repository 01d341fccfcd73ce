package contentdb

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseBrands(t *testing.T) {
	good := "# comment\n\nmicrosoft | office 365: microsoft office365\nhmrc: hmrc tax.service.gov.uk\n"
	brands, err := ParseBrands("brands.list", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Brand{
		{Words: []string{"microsoft"}, Domains: []string{"microsoft", "office365"}},
		{Words: []string{"office", "365"}, Domains: []string{"microsoft", "office365"}},
		{Words: []string{"hmrc"}, Domains: []string{"hmrc", "tax.service.gov.uk"}},
	}
	if !slices.EqualFunc(brands, want, func(a, b Brand) bool {
		return slices.Equal(a.Words, b.Words) && slices.Equal(a.Domains, b.Domains)
	}) {
		t.Errorf("ParseBrands = %+v, want %+v", brands, want)
	}
	again, err := ParseBrands("formatted", FormatBrands(brands))
	if err != nil || len(again) != len(brands) {
		t.Errorf("FormatBrands does not parse back: %v, %d brands", err, len(again))
	}
	for _, tc := range []struct{ src, want string }{
		{"paypal paypal\n", "brands.list:1: want"},
		{"paypal:\n", "brands.list:1: want"},
		{"# x\nPayPal: paypal\n", "brands.list:2: brand name \"PayPal\" is not in lower case"},
		{"paypal: pay_pal\n", "brands.list:1: \"pay_pal\" is not a lower-case domain"},
		{"paypal: .paypal\n", "is not a lower-case domain"},
		{"paypal: paypal\nx | paypal: x\n", "brands.list:2: brand \"paypal\" already on line 1"},
		{"a b c d e f g: x\n", "a brand name has 1 to 6 words"},
		{" | paypal: paypal\n", "a brand name has 1 to 6 words"},
		{"00 | #: x\n", "brands.list:1: brand name \"#\": a word holds letters and digits"},
	} {
		_, err := ParseBrands("brands.list", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBrands(%q) = %v, want an error with %q", tc.src, err, tc.want)
		}
	}
}

// FuzzParseBrands: any file, without a panic; what parses formats and
// parses again to the same brands.
func FuzzParseBrands(f *testing.F) {
	f.Add([]byte("microsoft | office 365: microsoft office365\n"))
	f.Add([]byte("a:b\n#:\n|:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		brands, err := ParseBrands("f", b)
		if err != nil {
			return
		}
		again, err := ParseBrands("f", FormatBrands(brands))
		if err != nil || len(again) != len(brands) {
			t.Fatalf("round trip: %v, %d of %d brands", err, len(again), len(brands))
		}
	})
}

// TestBuiltinBrands: the embedded list parses, and the default database's
// source is the same file (updater/db-src/rules/brands.list links to it).
func TestBuiltinBrands(t *testing.T) {
	if n := len(BuiltinBrands()); n < 50 {
		t.Errorf("%d built-in brands", n)
	}
	src, err := os.ReadFile("../../updater/db-src/rules/brands.list")
	if err != nil {
		t.Fatal(err)
	}
	if string(src) != string(builtinBrands) {
		t.Error("updater/db-src/rules/brands.list is no longer contentdb's brands.list")
	}
}
