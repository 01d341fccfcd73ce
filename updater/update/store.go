package update

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/scilla-mail/scilla/updater/bundle"
)

// Names inside the store directory (STATE_DIR/db).
const (
	// CurrentLink is the symlink to the version scillad serves.
	CurrentLink = "current"
	// PreviousLink is the symlink to the version before it, kept for
	// rollback.
	PreviousLink = "previous"
	// rolledBackFile names the version an admin rolled back from; it is
	// not installed again (a newer one is).
	rolledBackFile = "rolled-back"
	versionPrefix  = "db-"
	tempPrefix     = ".tmp-"
)

// StoreDir returns the store directory of a state directory.
func StoreDir(stateDir string) string { return filepath.Join(stateDir, "db") }

// Store is the on-disk set of installed versions: one directory per
// version (db-VERSION), a `current` symlink switched atomically by
// rename(2) of a temporary symlink, and a `previous` symlink for rollback.
// Only those two versions are kept. A download goes to a temporary
// directory that is fsynced and renamed into place before `current` moves,
// so a crash never leaves `current` pointing at a half-written version.
//
// A Store is used by one updater at a time (the caller serialises runs).
type Store struct{ dir string }

// OpenStore opens (creating if needed) the store in dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open database store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store directory.
func (s *Store) Dir() string { return s.dir }

// Installed is an installed version.
type Installed struct {
	Version string
	// Path is the version's directory.
	Path     string
	Manifest *bundle.Manifest
}

// Current returns the version `current` points at; nil when none is
// installed.
func (s *Store) Current() (*Installed, error) { return s.installed(CurrentLink) }

// Previous returns the version kept for rollback; nil when there is none.
func (s *Store) Previous() (*Installed, error) { return s.installed(PreviousLink) }

func (s *Store) installed(link string) (*Installed, error) {
	target, err := os.Readlink(filepath.Join(s.dir, link))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s link: %w", link, err)
	}
	version, ok := strings.CutPrefix(target, versionPrefix)
	if !ok || !validVersionName(version) {
		return nil, fmt.Errorf("read %s link: unexpected target %q", link, target)
	}
	path := filepath.Join(s.dir, target)
	mb, err := os.ReadFile(filepath.Join(path, bundle.ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read %s version %s: %w", link, version, err)
	}
	m, err := bundle.ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("read %s version %s: %w", link, version, err)
	}
	if m.Version != version {
		return nil, fmt.Errorf("read %s version: directory %s holds version %q", link, target, m.Version)
	}
	return &Installed{Version: version, Path: path, Manifest: m}, nil
}

// validVersionName reports whether a manifest version is safe as part of
// a directory name (bundle allows "." and ".." as versions).
func validVersionName(v string) bool { return bundle.ValidName(v) }

// versionPath is the directory of a version.
func (s *Store) versionPath(version string) string {
	return filepath.Join(s.dir, versionPrefix+version)
}

// tempDir makes a fresh temporary directory inside the store.
func (s *Store) tempDir() (string, error) {
	d, err := os.MkdirTemp(s.dir, tempPrefix)
	if err != nil {
		return "", fmt.Errorf("create download directory: %w", err)
	}
	return d, nil
}

// commit fsyncs tmp and renames it to the version's directory, replacing
// a leftover of the same version (from a crash or a refused load).
func (s *Store) commit(tmp, version string) (string, error) {
	if err := syncDir(tmp); err != nil {
		return "", fmt.Errorf("install %s: %w", version, err)
	}
	dst := s.versionPath(version)
	if err := os.RemoveAll(dst); err != nil {
		return "", fmt.Errorf("install %s: remove leftover: %w", version, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("install %s: %w", version, err)
	}
	if err := syncDir(s.dir); err != nil {
		return "", fmt.Errorf("install %s: %w", version, err)
	}
	return dst, nil
}

// setLink points link at version ("" removes it) atomically: a temporary
// symlink renamed over the old one.
func (s *Store) setLink(link, version string) error {
	p := filepath.Join(s.dir, link)
	if version == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s link: %w", link, err)
		}
		return nil
	}
	tmp := filepath.Join(s.dir, tempPrefix+link)
	_ = os.Remove(tmp)
	if err := os.Symlink(versionPrefix+version, tmp); err != nil {
		return fmt.Errorf("switch %s to %s: %w", link, version, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("switch %s to %s: %w", link, version, err)
	}
	return nil
}

// switchTo makes version current and the old current previous, then
// removes every other version.
func (s *Store) switchTo(version string) error {
	cur, err := s.Current()
	if err != nil {
		cur = nil // unreadable: nothing worth keeping for rollback
	}
	// previous first: if we stop between the two renames, current is
	// still the old version and previous the same, which is consistent.
	if cur != nil && cur.Version != version {
		if err := s.setLink(PreviousLink, cur.Version); err != nil {
			return err
		}
	}
	if err := s.setLink(CurrentLink, version); err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("switch to %s: %w", version, err)
	}
	return s.prune()
}

// rollback makes previous current and forgets the version rolled back
// from, which is recorded so that it is not installed again.
func (s *Store) rollback(from, to string) error {
	if err := os.WriteFile(filepath.Join(s.dir, rolledBackFile), []byte(from+"\n"), 0o640); err != nil {
		return fmt.Errorf("roll back: %w", err)
	}
	if err := s.setLink(CurrentLink, to); err != nil {
		return err
	}
	if err := s.setLink(PreviousLink, ""); err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("roll back: %w", err)
	}
	return s.prune()
}

// rolledBack returns the version an admin rolled back from ("" for none).
func (s *Store) rolledBack() string {
	b, err := os.ReadFile(filepath.Join(s.dir, rolledBackFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// prune removes versions other than current and previous, and temporary
// directories left by an interrupted run.
func (s *Store) prune() error {
	keep := map[string]bool{}
	for _, link := range []string{CurrentLink, PreviousLink} {
		if t, err := os.Readlink(filepath.Join(s.dir, link)); err == nil {
			keep[t] = true
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("prune old versions: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if keep[name] || !strings.HasPrefix(name, versionPrefix) && !strings.HasPrefix(name, tempPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("prune old versions: %w", errors.Join(errs...))
	}
	return nil
}

// syncDir fsyncs a directory so renames and new entries in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// reuse puts a file of the installed version into dst: a hard link when
// possible, else a copy. The file is hashed on the way (the link shares
// the bytes, so hashing reads them) and refused when it no longer matches,
// so a file damaged on disk is downloaded again instead.
func reuse(src, dst string, f bundle.File) error {
	if err := checkFile(src, f); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkFile verifies a file on disk against its manifest entry.
func checkFile(path string, f bundle.File) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	v := newVerifier(io.Discard, f)
	if _, err := io.Copy(v, io.LimitReader(in, f.Size+1)); err != nil {
		return err
	}
	return v.check()
}
