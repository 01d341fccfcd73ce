package update

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/bayes"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/updater/bundle"
	"github.com/scilla-mail/scilla/updater/update/updatetest"
)

var created = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// publisher is a bundle directory served over HTTP on 127.0.0.1, counting
// requests per file and able to cut one file's response in the middle.
type publisher struct {
	t   *testing.T
	dir string
	key ed25519.PrivateKey
	ts  *httptest.Server

	mu   sync.Mutex
	hits map[string]int
	cut  string // file whose next response is cut half way
}

func newPublisher(t *testing.T) *publisher {
	p := &publisher{t: t, dir: filepath.Join(t.TempDir(), "pub"), key: updatetest.Key("publisher"), hits: map[string]int{}}
	p.ts = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.ts.Close)
	return p
}

func (p *publisher) serve(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	p.mu.Lock()
	p.hits[name]++
	cut := p.cut == name
	if cut {
		p.cut = ""
	}
	p.mu.Unlock()
	if cut {
		data, _ := os.ReadFile(filepath.Join(p.dir, name))
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			p.t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ")
		buf.WriteString(strconv.Itoa(len(data)) + "\r\n\r\n")
		buf.Write(data[:len(data)/2])
		buf.Flush()
		return
	}
	http.ServeFile(w, r, filepath.Join(p.dir, name))
}

// publish replaces the published bundle with version, whose rules file
// carries marker.
func (p *publisher) publish(version, marker string) *bundle.Manifest {
	return updatetest.Publish(p.t, p.dir, version, created, contentdbtest.Files(p.t, marker), p.key)
}

func (p *publisher) requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.hits
	p.hits = map[string]int{}
	return out
}

func (p *publisher) source() Source {
	src, err := NewSource(mustParse(p.t, p.ts.URL+"/bundle/"), "")
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(src.Close)
	return src
}

func mustParse(t *testing.T, s string) SourceSpec {
	t.Helper()
	spec, err := ParseSource(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func trusted() []ed25519.PublicKey {
	return []ed25519.PublicKey{updatetest.Key("publisher").Public().(ed25519.PublicKey)}
}

// newUpdater returns an updater on a fresh store that loads versions the
// way scillad does (contentdb.LoadDir).
func newUpdater(t *testing.T, src Source, lic Licence) (*Updater, *Store) {
	t.Helper()
	st, err := OpenStore(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(Options{
		Store: st, Source: src, Trusted: trusted(), Licence: lic,
		Load: func(dir string) error { _, err := contentdb.LoadDir(dir, trusted()); return err },
		Log:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u, st
}

// checkStore asserts the installed version and that nothing else is left
// in the store: no temporary directories, at most current and previous.
func checkStore(t *testing.T, st *Store, want string) {
	t.Helper()
	cur, err := st.Current()
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	if cur != nil {
		got = cur.Version
		if _, err := contentdb.LoadDir(filepath.Join(st.Dir(), CurrentLink), trusted()); err != nil {
			t.Errorf("current does not load: %v", err)
		}
	}
	if got != want {
		t.Errorf("current is %q, want %q", got, want)
	}
	entries, _ := os.ReadDir(st.Dir())
	versions := 0
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), tempPrefix):
			t.Errorf("left over: %s", e.Name())
		case strings.HasPrefix(e.Name(), versionPrefix):
			versions++
		}
	}
	if versions > 2 {
		t.Errorf("%d versions kept, want current and previous only", versions)
	}
}

func runOnce(t *testing.T, u *Updater) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return u.Update(ctx)
}

