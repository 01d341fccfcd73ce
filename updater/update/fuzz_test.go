package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/updater/bundle"
	"github.com/scilla-mail/scilla/updater/update/updatetest"
)

// FuzzVerifyManifest: whatever the source sends as manifest and signature,
// only a manifest signed by the trusted key is accepted, and an accepted one
// is valid.
func FuzzVerifyManifest(f *testing.F) {
	key := updatetest.Key("publisher")
	m, err := bundle.Build("2026112201", created, map[string][]byte{"a.rules": []byte("x")})
	if err != nil {
		f.Fatal(err)
	}
	mb := m.Marshal()
	good := []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb)) + "\n")
	f.Add(mb, good)
	f.Add(mb, []byte("not base64"))
	f.Add([]byte(`{"format":1}`), good)
	f.Add([]byte{}, []byte{})
	trusted := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, manifest, sig []byte) {
		got, err := VerifyManifest(manifest, sig, trusted)
		if err != nil {
			return
		}
		s, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
		if derr != nil || !ed25519.Verify(trusted[0], manifest, s) {
			t.Fatal("accepted a manifest the trusted key did not sign")
		}
		if _, err := bundle.ParseManifest(got.Marshal()); err != nil {
			t.Fatalf("accepted manifest does not re-parse: %v", err)
		}
	})
}

// FuzzFetchFile: a body of any length and content served for a file is
// accepted only when it is exactly the manifest's bytes, and never more
// than the manifest's size is kept.
func FuzzFetchFile(f *testing.F) {
	want := []byte("[x]\nX_RULE 1 body: never matches -- x\n")
	f.Add(want, false)
	f.Add(want[:10], true)
	f.Add(append(append([]byte{}, want...), '!'), false)
	f.Add([]byte{}, true)
	sum := sha256.Sum256(want)
	entry := bundle.File{Name: "rules.rules", Size: int64(len(want)), SHA256: hex.EncodeToString(sum[:])}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.Header().Set("Transfer-Encoding", "chunked")
				w.(http.Flusher).Flush()
			}
			w.Write(body)
		}))
		defer ts.Close()
		spec, _ := ParseSource(ts.URL)
		src, err := NewSource(spec, "")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var out bytes.Buffer
		v := newVerifier(&out, entry)
		_, err = src.Fetch(context.Background(), entry.Name, entry.Size, v)
		if err == nil {
			err = v.check()
		}
		if int64(out.Len()) > entry.Size {
			t.Fatalf("kept %d bytes, more than the manifest's %d", out.Len(), entry.Size)
		}
		if (err == nil) != bytes.Equal(body, want) {
			t.Fatalf("body %q: err %v", body, err)
		}
		if err != nil && !bytes.Equal(body, want) && len(body) > len(want) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, bundle.ErrIntegrity) {
			t.Fatalf("oversized body: %v", err)
		}
	})
}

// FuzzCompareVersions: the order is antisymmetric and equal only for
// versions that differ at most in leading zeros.
func FuzzCompareVersions(f *testing.F) {
	f.Add("2026112201", "2026112202")
	f.Add("1.10", "1.9")
	f.Add("default-1", "007")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba {
			t.Fatalf("CompareVersions(%q,%q)=%d but reversed %d", a, b, ab, ba)
		}
		if a == b && ab != 0 {
			t.Fatalf("%q differs from itself", a)
		}
	})
}
