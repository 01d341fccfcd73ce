package contentdb

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// builtinBrands is the list of the names most often borrowed by phishing
// today, for databases that carry none (BrandsFile). The default database
// ships the same file (updater/db-src/rules/brands.list links here).
//
//go:embed brands.list
var builtinBrands []byte

// parsedBuiltin parses builtinBrands once; the result is never modified.
var parsedBuiltin = sync.OnceValue(func() []Brand {
	b, err := ParseBrands(BrandsFile, builtinBrands)
	if err != nil {
		panic(err) // cannot happen: TestBuiltinBrands parses the embedded file
	}
	return b
})

// BuiltinBrands returns the built-in brands; callers must not modify them.
func BuiltinBrands() []Brand { return parsedBuiltin() }

// Brand is a sender name phishing borrows (FROM_BRAND_MISMATCH) with the
// domains its own mail comes from.
type Brand struct {
	// Words are the name as lower-case words, e.g. ["bank", "of", "america"].
	Words []string
	// Domains are first labels of registrable domains ("paypal" of
	// paypal.com and paypal.co.uk) or whole registrable domains where the
	// label alone says little ("tax.service.gov.uk").
	Domains []string
}

// Owns reports a registrable domain that is the brand's, by itself or by
// its first label ("paypal" owns paypal.co.uk).
func (b Brand) Owns(domain string) bool {
	label, _, _ := strings.Cut(domain, ".")
	return slices.Contains(b.Domains, label) || slices.Contains(b.Domains, domain)
}

// Bounds of a brands file.
const (
	maxBrands     = 2000
	maxBrandWords = 6
)

// ParseBrands reads a brands file: one brand a line, "NAME | NAME ...:
// DOMAIN DOMAIN ...", '#' comments and blank lines ignored. Every name of
// a line gets the line's domains. Names are matched as whole lower-case
// words of a From display name, so a name that is also a common word
// ("chase") is written with the word that makes it the brand ("chase
// bank"). The list replaces the one built into the header check, so a
// database update can follow the brands phishing borrows. Errors name the
// file and line.
func ParseBrands(name string, src []byte) ([]Brand, error) {
	var out []Brand
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		names, domains, ok := strings.Cut(line, ":")
		ds := strings.Fields(domains)
		if !ok || len(ds) == 0 {
			return nil, fmt.Errorf("%s:%d: want \"NAME | NAME...: DOMAIN...\", got %q", name, n, line)
		}
		for _, d := range ds {
			if !domainLike(d) {
				return nil, fmt.Errorf("%s:%d: %q is not a lower-case domain or domain label", name, n, d)
			}
		}
		for _, nm := range strings.Split(names, "|") {
			words := strings.Fields(nm)
			if len(words) == 0 || len(words) > maxBrandWords {
				return nil, fmt.Errorf("%s:%d: a brand name has 1 to %d words, got %q", name, n, maxBrandWords, strings.TrimSpace(nm))
			}
			for _, w := range words {
				if w != strings.ToLower(w) {
					return nil, fmt.Errorf("%s:%d: brand name %q is not in lower case", name, n, strings.TrimSpace(nm))
				}
				if !brandWord(w) {
					return nil, fmt.Errorf("%s:%d: brand name %q: a word holds letters and digits, with - & ' . + inside (got %q)", name, n, strings.TrimSpace(nm), w)
				}
			}
			key := strings.Join(words, " ")
			if first, dup := seen[key]; dup {
				return nil, fmt.Errorf("%s:%d: brand %q already on line %d", name, n, key, first)
			}
			seen[key] = n
			out = append(out, Brand{Words: words, Domains: ds})
			if len(out) > maxBrands {
				return nil, fmt.Errorf("%s:%d: more than %d brands", name, n, maxBrands)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// domainLike reports a lower-case domain or label: letters, digits, '-'
// and '.', not starting or ending with '.'.
func domainLike(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// brandWord reports a word a brand name may hold: letters and digits,
// with - & ' . + between them ("e-boks", "at&t").
func brandWord(w string) bool {
	for i, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			continue
		}
		if i == 0 || !strings.ContainsRune("-&'.+", r) {
			return false
		}
	}
	return true
}

// FormatBrands writes brands in the file's form, one line per brand.
func FormatBrands(brands []Brand) []byte {
	var b bytes.Buffer
	for _, br := range brands {
		fmt.Fprintf(&b, "%s: %s\n", strings.Join(br.Words, " "), strings.Join(br.Domains, " "))
	}
	return b.Bytes()
}
