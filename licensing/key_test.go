package licensing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/golden"
)

// testIssuer returns a fixed issuer key pair derived from name, so golden
// files are reproducible (ed25519 signatures are deterministic).
func testIssuer(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("scilla test issuer " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func trustOnly(t testing.TB, keys ...ed25519.PrivateKey) Issuers {
	t.Helper()
	var pubs []string
	for _, k := range keys {
		pubs = append(pubs, FormatPublicKey(k.Public().(ed25519.PublicKey)))
	}
	is, err := NewIssuers(pubs)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func baseKey() Key {
	return Key{
		Product: Product, Serial: "SC-2026-0001", Type: Commercial, Licensee: "Example Mail Ltd",
		Issued: t0, Expires: t0.AddDate(1, 0, 0), MaxMailboxes: 50, MaxDailyBytes: 10 << 30,
	}
}

func mustSign(t testing.TB, k Key, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := Sign(k, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenKeys pins the key file format: signing the same key with the
// same issuer must give the committed bytes, and those must verify.
func TestGoldenKeys(t *testing.T) {
	iss := testIssuer("golden")
	period := baseKey()
	period.Serial, period.Expires, period.Period, period.Type, period.MaxDailyBytes = "SC-TRIAL-7", time.Time{}, 90*24*time.Hour, Trial, 0
	for name, k := range map[string]Key{"commercial.key": baseKey(), "period.key": period} {
		got := mustSign(t, k, iss)
		path := filepath.Join("testdata", name)
		golden.Compare(t, path, got)
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Verify(want, trustOnly(t, iss), t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		k.Issuer = IssuerID(iss.Public().(ed25519.PublicKey))
		if *parsed != k {
			t.Errorf("%s parsed as %+v, want %+v", name, *parsed, k)
		}
	}
}

// TestRefusals: every way a key can be wrong gives its own clear error.
func TestRefusals(t *testing.T) {
	iss, stranger := testIssuer("a"), testIssuer("stranger")
	trusted := trustOnly(t, iss)
	now := t0.Add(24 * time.Hour)
	good := mustSign(t, baseKey(), iss)

	otherProduct := baseKey()
	otherProduct.Product = "otherfilter"
	expired := baseKey()
	expired.Issued, expired.Expires = t0.AddDate(-1, 0, 0), t0
	future := baseKey()
	future.Issued, future.Expires = t0.AddDate(0, 1, 0), t0.AddDate(1, 1, 0)

	tests := []struct {
		name    string
		data    []byte
		want    error
		message string
	}{
		{"tampered limit (one byte)", bytes.Replace(good, []byte("Mailboxes: 50"), []byte("Mailboxes: 58"), 1), ErrTampered, "signature does not match"},
		{"tampered signature (one byte)", flipInSignature(good), ErrTampered, "signature does not match"},
		{"wrong product", mustSign(t, otherProduct, iss), ErrWrongProduct, `for "otherfilter"`},
		{"unknown issuer", mustSign(t, baseKey(), stranger), ErrUnknownIssuer, "does not trust"},
		{"expired", mustSign(t, expired, iss), ErrExpired, "expired on 2026-11-01"},
		{"not yet valid", mustSign(t, future, iss), ErrNotYetValid, "valid from 2026-12-01"},
		{"no armour", []byte("Product: scilla\n"), ErrMalformed, "no \"-----BEGIN"},
		{"no end line", bytes.Replace(good, []byte(endLine), nil, 1), ErrMalformed, "no \"-----END"},
		{"text before armour", append([]byte("Dear customer,\n"), good...), ErrMalformed, "text before the armour"},
		{"two keys", append(append([]byte{}, good...), good...), ErrMalformed, "one key per file"},
		{"missing field", bytes.Replace(good, []byte("Licensee: Example Mail Ltd\n"), nil, 1), ErrMalformed, "a key has 11 fields"},
		{"fields swapped", bytes.Replace(bytes.Replace(good, []byte("Serial: SC-2026-0001"), []byte("Type: X"), 1), []byte("Type: commercial"), []byte("Serial: SC-2026-0001"), 1), ErrMalformed, `field "Type" where Serial belongs`},
		{"bad date", bytes.Replace(good, []byte("Issued: 2026-11-01T00:00:00Z"), []byte("Issued: 1 Nov 2026"), 1), ErrMalformed, "not a UTC time"},
		{"non-canonical number", bytes.Replace(good, []byte("Mailboxes: 50"), []byte("Mailboxes: 050"), 1), ErrMalformed, "canonical"},
		{"trailing space", bytes.Replace(good, []byte("Mailboxes: 50"), []byte("Mailboxes: 50 "), 1), ErrMalformed, "surrounding spaces"},
		{"short signature", replaceLine(good, "Signature: ", "Signature: AAAA"), ErrMalformed, "signature is 3 bytes"},
		{"unknown version", bytes.Replace(good, []byte("Version: 1"), []byte("Version: 2"), 1), ErrMalformed, "version \"2\" is not supported"},
		{"binary", []byte{0xff, 0xfe, 0}, ErrMalformed, "not UTF-8"},
	}
	seen := map[error]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.data, trusted, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
			for _, other := range []error{ErrMalformed, ErrTampered, ErrWrongProduct, ErrUnknownIssuer, ErrExpired, ErrNotYetValid} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %v", err, other)
				}
			}
			seen[tt.want] = err.Error()
		})
	}
	if _, err := Verify(good, trusted, now); err != nil {
		t.Fatalf("good key refused: %v", err)
	}
	crlf := bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n"))
	if _, err := Verify(append([]byte("\n\n"), crlf...), trusted, now); err != nil {
		t.Fatalf("CRLF key with blank lines around it refused: %v", err)
	}
	if len(seen) != 6 {
		t.Errorf("want six distinct refusal kinds, got %d", len(seen))
	}
}

func flipInSignature(key []byte) []byte {
	out := append([]byte{}, key...)
	i := bytes.Index(out, []byte("Signature: ")) + len("Signature: ") + 5
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func replaceLine(key []byte, prefix, with string) []byte {
	lines := strings.Split(string(key), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = with
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestSignRefusesBadFields(t *testing.T) {
	iss := testIssuer("a")
	tests := []struct {
		name string
		edit func(*Key)
	}{
		{"serial with space", func(k *Key) { k.Serial = "SC 1" }},
		{"both expiry and period", func(k *Key) { k.Period = 24 * time.Hour }},
		{"neither expiry nor period", func(k *Key) { k.Expires = time.Time{} }},
		{"expiry before issue", func(k *Key) { k.Expires = k.Issued.Add(-time.Hour) }},
		{"partial day period", func(k *Key) { k.Expires, k.Period = time.Time{}, 36*time.Hour }},
		{"newline in licensee", func(k *Key) { k.Licensee = "A\nIssuer: x" }},
		{"empty licensee", func(k *Key) { k.Licensee = "" }},
		{"no type", func(k *Key) { k.Type = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := baseKey()
			tt.edit(&k)
			if _, err := Sign(k, iss); err == nil {
				t.Fatal("Sign accepted the key")
			}
		})
	}
}

func TestIssuerKeyFiles(t *testing.T) {
	priv, pub, err := GenerateIssuer()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !pk.Equal(sk.Public()) {
		t.Fatal("public key does not match the private key")
	}
	if _, err := ParsePrivateKey([]byte(pub)); err == nil {
		t.Error("a public key was accepted as a private key file")
	}
	for _, bad := range []string{"", "ed25519:", "ed25519:AAAA", "rsa:" + strings.TrimPrefix(pub, "ed25519:")} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
	if _, err := NewIssuers(nil); err != nil {
		t.Fatalf("built-in issuers do not parse: %v", err)
	}
}

// FuzzParse: no input crashes the parser, and whatever it accepts is the
// canonical rendering of what it parsed.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"commercial.key", "period.key", "malformed-fields.key"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(beginLine + "\n" + endLine + "\n"))
	trusted := trustOnly(f, testIssuer("golden"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data, trusted)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		if !strings.Contains(text, k.body()) {
			t.Fatalf("accepted key is not in canonical form:\n%s", data)
		}
	})
}

// FuzzIssuerKeys: issuer key texts from config files and key files never
// crash their parsers, and an accepted public key round-trips.
func FuzzIssuerKeys(f *testing.F) {
	priv := testIssuer("golden")
	f.Add(FormatPublicKey(priv.Public().(ed25519.PublicKey)))
	f.Add(string(FormatPrivateKey(priv)))
	f.Add("ed25519:")
	f.Fuzz(func(t *testing.T, s string) {
		if pub, err := ParsePublicKey(s); err == nil {
			if again, err := ParsePublicKey(FormatPublicKey(pub)); err != nil || !again.Equal(pub) {
				t.Fatalf("%q does not round-trip", s)
			}
		}
		if sk, err := ParsePrivateKey([]byte(s)); err == nil && len(sk) != ed25519.PrivateKeySize {
			t.Fatalf("%q gave a private key of %d bytes", s, len(sk))
		}
	})
}
