// Package licensing implements Scilla's licence keys (DESIGN §6): the signed,
// armoured key file and its strict parser, the issuer keys that sign them,
// the Manager that holds the active and reserve keys, counts protected
// mailboxes and traffic, and answers the engine's per-recipient licence
// question from memory.
//
// A licence never rejects or delays mail: without a usable key, or over a
// limit, mail passes unfiltered and tagged (verdict.NoLicense,
// verdict.LicenseLimitExceeded). The package does not know about protected
// domains: the engine passes only protected recipients to Admit.
package licensing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Product is the product name a key must carry to be accepted.
const Product = "scilla"

// Armour lines around a key.
const (
	beginLine = "-----BEGIN SCILLA LICENSE KEY-----"
	endLine   = "-----END SCILLA LICENSE KEY-----"
	// sigContext prefixes the signed bytes so a licence signature can never
	// be mistaken for a signature over anything else the issuer key signs.
	sigContext = "scilla-license-key-v1\n"
	// formatVersion is the only key format version this parser knows.
	formatVersion = "1"
	// maxKeyFile bounds what Parse reads; real keys are under 1 KiB.
	maxKeyFile = 16 << 10
	// maxPeriodDays bounds a relative validity period (ten years).
	maxPeriodDays = 3650
)

// Errors returned when a key is refused. Each says plainly what is wrong;
// callers test them with errors.Is.
var (
	ErrMalformed     = errors.New("licensing: malformed licence key")
	ErrTampered      = errors.New("licensing: licence key signature does not match its contents (the file was altered or damaged)")
	ErrWrongProduct  = errors.New("licensing: licence key is for another product")
	ErrUnknownIssuer = errors.New("licensing: licence key was signed by an issuer this server does not trust")
	ErrExpired       = errors.New("licensing: licence key has expired")
	ErrNotYetValid   = errors.New("licensing: licence key is not valid yet")
)

// Type is the kind of licence.
type Type int

// Licence types.
const (
	Commercial Type = iota + 1
	Trial
)

