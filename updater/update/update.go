// Package update keeps the content filtration database current (DESIGN §7):
// it pulls a signed bundle (updater/bundle) from an HTTP(S) server or a
// directory, downloads only the files that changed since the installed
// version, verifies the signature, sizes and SHA-256 digests before anything
// is installed, and installs the new version next to the old one, switching
// a `current` symlink atomically so the old version stays for rollback.
//
// The package does not decode the database (server/contentdb does, through
// the Load hook, before `current` moves) and does not schedule runs or swap
// the running engine's database (server/daemon does).
package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/updater/bundle"
)

// Limits on what is read from a source before the signature is checked.
const (
	maxManifest  = 1 << 20 // bundle's own manifest limit
	maxSignature = 4 << 10
)

// Errors of an update run, besides bundle's (ErrSignature, ErrIntegrity,
// ErrFormat, ErrManifest, ErrMissing) and the licence's refusal.
var (
	ErrDowngrade  = errors.New("update: the source's version does not sort after the installed one")
	ErrNoPrevious = errors.New("update: no previous version to roll back to")
)

// Licence decides whether a database released at a time may be installed
// (licensing.Manager.AllowsDatabase).
type Licence interface {
	AllowsDatabase(released time.Time) error
}

// Options configure an Updater.
type Options struct {
	// Store is where versions are installed.
	Store *Store
	// Source is where bundles are fetched from; not needed for Rollback.
	Source Source
	// Trusted are the publisher keys; a bundle must be signed by one.
	Trusted []ed25519.PublicKey
	// Licence refuses versions the licence does not cover; nil allows all.
	Licence Licence
	// Load fully loads a version's directory the way the server will
	// serve it; an error refuses the version and `current` does not move.
	// Nil only verifies the bundle (bundle.OpenDir).
	Load func(dir string) error
	Log  *slog.Logger
}

// Updater runs updates and rollbacks. Runs must not overlap (the caller
// serialises them).
type Updater struct{ o Options }

