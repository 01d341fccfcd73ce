package licensing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// builtinIssuers are the public keys of the Scilla publisher's licence
// issuers. Their private halves never leave the publisher; sites that issue
// their own keys add public keys with the license.issuers setting.
var builtinIssuers = []string{
	"ed25519:vmdW5UApiri/Lz0DsSJU+6Gd+hkMSZ7rl9QaYZMQJMw=",
}

// pubPrefix marks the text form of an issuer public key.
const pubPrefix = "ed25519:"

// Private key armour written by GenerateIssuer.
const (
	privBegin = "-----BEGIN SCILLA ISSUER PRIVATE KEY-----"
	privEnd   = "-----END SCILLA ISSUER PRIVATE KEY-----"
)

// IssuerID is the short identifier of an issuer public key written in the
// Issuer field of a key: the first 8 bytes of its SHA-256, in hex.
func IssuerID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func validIssuerID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// FormatPublicKey returns the text form of an issuer public key,
// "ed25519:" followed by the standard base64 of the 32 key bytes.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return pubPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses the text form written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), pubPrefix)
	if !ok {
		return nil, fmt.Errorf("issuer public key %q: want \"ed25519:\" followed by base64", clip(s))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("issuer public key %q: want the base64 of %d bytes", clip(s), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// GenerateIssuer makes a new issuer key pair and returns the private key
// file (armoured seed) and the public key text.
func GenerateIssuer() (privFile []byte, pub string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate issuer key: %w", err)
	}
	return FormatPrivateKey(sk), FormatPublicKey(pk), nil
}

// FormatPrivateKey returns the armoured private key file for sk.
func FormatPrivateKey(sk ed25519.PrivateKey) []byte {
	return []byte(privBegin + "\n" + base64.StdEncoding.EncodeToString(sk.Seed()) + "\n" + privEnd + "\n")
}

// ParsePrivateKey reads a private key file written by GenerateIssuer.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	text := strings.TrimSpace(strings.ReplaceAll(string(data), "\r\n", "\n"))
	parts := strings.Split(text, "\n")
	if len(parts) != 3 || parts[0] != privBegin || parts[2] != privEnd {
		return nil, errors.New("issuer private key: not a SCILLA ISSUER PRIVATE KEY file")
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(parts[1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("issuer private key: damaged key data")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Issuers is a set of trusted issuer public keys by IssuerID.
type Issuers map[string]ed25519.PublicKey

// NewIssuers returns the built-in issuers plus extra, each in the text form
// of FormatPublicKey.
func NewIssuers(extra []string) (Issuers, error) {
	is := Issuers{}
	for _, s := range append(append([]string(nil), builtinIssuers...), extra...) {
		pub, err := ParsePublicKey(s)
		if err != nil {
			return nil, err
		}
		is[IssuerID(pub)] = pub
	}
	return is, nil
}

func (is Issuers) lookup(id string) (ed25519.PublicKey, bool) {
	pub, ok := is[id]
	return pub, ok
}
