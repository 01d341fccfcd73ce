package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/scilla-mail/scilla/updater/bundle"
)

// Source is where a bundle is published: a directory holding manifest.json,
// manifest.sig and the data files, as `scilla-db build -out DIR` writes it.
type Source interface {
	// Fetch copies the named file of the bundle to w. A file longer than
	// limit bytes is refused with ErrTooLarge once limit+1 bytes were seen,
	// so a hostile source cannot make the caller read without bound.
	Fetch(ctx context.Context, name string, limit int64, w io.Writer) (int64, error)
	// String names the source for logs.
	String() string
	// Close releases idle connections.
	Close()
}

// Errors of fetching.
var (
	ErrTooLarge = errors.New("update: file larger than allowed")
	ErrNotFound = errors.New("update: file not found at the source")
)

// NewSource returns the source for spec. proxy is the proxy URL for an
// http(s) source; "" uses the environment (http.ProxyFromEnvironment).
func NewSource(spec SourceSpec, proxy string) (Source, error) {
	if spec.URL == nil {
		return dirSource{dir: spec.Dir}, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if proxy != "" {
		u, err := parseProxy(proxy)
		if err != nil {
			return nil, fmt.Errorf("update source: proxy: %w", err)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	tr.ResponseHeaderTimeout = time.Minute
	base := *spec.URL
	if base.Path == "" || base.Path[len(base.Path)-1] != '/' {
		base.Path += "/"
		base.RawPath = ""
	}
	return &httpSource{base: &base, client: &http.Client{Transport: tr}, tr: tr}, nil
}

// httpSource fetches from a web server. Deadlines come from the context.
type httpSource struct {
	base   *url.URL
	client *http.Client
	tr     *http.Transport
}

func (s *httpSource) String() string { return s.base.String() }

func (s *httpSource) Close() { s.tr.CloseIdleConnections() }

func (s *httpSource) Fetch(ctx context.Context, name string, limit int64, w io.Writer) (int64, error) {
	if !validFetchName(name) {
		return 0, fmt.Errorf("fetch %q: not a bundle file name", name)
	}
	u := s.base.ResolveReference(&url.URL{Path: name})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", u, err)
	}
	// Every byte is checked against the signed manifest, and a proxy cache
	// serving an old manifest is caught as an old version; still, ask
	// caches not to serve stale copies of a bundle being replaced.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("fetch %s: %w (HTTP %s)", u, ErrNotFound, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("fetch %s: HTTP %s", u, resp.Status)
	case resp.ContentLength > limit:
		return 0, fmt.Errorf("fetch %s: %w: %d bytes, at most %d expected", u, ErrTooLarge, resp.ContentLength, limit)
	}
	n, err := copyLimited(ctx, w, resp.Body, limit)
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", u, err)
	}
	return n, nil
}

// dirSource reads a local or network directory.
type dirSource struct{ dir string }

func (s dirSource) String() string { return s.dir }

func (dirSource) Close() {}

func (s dirSource) Fetch(ctx context.Context, name string, limit int64, w io.Writer) (int64, error) {
	if !validFetchName(name) {
		return 0, fmt.Errorf("fetch %q: not a bundle file name", name)
	}
	path := filepath.Join(s.dir, name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("fetch %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return 0, fmt.Errorf("fetch %s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("fetch %s: not a regular file", path)
	}
	n, err := copyLimited(ctx, w, f, limit)
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", path, err)
	}
	return n, nil
}

func validFetchName(name string) bool {
	return name == bundle.ManifestName || name == bundle.SignatureName || bundle.ValidName(name)
}

// copyLimited copies r to w in chunks, checking ctx between them; more
// than limit bytes is ErrTooLarge.
func copyLimited(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			if n+int64(k) > limit {
				return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