// New returns an updater.
func New(o Options) (*Updater, error) {
	if o.Store == nil {
		return nil, errors.New("update: no store")
	}
	if len(o.Trusted) == 0 {
		return nil, errors.New("update: no trusted publisher keys (content.trusted_keys): updates must be signed")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Load == nil {
		o.Load = func(dir string) error {
			_, err := bundle.OpenDir(dir, o.Trusted)
			return err
		}
	}
	return &Updater{o: o}, nil
}

// Result is what a run did.
type Result struct {
	// From is the version installed before the run ("" for none), To the
	// one installed after it.
	From, To string
	// Changed is true when `current` moved.
	Changed bool
	// Fetched and Reused count the data files downloaded and taken from
	// the installed version; Bytes is what was downloaded, manifest and
	// signature included.
	Fetched, Reused int
	Bytes           int64
	// Note explains a run that changed nothing, e.g. "up to date".
	Note string
}

// Update checks the source and installs its version when it is newer
// than the installed one.
func (u *Updater) Update(ctx context.Context) (res Result, err error) {
	src := u.o.Source
	if src == nil {
		return res, errors.New("update: no source")
	}
	st := u.o.Store
	// Leftovers of an interrupted run go first.
	if err := st.prune(); err != nil {
		u.o.Log.Warn("database store: cleaning up", "err", err)
	}
	cur, err := st.Current()
	if err != nil {
		// Damaged by hand: install the source's version as on a fresh
		// install rather than fail on every run.
		u.o.Log.Warn("database store: the installed version is unreadable; installing afresh", "err", err)
		cur = nil
	}
	if cur != nil {
		res.From, res.To = cur.Version, cur.Version
	}

	var mb, sb bytes.Buffer
	n, err := src.Fetch(ctx, bundle.ManifestName, maxManifest, &mb)
	res.Bytes += n
	if err != nil {
		return res, fmt.Errorf("update from %s: manifest: %w", src, err)
	}
	n, err = src.Fetch(ctx, bundle.SignatureName, maxSignature, &sb)
	res.Bytes += n
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: %w", bundle.ErrSignature, err)
		}
		return res, fmt.Errorf("update from %s: signature: %w", src, err)
	}
	m, err := VerifyManifest(mb.Bytes(), sb.Bytes(), u.o.Trusted)
	if err != nil {
		return res, fmt.Errorf("update from %s: %w", src, err)
	}
	if !validVersionName(m.Version) {
		return res, fmt.Errorf("update from %s: %w: version %q cannot name a directory", src, bundle.ErrManifest, m.Version)
	}
	switch {
	case cur != nil && m.Version == cur.Version:
		res.Note = "up to date"
		return res, nil
	case m.Version == st.rolledBack():
		res.Note = "version " + m.Version + " was rolled back; waiting for a newer one"
		return res, nil
	case cur != nil && CompareVersions(m.Version, cur.Version) <= 0:
		return res, fmt.Errorf("update from %s: %w: offered %s, installed %s", src, ErrDowngrade, m.Version, cur.Version)
	}
	if u.o.Licence != nil {
		if err := u.o.Licence.AllowsDatabase(m.Created); err != nil {
			return res, fmt.Errorf("update to %s (created %s) refused: %w", m.Version, m.Created.UTC().Format(time.RFC3339), err)
		}
	}

	tmp, err := st.tempDir()
	if err != nil {
		return res, err
	}
	defer func() {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}()
	for _, f := range m.Files {
		if old, ok := unchanged(cur, f); ok {
			if err := reuse(filepath.Join(cur.Path, old.Name), filepath.Join(tmp, f.Name), f); err == nil {
				res.Reused++
				continue
			} else {
				u.o.Log.Warn("database store: installed file damaged, downloading it again", "file", f.Name, "err", err)
				_ = os.Remove(filepath.Join(tmp, f.Name))
			}
		}
		n, err := fetchFile(ctx, src, tmp, f)
		res.Bytes += n
		if err != nil {
			return res, fmt.Errorf("update to %s from %s: %w", m.Version, src, err)
		}
		res.Fetched++
	}
	for name, data := range map[string][]byte{bundle.ManifestName: mb.Bytes(), bundle.SignatureName: sb.Bytes()} {
		if err := writeSynced(filepath.Join(tmp, name), data); err != nil {
			return res, fmt.Errorf("update to %s: %w", m.Version, err)
		}
	}
	dir, err := st.commit(tmp, m.Version)
	if err != nil {
		return res, err
	}
	tmp = ""
	if err := u.o.Load(dir); err != nil {
		_ = os.RemoveAll(dir)
		return res, fmt.Errorf("update to %s: the new version does not load, the installed one keeps serving: %w", m.Version, err)
	}
	if err := st.switchTo(m.Version); err != nil {
		return res, fmt.Errorf("update to %s: %w", m.Version, err)
	}
	res.To, res.Changed = m.Version, true
	u.o.Log.Info("database installed", "from", res.From, "to", res.To, "source", src.String(),
		"fetched", res.Fetched, "reused", res.Reused, "bytes", res.Bytes)
	return res, nil
}

// Rollback makes the previous version current again, after loading it
// through Load. The version rolled back from is not installed again by
// Update; a newer one is.
func (u *Updater) Rollback(ctx context.Context) (res Result, err error) {
	st := u.o.Store
	cur, err := st.Current()
	if err != nil {
		return res, fmt.Errorf("roll back: installed version: %w", err)
	}
	prev, err := st.Previous()
	if err != nil {
		return res, fmt.Errorf("roll back: %w", err)
	}
	if cur == nil || prev == nil {
		return res, ErrNoPrevious
	}
	res.From = cur.Version
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("roll back: %w", err)
	}
	if err := u.o.Load(prev.Path); err != nil {
		return res, fmt.Errorf("roll back to %s: it does not load: %w", prev.Version, err)
	}
	if err := st.rollback(cur.Version, prev.Version); err != nil {
		return res, err
	}
	res.To, res.Changed = prev.Version, true
	u.o.Log.Warn("database rolled back", "from", res.From, "to", res.To)
	return res, nil
}