// String returns the key-file spelling.
func (t Type) String() string {
	switch t {
	case Commercial:
		return "commercial"
	case Trial:
		return "trial"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// ParseType parses the key-file spelling.
func ParseType(s string) (Type, error) {
	switch s {
	case "commercial":
		return Commercial, nil
	case "trial":
		return Trial, nil
	}
	return 0, fmt.Errorf("unknown licence type %q (allowed: commercial, trial)", s)
}

// Key is the content of one licence key.
type Key struct {
	// Product must be Product for this server to accept the key.
	Product string
	// Serial identifies the key; letters, digits, '-', '_' and '.'.
	Serial string
	Type   Type
	// Licensee is the customer's name, free text on one line.
	Licensee string
	// Issued is when the key was issued; it is not valid before that.
	Issued time.Time
	// Expires is the absolute end of validity; zero when Period is used.
	Expires time.Time
	// Period is the validity counted from activation, in whole days; zero
	// when Expires is used.
	Period time.Duration
	// MaxMailboxes is the number of distinct protected mailboxes allowed in
	// 30 days; 0 means unlimited.
	MaxMailboxes uint64
	// MaxDailyBytes is the protected traffic allowed per UTC day; 0 means
	// unlimited.
	MaxDailyBytes uint64
	// Issuer is the ID of the issuer key that signed the key (IssuerID).
	Issuer string
}

// ExpiresAt returns when the key stops being valid if it was activated at
// activated (ignored for keys with an absolute expiry).
func (k *Key) ExpiresAt(activated time.Time) time.Time {
	if k.Period > 0 {
		return activated.Add(k.Period)
	}
	return k.Expires
}

// CheckTime reports whether the key is valid at now when activated at
// activated: ErrNotYetValid before Issued, ErrExpired from the expiry on.
func (k *Key) CheckTime(now, activated time.Time) error {
	if now.Before(k.Issued) {
		return fmt.Errorf("%w: serial %s is valid from %s", ErrNotYetValid, k.Serial, k.Issued.UTC().Format(time.RFC3339))
	}
	if exp := k.ExpiresAt(activated); !now.Before(exp) {
		return fmt.Errorf("%w: serial %s expired on %s", ErrExpired, k.Serial, exp.UTC().Format(time.RFC3339))
	}
	return nil
}

// Validity describes the validity for people: "until 2027-11-22" or
// "365 days from activation".
func (k *Key) Validity() string {
	if k.Period > 0 {
		return fmt.Sprintf("%d days from activation", int(k.Period/(24*time.Hour)))
	}
	return "until " + k.Expires.UTC().Format(time.RFC3339)
}

// field names, in the one order a key file must use.
const (
	fVersion   = "Version"
	fProduct   = "Product"
	fSerial    = "Serial"
	fType      = "Type"
	fLicensee  = "Licensee"
	fIssued    = "Issued"
	fExpires   = "Expires"
	fPeriod    = "Period"
	fMailboxes = "Mailboxes"
	fDaily     = "Daily-Bytes"
	fIssuer    = "Issuer"
	fSignature = "Signature"
)

// body renders the signed field lines of k (everything but Signature).
func (k *Key) body() string {
	var b strings.Builder
	line := func(name, value string) { b.WriteString(name + ": " + value + "\n") }
	line(fVersion, formatVersion)
	line(fProduct, k.Product)
	line(fSerial, k.Serial)
	line(fType, k.Type.String())
	line(fLicensee, k.Licensee)
	line(fIssued, k.Issued.UTC().Format(time.RFC3339))
	if k.Period > 0 {
		line(fPeriod, strconv.Itoa(int(k.Period/(24*time.Hour)))+"d")
	} else {
		line(fExpires, k.Expires.UTC().Format(time.RFC3339))
	}
	line(fMailboxes, strconv.FormatUint(k.MaxMailboxes, 10))
	line(fDaily, strconv.FormatUint(k.MaxDailyBytes, 10))
	line(fIssuer, k.Issuer)
	return b.String()
}

// validate checks the fields of k that do not depend on the signature.
func (k *Key) validate() error {
	switch {
	case !validSerial(k.Serial):
		return fmt.Errorf("serial %q: want 1 to 64 letters, digits, '-', '_' or '.'", k.Serial)
	case k.Product == "" || !printableLine(k.Product) || len(k.Product) > 64:
		return fmt.Errorf("product %q: want 1 to 64 printable characters", k.Product)
	case k.Type != Commercial && k.Type != Trial:
		return fmt.Errorf("type %v: want commercial or trial", k.Type)
	case k.Licensee == "" || !printableLine(k.Licensee) || len(k.Licensee) > 200 || strings.TrimSpace(k.Licensee) != k.Licensee:
		return fmt.Errorf("licensee %q: want 1 to 200 printable characters without surrounding spaces", k.Licensee)
	case k.Issued.IsZero():
		return errors.New("issue date missing")
	case (k.Period > 0) == !k.Expires.IsZero():
		return errors.New("want exactly one of an expiry date and a period")
	case k.Period < 0 || k.Period%(24*time.Hour) != 0 || k.Period > maxPeriodDays*24*time.Hour:
		return fmt.Errorf("period %v: want 1 to %d whole days", k.Period, maxPeriodDays)
	case !k.Expires.IsZero() && !k.Expires.After(k.Issued):
		return errors.New("expiry date is not after the issue date")
	}
	return nil
}

// Sign returns the armoured key file for k signed with priv; k.Issuer is set
// to the ID of priv's public key.
func Sign(k Key, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("licensing: sign key: not an ed25519 private key")
	}
	k.Issued = k.Issued.UTC().Truncate(time.Second)
	k.Expires = k.Expires.UTC().Truncate(time.Second)
	k.Issuer = IssuerID(priv.Public().(ed25519.PublicKey))
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("licensing: sign key: %w", err)
	}
	body := k.body()
	sig := ed25519.Sign(priv, []byte(sigContext+body))
	var b bytes.Buffer
	b.WriteString(beginLine + "\n")
	b.WriteString(body)
	b.WriteString(fSignature + ": " + base64.StdEncoding.EncodeToString(sig) + "\n")
	b.WriteString(endLine + "\n")
	return b.Bytes(), nil
}

// Parse reads an armoured key file and checks its signature against the
// trusted issuers. It does not look at the clock or the product: use
// Verify for the full check. Errors wrap ErrMalformed, ErrUnknownIssuer or
// ErrTampered.
//
// The format is strict: only blank lines around the armour, LF or CRLF line
// ends, every field exactly once in the fixed order, no extra spaces.
func Parse(data []byte, trusted Issuers) (*Key, error) {
	k, signed, sig, err := parseArmour(data)
	if err != nil {
		return nil, err
	}
	pub, ok := trusted.lookup(k.Issuer)
	if !ok {
		return nil, fmt.Errorf("%w (issuer %s, serial %s)", ErrUnknownIssuer, k.Issuer, k.Serial)
	}
	if !ed25519.Verify(pub, []byte(sigContext+signed), sig) {
		return nil, fmt.Errorf("%w (serial %s)", ErrTampered, k.Serial)
	}
	return k, nil
}

