// Package bundle is the on-disk format of a content filtration database
// (DESIGN §7): a directory of data files and a manifest, manifest.json,
// that names the format version, the database version, the creation time and
// every file with its size and SHA-256. An optional manifest.sig holds an
// ed25519 signature of the manifest's exact bytes, so verifying the manifest
// verifies every file.
//
// The package writes and verifies bundles; it does not know what the files
// mean (server/contentdb does) nor how they travel (the updater does).
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// File names inside a bundle.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// Limits on what a manifest may describe, so a hostile bundle cannot make
// the loader allocate without bound.
const (
	maxManifest = 1 << 20
	maxFiles    = 256
	maxFileSize = 512 << 20
)

// File is one data file of the bundle.
type File struct {
	// Name is a plain file name (no directories).
	Name string `json:"name"`
	Size int64  `json:"size"`
	// SHA256 is the lower-case hex digest of the contents.
	SHA256 string `json:"sha256"`
}

// Manifest describes a bundle.
type Manifest struct {
	// Format is the manifest format version (FormatVersion).
	Format int `json:"format"`
	// Version is the database version, e.g. "2026112201"; newer sorts later.
	Version string `json:"version"`
	// Created is when the database was built (UTC).
	Created time.Time `json:"created"`
	// Files are the data files, sorted by name.
	Files []File `json:"files"`
}

// Errors that classify a refused bundle.
var (
	ErrFormat    = errors.New("bundle: unsupported manifest format")
	ErrManifest  = errors.New("bundle: invalid manifest")
	ErrMissing   = errors.New("bundle: missing file")
	ErrIntegrity = errors.New("bundle: file does not match manifest")
	ErrSignature = errors.New("bundle: bad signature")
)

// ParseManifest decodes and validates a manifest strictly: unknown fields,
// another format version, unsafe or duplicate names, bad digests and
// unreasonable sizes are all refused.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%w: %d bytes is too large", ErrManifest, len(b))
	}
	// Read the format first so a future format gets a clear error rather
	// than an unknown-field complaint.
	var head struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if head.Format != FormatVersion {
		return nil, fmt.Errorf("%w %d (this build reads %d)", ErrFormat, head.Format, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrManifest)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version == "" || len(m.Version) > 64 || strings.ContainsAny(m.Version, "/\\ \t\r\n") {
		return fmt.Errorf("%w: version %q", ErrManifest, m.Version)
	}
	if m.Created.IsZero() {
		return fmt.Errorf("%w: no creation time", ErrManifest)
	}
	if len(m.Files) == 0 || len(m.Files) > maxFiles {
		return fmt.Errorf("%w: %d files", ErrManifest, len(m.Files))
	}
	for i, f := range m.Files {
		if !ValidName(f.Name) {
			return fmt.Errorf("%w: file name %q", ErrManifest, f.Name)
		}
		if i > 0 && m.Files[i-1].Name >= f.Name {
			return fmt.Errorf("%w: files not sorted or duplicate at %q", ErrManifest, f.Name)
		}
		if f.Size < 0 || f.Size > maxFileSize {
			return fmt.Errorf("%w: file %s size %d", ErrManifest, f.Name, f.Size)
		}
		if d, err := hex.DecodeString(f.SHA256); err != nil || len(d) != sha256.Size || strings.ToLower(f.SHA256) != f.SHA256 {
			return fmt.Errorf("%w: file %s digest %q", ErrManifest, f.Name, f.SHA256)
		}
	}
	return nil
}

// ValidName reports whether name is a plain, portable data file name.
func ValidName(name string) bool {
	if name == "" || len(name) > 100 || name == ManifestName || name == SignatureName || name[0] == '.' {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Marshal encodes the manifest deterministically (indented JSON, newline).
func (m *Manifest) Marshal() []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // cannot happen: plain types only
	}
	return append(b, '\n')
}

// Build makes the manifest for files (name → contents).
func Build(version string, created time.Time, files map[string][]byte) (*Manifest, error) {
	m := &Manifest{Format: FormatVersion, Version: version, Created: created.UTC()}
	for name, data := range files {
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, File{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Write writes a bundle into dir (created if needed): the files, the
// manifest and, when key is not nil, its signature. Stale files from an
// earlier bundle are not removed; write into a fresh directory.
func Write(dir, version string, created time.Time, files map[string][]byte, key ed25519.PrivateKey) (*Manifest, error) {
	m, err := Build(version, created, files)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
	}
	mb := m.Marshal()
	if key != nil {
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb)) + "\n"
		if err := os.WriteFile(filepath.Join(dir, SignatureName), []byte(sig), 0o644); err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), mb, 0o644); err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	return m, nil
}

// Verified is a bundle whose manifest (and signature, if required) and files
// all checked out.
type Verified struct {
	Manifest *Manifest
	// Files maps each file name to its verified contents.
	Files map[string][]byte
}

// Open reads and verifies the bundle in fsys. With trusted keys, a valid
// signature by one of them is required; with none, an unsigned bundle is
// accepted (a present signature is then not checked).
func Open(fsys fs.FS, trusted []ed25519.PublicKey) (*Verified, error) {
	mb, err := fs.ReadFile(fsys, ManifestName)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMissing, ManifestName, err)
	}
	if len(trusted) > 0 {
		if err := verifySig(fsys, mb, trusted); err != nil {
			return nil, err
		}
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, err
	}
	v := &Verified{Manifest: m, Files: make(map[string][]byte, len(m.Files))}
	for _, f := range m.Files {
		data, err := fs.ReadFile(fsys, f.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMissing, f.Name, err)
		}
		if int64(len(data)) != f.Size {
			return nil, fmt.Errorf("%w: %s is %d bytes, manifest says %d", ErrIntegrity, f.Name, len(data), f.Size)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			return nil, fmt.Errorf("%w: %s SHA-256 differs", ErrIntegrity, f.Name)
		}
		v.Files[f.Name] = data
	}
	return v, nil
}

// OpenDir reads and verifies the bundle in a directory.
func OpenDir(dir string, trusted []ed25519.PublicKey) (*Verified, error) {
	v, err := Open(os.DirFS(dir), trusted)
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: %w", dir, err)
	}
	return v, nil
}

func verifySig(fsys fs.FS, manifest []byte, trusted []ed25519.PublicKey) error {
	sb, err := fs.ReadFile(fsys, SignatureName)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrSignature, SignatureName, err)
	}
	return VerifySignature(manifest, sb, trusted)
}

// VerifySignature checks sig, the contents of a manifest.sig (base64 of an
// ed25519 signature of the manifest's exact bytes), against the trusted
// keys. Errors wrap ErrSignature.
func VerifySignature(manifest, sig []byte, trusted []ed25519.PublicKey) error {
	s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || len(s) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed %s", ErrSignature, SignatureName)
	}
	for _, k := range trusted {
		if ed25519.Verify(k, manifest, s) {
			return nil
		}
	}
	return fmt.Errorf("%w: no trusted key signed this manifest", ErrSignature)
}