// unchanged returns the installed version's entry for f when it has the
// same content.
func unchanged(cur *Installed, f bundle.File) (bundle.File, bool) {
	if cur == nil {
		return bundle.File{}, false
	}
	for _, old := range cur.Manifest.Files {
		if old.SHA256 == f.SHA256 && old.Size == f.Size {
			return old, true
		}
	}
	return bundle.File{}, false
}

// fetchFile downloads f into dir, checking size and digest while the bytes
// stream, and fsyncs it.
func fetchFile(ctx context.Context, src Source, dir string, f bundle.File) (int64, error) {
	out, err := os.OpenFile(filepath.Join(dir, f.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer out.Close()
	v := newVerifier(out, f)
	n, err := src.Fetch(ctx, f.Name, f.Size, v)
	if errors.Is(err, ErrTooLarge) {
		return n, fmt.Errorf("%w: %s is larger than the manifest's %d bytes: %w", bundle.ErrIntegrity, f.Name, f.Size, err)
	}
	if errors.Is(err, ErrNotFound) {
		return n, fmt.Errorf("%w: %s: %w", bundle.ErrMissing, f.Name, err)
	}
	if err != nil {
		return n, err
	}
	if err := v.check(); err != nil {
		return n, err
	}
	if err := out.Sync(); err != nil {
		return n, fmt.Errorf("%s: %w", f.Name, err)
	}
	return n, out.Close()
}

// verifier hashes and counts what is written through it.
type verifier struct {
	w io.Writer
	f bundle.File
	h hash.Hash
	n int64
}

func newVerifier(w io.Writer, f bundle.File) *verifier {
	return &verifier{w: w, f: f, h: sha256.New()}
}

func (v *verifier) Write(p []byte) (int, error) {
	if v.n+int64(len(p)) > v.f.Size {
		return 0, fmt.Errorf("%w: %s is larger than the manifest's %d bytes", bundle.ErrIntegrity, v.f.Name, v.f.Size)
	}
	v.h.Write(p)
	v.n += int64(len(p))
	return v.w.Write(p)
}

// check reports whether exactly the manifest's bytes went through.
func (v *verifier) check() error {
	if v.n != v.f.Size {
		return fmt.Errorf("%w: %s is %d bytes, manifest says %d", bundle.ErrIntegrity, v.f.Name, v.n, v.f.Size)
	}
	if hex.EncodeToString(v.h.Sum(nil)) != v.f.SHA256 {
		return fmt.Errorf("%w: %s SHA-256 differs", bundle.ErrIntegrity, v.f.Name)
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// VerifyManifest checks the manifest's signature (manifest.sig: base64 of
// an ed25519 signature of the manifest's exact bytes) against the trusted
// keys, then parses the manifest. It is bundle.Open's check done before
// any data file is fetched.
func VerifyManifest(manifest, sig []byte, trusted []ed25519.PublicKey) (*bundle.Manifest, error) {
	if len(trusted) == 0 {
		return nil, fmt.Errorf("%w: no trusted keys", bundle.ErrSignature)
	}
	if err := bundle.VerifySignature(manifest, sig, trusted); err != nil {
		return nil, err
	}
	return bundle.ParseManifest(manifest)
}

// CompareVersions orders database versions: runs of digits compare as
// numbers ("9" < "10", "2026112201" < "2026112202"), other runs as text.
// It returns -1, 0 or +1.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da != db {
			// A number sorts before text, as "1" < "a" in ASCII.
			if da {
				return -1
			}
			return 1
		}
		ra, rest1 := run(a, da)
		rb, rest2 := run(b, db)
		if da {
			ta, tb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if c := cmpInt(len(ta), len(tb)); c != 0 {
				return c
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
		} else if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
		a, b = rest1, rest2
	}
	if c := cmpInt(len(a), len(b)); c != 0 {
		return c
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// run splits s into its leading run of digits (digits true) or non-digits.
func run(s string, digits bool) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}
	return s[:i], s[i:]
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
