package bundle

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var created = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func files() map[string][]byte {
	return map[string][]byte{"a.rules": []byte("[c]\n"), "b.tokens": []byte("tokens")}
}

func TestWriteOpen(t *testing.T) {
	dir := t.TempDir()
	m, err := Write(dir, "2026112201", created, files(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Manifest.Version != "2026112201" || !v.Manifest.Created.Equal(created) || string(v.Files["b.tokens"]) != "tokens" {
		t.Errorf("got %+v", v.Manifest)
	}
	if string(m.Marshal()) != string(v.Manifest.Marshal()) {
		t.Error("manifest does not round-trip")
	}
}

func TestRefusesBrokenBundles(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	cases := []struct {
		name    string
		key     ed25519.PrivateKey
		trusted []ed25519.PublicKey
		spoil   func(dir string)
		want    error
	}{
		{"bad hash", nil, nil, func(d string) { os.WriteFile(filepath.Join(d, "b.tokens"), []byte("tokenz"), 0o644) }, ErrIntegrity},
		{"bad size", nil, nil, func(d string) { os.WriteFile(filepath.Join(d, "b.tokens"), []byte("tokens!"), 0o644) }, ErrIntegrity},
		{"missing file", nil, nil, func(d string) { os.Remove(filepath.Join(d, "a.rules")) }, ErrMissing},
		{"missing manifest", nil, nil, func(d string) { os.Remove(filepath.Join(d, ManifestName)) }, ErrMissing},
		{"wrong format version", nil, nil, func(d string) { edit(d, `"format": 1`, `"format": 2`) }, ErrFormat},
		{"unknown field", nil, nil, func(d string) { edit(d, `"format": 1,`, `"format": 1, "extra": true,`) }, ErrManifest},
		{"unsafe name", nil, nil, func(d string) { edit(d, `"a.rules"`, `"../a.rules"`) }, ErrManifest},
		{"unsigned but key required", nil, []ed25519.PublicKey{pub}, func(string) {}, ErrSignature},
		{"signed by an unknown key", priv, []ed25519.PublicKey{otherPub}, func(string) {}, ErrSignature},
		{"manifest changed after signing", priv, []ed25519.PublicKey{pub}, func(d string) { edit(d, "2026112201", "2026112299") }, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(dir, "2026112201", created, files(), c.key); err != nil {
				t.Fatal(err)
			}
			c.spoil(dir)
			_, err := OpenDir(dir, c.trusted)
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	// A good signature by a trusted key passes.
	dir := t.TempDir()
	if _, err := Write(dir, "2026112201", created, files(), priv); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir, []ed25519.PublicKey{otherPub, pub}); err != nil {
		t.Errorf("signed bundle refused: %v", err)
	}
}

func edit(dir, old, new string) {
	p := filepath.Join(dir, ManifestName)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
}

func FuzzParseManifest(f *testing.F) {
	m, _ := Build("1", created, files())
	f.Add(m.Marshal())
	if b, err := os.ReadFile("../../server/contentdb/default/manifest.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if _, err := ParseManifest(m.Marshal()); err != nil {
			t.Errorf("accepted manifest does not re-parse: %v", err)
		}
		for _, f := range m.Files {
			if !ValidName(f.Name) || strings.ContainsAny(f.Name, "/\\") {
				t.Errorf("unsafe name %q accepted", f.Name)
			}
		}
	})
}