// Verify parses data like Parse and also refuses keys for another product,
// keys not valid yet and keys whose absolute expiry has passed at now.
func Verify(data []byte, trusted Issuers, now time.Time) (*Key, error) {
	k, err := Parse(data, trusted)
	if err != nil {
		return nil, err
	}
	if k.Product != Product {
		return nil, fmt.Errorf("%w: key is for %q, this server is %q (serial %s)", ErrWrongProduct, k.Product, Product, k.Serial)
	}
	// A period key starts when it is activated, so only the issue date
	// and an absolute expiry can be judged before activation.
	if err := k.CheckTime(now, now); err != nil {
		return nil, err
	}
	return k, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parseArmour splits the armour into fields and returns the key, the signed
// text (the canonical field lines) and the signature.
func parseArmour(data []byte) (*Key, string, []byte, error) {
	if len(data) > maxKeyFile {
		return nil, "", nil, malformed("file is %d bytes, a key is under %d", len(data), maxKeyFile)
	}
	if !utf8.Valid(data) {
		return nil, "", nil, malformed("file is not UTF-8 text")
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	start, end := -1, -1
	if !strings.Contains(text, beginLine) {
		return nil, "", nil, malformed("no %q line", beginLine)
	}
	for i, l := range lines {
		switch {
		case l == beginLine && start < 0:
			start = i
		case l == beginLine:
			return nil, "", nil, malformed("line %d: second %q line (one key per file)", i+1, beginLine)
		case l == endLine && start >= 0 && end < 0:
			end = i
		case start < 0 || end >= 0:
			if strings.TrimSpace(l) != "" {
				where := "before"
				if end >= 0 {
					where = "after"
				}
				return nil, "", nil, malformed("line %d: text %s the armour (a key file holds only the lines from %q to %q)", i+1, where, beginLine, endLine)
			}
		}
	}
	if start < 0 {
		return nil, "", nil, malformed("no %q line", beginLine)
	}
	if end < 0 {
		return nil, "", nil, malformed("no %q line after %q", endLine, beginLine)
	}
	fields := lines[start+1 : end]
	k := &Key{}
	var (
		signed strings.Builder
		sig    []byte
		want   = []string{fVersion, fProduct, fSerial, fType, fLicensee, fIssued, fExpires + "|" + fPeriod, fMailboxes, fDaily, fIssuer, fSignature}
	)
	if len(fields) != len(want) {
		return nil, "", nil, malformed("armour holds %d lines, a key has %d fields (%s)", len(fields), len(want), strings.Join(want, ", "))
	}
	for i, l := range fields {
		lineNo := start + 2 + i
		name, value, ok := strings.Cut(l, ": ")
		if !ok || name == "" {
			return nil, "", nil, malformed("line %d: want \"Name: value\", got %q", lineNo, clip(l))
		}
		if !strings.Contains("|"+want[i]+"|", "|"+name+"|") {
			return nil, "", nil, malformed("line %d: field %q where %s belongs", lineNo, clip(name), strings.ReplaceAll(want[i], "|", " or "))
		}
		if value != strings.TrimSpace(value) || !printableLine(value) {
			return nil, "", nil, malformed("line %d: %s has surrounding spaces or control characters", lineNo, name)
		}
		if err := k.setField(name, value, &sig); err != nil {
			return nil, "", nil, malformed("line %d: %s: %v", lineNo, name, err)
		}
		if name != fSignature {
			signed.WriteString(l + "\n")
		}
	}
	if err := k.validate(); err != nil {
		return nil, "", nil, malformed("%v", err)
	}
	// The signed text must be the canonical rendering, so there is exactly
	// one byte sequence per key (no alternative spellings of a value).
	if signed.String() != k.body() {
		return nil, "", nil, malformed("fields are not in canonical form (dates in UTC as 2006-01-02T15:04:05Z, numbers without leading zeros)")
	}
	return k, signed.String(), sig, nil
}

func (k *Key) setField(name, value string, sig *[]byte) error {
	var err error
	switch name {
	case fVersion:
		if value != formatVersion {
			return fmt.Errorf("format version %q is not supported (this server reads version %s)", clip(value), formatVersion)
		}
	case fProduct:
		k.Product = value
	case fSerial:
		k.Serial = value
	case fType:
		k.Type, err = ParseType(value)
	case fLicensee:
		k.Licensee = value
	case fIssued:
		k.Issued, err = parseTime(value)
	case fExpires:
		k.Expires, err = parseTime(value)
	case fPeriod:
		k.Period, err = ParsePeriod(value)
	case fMailboxes:
		k.MaxMailboxes, err = strconv.ParseUint(value, 10, 64)
	case fDaily:
		k.MaxDailyBytes, err = strconv.ParseUint(value, 10, 64)
	case fIssuer:
		if !validIssuerID(value) {
			err = fmt.Errorf("%q is not an issuer id (16 lower-case hex digits)", clip(value))
		}
		k.Issuer = value
	case fSignature:
		*sig, err = base64.StdEncoding.Strict().DecodeString(value)
		if err == nil && len(*sig) != ed25519.SignatureSize {
			err = fmt.Errorf("signature is %d bytes, want %d", len(*sig), ed25519.SignatureSize)
		}
	}
	return err
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		return time.Time{}, fmt.Errorf("%q is not a UTC time like 2026-01-31T00:00:00Z", clip(s))
	}
	return t, nil
}

// ParsePeriod parses a validity period in days, e.g. "365d".
func ParsePeriod(s string) (time.Duration, error) {
	n, ok := strings.CutSuffix(s, "d")
	days, err := strconv.Atoi(n)
	if !ok || err != nil || days < 1 || days > maxPeriodDays || strconv.Itoa(days) != n {
		return 0, fmt.Errorf("%q is not a period like 365d (1 to %d days)", clip(s), maxPeriodDays)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

func validSerial(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func printableLine(s string) bool {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