func mustRun(t *testing.T, u *Updater) Result {
	t.Helper()
	res, err := runOnce(t, u)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestHTTPUpdates(t *testing.T) {
	p := newPublisher(t)
	u, st := newUpdater(t, p.source(), nil)

	// Fresh install: every file.
	p.publish("2026112201", "a")
	res := mustRun(t, u)
	if !res.Changed || res.From != "" || res.To != "2026112201" || res.Fetched != len(contentdb.Files) || res.Reused != 0 {
		t.Errorf("fresh install: %+v", res)
	}
	checkStore(t, st, "2026112201")
	p.requests()

	// Same version: the manifest and signature only.
	res = mustRun(t, u)
	if res.Changed || res.Note != "up to date" {
		t.Errorf("same version: %+v", res)
	}
	if got := p.requests(); len(got) != 2 || got[bundle.ManifestName] != 1 || got[bundle.SignatureName] != 1 {
		t.Errorf("same version fetched %v, want the manifest and signature only", got)
	}

	// One changed file: only it is fetched, the others are reused.
	p.publish("2026112202", "b")
	res = mustRun(t, u)
	if !res.Changed || res.From != "2026112201" || res.To != "2026112202" || res.Fetched != 1 || res.Reused != len(contentdb.Files)-1 {
		t.Errorf("one changed file: %+v", res)
	}
	if got := p.requests(); len(got) != 3 || got[contentdb.RulesFile] != 1 {
		t.Errorf("one changed file fetched %v, want manifest, signature and %s", got, contentdb.RulesFile)
	}
	checkStore(t, st, "2026112202")
	if prev, _ := st.Previous(); prev == nil || prev.Version != "2026112201" {
		t.Errorf("previous is %+v, want 2026112201", prev)
	}

	// A third version drops the first from disk.
	p.publish("2026112210", "c")
	mustRun(t, u)
	checkStore(t, st, "2026112210")
	if _, err := os.Stat(st.versionPath("2026112201")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the version before previous is still on disk: %v", err)
	}
}

// TestRefusedBundles: each broken bundle is refused with its error and the
// installed version keeps serving.
func TestRefusedBundles(t *testing.T) {
	other := updatetest.Key("someone else")
	cases := []struct {
		name  string
		spoil func(p *publisher)
		want  error
	}{
		{"bad signature", func(p *publisher) {
			updatetest.Publish(t, p.dir, "2026112202", created, contentdbtest.Files(t, "b"), other)
		}, bundle.ErrSignature},
		{"unsigned", func(p *publisher) {
			updatetest.Publish(t, p.dir, "2026112202", created, contentdbtest.Files(t, "b"), nil)
		}, bundle.ErrSignature},
		{"tampered file", func(p *publisher) {
			p.publish("2026112202", "b")
			write(t, filepath.Join(p.dir, contentdb.RulesFile), "[x]\nX_RULE 1 body: never matches this z -- x\n")
		}, bundle.ErrIntegrity},
		{"missing file", func(p *publisher) {
			p.publish("2026112202", "b")
			os.Remove(filepath.Join(p.dir, contentdb.RulesFile))
		}, bundle.ErrMissing},
		{"oversized file", func(p *publisher) {
			p.publish("2026112202", "b")
			f, _ := os.OpenFile(filepath.Join(p.dir, contentdb.RulesFile), os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 1<<20))
			f.Close()
		}, bundle.ErrIntegrity},
		{"unknown format", func(p *publisher) {
			p.publish("2026112202", "b")
			resign(t, p, `"format": 1`, `"format": 2`)
		}, bundle.ErrFormat},
		{"downgrade", func(p *publisher) { p.publish("2026112101", "old") }, ErrDowngrade},
		{"same version number written differently", func(p *publisher) { p.publish("02026112201", "b") }, ErrDowngrade},
		{"version naming no directory", func(p *publisher) {
			p.publish("2026112202", "b")
			resign(t, p, `"version": "2026112202"`, `"version": ".."`)
		}, bundle.ErrManifest},
		{"database that does not load", func(p *publisher) {
			files := contentdbtest.Files(t, "b")
			files[contentdb.RulesFile] = []byte("this is not a rule file\n")
			updatetest.Publish(t, p.dir, "2026112202", created, files, p.key)
		}, bundle.ErrManifest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPublisher(t)
			u, st := newUpdater(t, p.source(), nil)
			p.publish("2026112201", "a")
			mustRun(t, u)
			c.spoil(p)
			_, err := runOnce(t, u)
			if c.name == "database that does not load" {
				// The rules parser's error, not a bundle one.
				if err == nil || !strings.Contains(err.Error(), "does not load") {
					t.Errorf("got %v, want a load failure", err)
				}
			} else if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
			checkStore(t, st, "2026112201")
			if _, err := os.Stat(st.versionPath("2026112202")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("refused version left on disk: %v", err)
			}
		})
	}
}

// resign edits the published manifest and signs the result, as a
// publisher with the key would.
func resign(t *testing.T, p *publisher, old, new string) {
	t.Helper()
	mp := filepath.Join(p.dir, bundle.ManifestName)
	b, _ := os.ReadFile(mp)
	nb := strings.Replace(string(b), old, new, 1)
	if nb == string(b) {
		t.Fatalf("manifest has no %s", old)
	}
	write(t, mp, nb)
	write(t, filepath.Join(p.dir, bundle.SignatureName), base64.StdEncoding.EncodeToString(ed25519.Sign(p.key, []byte(nb)))+"\n")
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRollback(t *testing.T) {
	p := newPublisher(t)
	u, st := newUpdater(t, p.source(), nil)
	ctx := context.Background()
	if _, err := u.Rollback(ctx); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("rollback with nothing installed: %v", err)
	}
	p.publish("2026112201", "a")
	mustRun(t, u)
	if _, err := u.Rollback(ctx); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("rollback with one version: %v", err)
	}
	p.publish("2026112202", "b")
	mustRun(t, u)

	res, err := u.Rollback(ctx)
	if err != nil || res.From != "2026112202" || res.To != "2026112201" {
		t.Fatalf("rollback: %+v, %v", res, err)
	}
	checkStore(t, st, "2026112201")
	// The version rolled back from is not installed again...
	res = mustRun(t, u)
	if res.Changed || !strings.Contains(res.Note, "rolled back") {
		t.Errorf("after rollback: %+v", res)
	}
	checkStore(t, st, "2026112201")
	// ...a newer one is.
	p.publish("2026112203", "c")
	res = mustRun(t, u)
	if !res.Changed || res.To != "2026112203" {
		t.Errorf("newer after rollback: %+v", res)
	}
	checkStore(t, st, "2026112203")
}

