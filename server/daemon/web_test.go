package daemon

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/internal/freeport"
	"github.com/scilla-mail/scilla/server/engine"
)

const consoleToken = "console-test-token-0123456789"

// consoleConfig writes a config with the console on a free loopback port
// and returns its path and the console's address.
func consoleConfig(t *testing.T, extra string) (cfgPath, addr string) {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	writeConfig(t, tokenFile, consoleToken+"\n")
	addr = "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
	cfgPath = filepath.Join(dir, "scillad.yaml")
	writeConfig(t, cfgPath, "server:\n  listen: [\"tcp:127.0.0.1:0\"]\nadmin:\n  token_file: "+tokenFile+"\nweb:\n  listen: "+addr+"\n"+extra)
	return cfgPath, addr
}

// browser is an HTTP client with a cookie jar, as a browser keeps the
// session cookie.
func browser(t *testing.T, tr *http.Transport) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr == nil {
		tr = &http.Transport{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr}
}

func fetch(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func signIn(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(url.Values{"token": {consoleToken}, "next": {"/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, page := fetch(t, c, req)
	if code != http.StatusOK || !strings.Contains(page, "<h1>Overview</h1>") {
		t.Fatalf("sign-in did not lead to the overview: %d\n%s", code, page)
	}
	return page
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestWebConsole: the Control Center of a real scillad. Sign in with the
// admin token, see the overview, scan GTUBE through the form and find the
// scan in the statistics.
func TestWebConsole(t *testing.T) {
	cfgPath, addr := consoleConfig(t, "")
	_, _, stop := startDaemon(t, cfgPath, nil)
	defer stop()
	base := "http://" + addr
	c := browser(t, nil)

	// Not signed in: the sign-in page.
	req, _ := http.NewRequest("GET", base+"/statistics", nil)
	if code, page := fetch(t, c, req); code != http.StatusOK || !strings.Contains(page, `name="token"`) {
		t.Fatalf("statistics before signing in: %d\n%s", code, page)
	}
	overview := signIn(t, c, base)
	if !strings.Contains(overview, engine.Version) {
		t.Errorf("the overview does not show the engine version %s:\n%s", engine.Version, overview)
	}
	m := csrfField.FindStringSubmatch(overview)
	if m == nil {
		t.Fatalf("no CSRF token on the overview:\n%s", overview)
	}

	gtube, err := os.ReadFile("../check/gtube/testdata/gtube.eml")
	if err != nil {
		t.Fatal(err)
	}
	scan := func(csrf string) (int, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", csrf)
		mw.WriteField("rcpt_to", "user@example.com")
		mw.WriteField("client_ip", "192.0.2.7")
		fw, _ := mw.CreateFormFile("file", "gtube.eml")
		fw.Write(gtube)
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/scan", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return fetch(t, c, req)
	}
	if code, _ := scan("forged"); code != http.StatusForbidden {
		t.Errorf("scan with a forged CSRF token: %d", code)
	}
	code, page := scan(m[1])
	if code != http.StatusOK || !strings.Contains(page, `<span class="SPAM">SPAM</span>`) || !strings.Contains(page, "<td>GTUBE</td>") || !strings.Contains(page, "X-Spamtest-Status-Extended: SPAM") {
		t.Fatalf("scan of GTUBE: %d\n%s", code, page)
	}

	req, _ = http.NewRequest("GET", base+"/statistics?range=1h", nil)
	code, page = fetch(t, c, req)
	for _, want := range []string{`<th>Messages</th><td class="n">1</td>`, `<td class="SPAM">SPAM</td><td class="n">1</td>`, "<td>example.com</td>", "<td>GTUBE</td>"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("statistics: %d, no %q in\n%s", code, want, page)
		}
	}

	// A script sends the token with each request.
	req, _ = http.NewRequest("GET", base+"/license", nil)
	req.Header.Set("Authorization", "Bearer "+consoleToken)
	if code, page := fetch(t, &http.Client{}, req); code != http.StatusOK || !strings.Contains(page, "<h1>Licence</h1>") {
		t.Errorf("licence page with the bearer token: %d\n%s", code, page)
	}
}

// TestWebConsoleTLS: over web.tls the session cookie is Secure, and with
// web.tls.client_ca_file a browser without a certificate from that CA
// cannot connect.
func TestWebConsoleTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t)
	caFile := filepath.Join(dir, "ca.crt")
	writeConfig(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.caCert.Raw})))
	srvCert, srvKey, _ := ca.issue(t, dir, "console", x509.ExtKeyUsageServerAuth)
	_, _, clientPair := ca.issue(t, dir, "admin", x509.ExtKeyUsageClientAuth)
	cfgPath, addr := consoleConfig(t, "  tls:\n    cert_file: "+srvCert+"\n    key_file: "+srvKey+"\n    client_ca_file: "+caFile+"\n")
	_, _, stop := startDaemon(t, cfgPath, nil)
	defer stop()
	base := "https://" + addr

	without := browser(t, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}})
	if _, err := without.Get(base + "/signin"); err == nil {
		t.Error("a browser without a client certificate connected")
	}
	with := browser(t, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clientPair}}})
	// The sign-in's own answer, to see the cookie's attributes.
	with.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := with.PostForm(base+"/signin", url.Values{"token": {consoleToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly {
		t.Fatalf("sign-in over TLS: %s, cookies %v", resp.Status, cs)
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	if code, page := fetch(t, with, req); code != http.StatusOK || !strings.Contains(page, engine.Version) {
		t.Errorf("overview over TLS: %d\n%s", code, page)
	}
}