func TestInterruptedDownload(t *testing.T) {
	p := newPublisher(t)
	u, st := newUpdater(t, p.source(), nil)
	p.publish("2026112201", "a")
	mustRun(t, u)

	p.publish("2026112202", "b")
	p.cut = contentdb.RulesFile
	if _, err := runOnce(t, u); err == nil {
		t.Fatal("cut download accepted")
	}
	checkStore(t, st, "2026112201")
	if _, err := os.Stat(st.versionPath("2026112202")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half version on disk: %v", err)
	}
	// A crash mid-download leaves a temporary directory; the next run
	// removes it and installs.
	if err := os.MkdirAll(filepath.Join(st.Dir(), tempPrefix+"crashed", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := mustRun(t, u); res.To != "2026112202" {
		t.Errorf("retry: %+v", res)
	}
	checkStore(t, st, "2026112202")
}

// TestProxy: with update.proxy set, every request goes through the proxy.
func TestProxy(t *testing.T) {
	p := newPublisher(t)
	p.publish("2026112201", "a")
	var mu sync.Mutex
	proxied := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		proxied++
		mu.Unlock()
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), nil)
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	src, err := NewSource(mustParse(t, p.ts.URL+"/bundle"), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	u, st := newUpdater(t, src, nil)
	mustRun(t, u)
	checkStore(t, st, "2026112201")
	if want := 2 + len(contentdb.Files); proxied != want {
		t.Errorf("%d requests through the proxy, want %d", proxied, want)
	}
}

func TestDirectorySource(t *testing.T) {
	for _, scheme := range []string{"", "file://"} {
		t.Run("scheme "+scheme, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pub")
			src, err := NewSource(mustParse(t, scheme+dir), "")
			if err != nil {
				t.Fatal(err)
			}
			u, st := newUpdater(t, src, nil)
			key := updatetest.Key("publisher")
			updatetest.Publish(t, dir, "2026112201", created, contentdbtest.Files(t, "a"), key)
			mustRun(t, u)
			checkStore(t, st, "2026112201")
			updatetest.Publish(t, dir, "2026112202", created, contentdbtest.Files(t, "b"), key)
			if res := mustRun(t, u); res.Fetched != 1 || res.To != "2026112202" {
				t.Errorf("second version: %+v", res)
			}
			// A file bigger than its manifest entry is refused.
			updatetest.Publish(t, dir, "2026112203", created, contentdbtest.Files(t, "c"), key)
			write(t, filepath.Join(dir, contentdb.RulesFile), strings.Repeat("x", 1<<16))
			if _, err := runOnce(t, u); !errors.Is(err, bundle.ErrIntegrity) {
				t.Errorf("oversized file: %v", err)
			}
			checkStore(t, st, "2026112202")
		})
	}
}

func TestParseSource(t *testing.T) {
	for _, c := range []struct {
		in      string
		url, ok bool
	}{
		{"https://db.example.com/scilla/", true, true},
		{"http://127.0.0.1:8080", true, true},
		{"/srv/scilla-db", false, true},
		{"file:///srv/scilla-db", false, true},
		{"srv/scilla-db", false, false},
		{"ftp://db.example.com/", false, false},
		{"https://user:pw@db.example.com/", false, false},
		{"https:///nohost", false, false},
		{"file://host/srv", false, false},
	} {
		spec, err := ParseSource(c.in)
		if (err == nil) != c.ok || c.ok && (spec.URL != nil) != c.url {
			t.Errorf("ParseSource(%q) = %+v, %v", c.in, spec, err)
		}
	}
	// One publisher, the databases of several releases: {tokenizer}.
	v := strconv.Itoa(bayes.TokenizerVersion)
	if spec, err := ParseSource("https://db.example.com/scilla/t{tokenizer}/"); err != nil || spec.URL.Path != "/scilla/t"+v+"/" {
		t.Errorf("URL with {tokenizer}: %+v, %v", spec, err)
	}
	if spec, err := ParseSource("/srv/scilla-db/{tokenizer}"); err != nil || spec.Dir != "/srv/scilla-db/"+v {
		t.Errorf("directory with {tokenizer}: %+v, %v", spec, err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"2026112201", "2026112202", -1},
		{"9", "10", -1},
		{"1.10", "1.9", 1},
		{"2026112201", "2026112201", 0},
		{"default-1", "default-2", -1},
		{"1", "1a", -1},
		{"a", "1", 1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

// TestDamagedStore: a `current` link whose version directory was removed by
// hand does not block updates: the source's version is installed afresh.
func TestDamagedStore(t *testing.T) {
	p := newPublisher(t)
	u, st := newUpdater(t, p.source(), nil)
	p.publish("2026112201", "a")
	mustRun(t, u)
	if err := os.RemoveAll(st.versionPath("2026112201")); err != nil {
		t.Fatal(err)
	}
	if res := mustRun(t, u); !res.Changed || res.From != "" || res.To != "2026112201" {
		t.Errorf("after damage: %+v", res)
	}
	checkStore(t, st, "2026112201")
}
