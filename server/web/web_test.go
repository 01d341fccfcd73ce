package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const token = "s3cret-admin-token-0123456789"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     *testing.T
	s     *Server
	f     *fakes
	clock *clock
}

func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	f := &fakes{description: "the GTUBE test string"}
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	o := Options{Admin: f, License: f, Scanner: f, Token: token, MaxMessageBytes: 1 << 20, Now: c.now}
	for _, fn := range opts {
		fn(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s, f: f, clock: c}
}

// request is one request to the console.
type request struct {
	method, path string
	form         url.Values // urlencoded body
	body         io.Reader  // or a raw body with contentType
	contentType  string
	cookie       *http.Cookie
	bearer       string
	remote       string
}

func (h *harness) do(r request) *http.Response {
	h.t.Helper()
	body := r.body
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
		r.contentType = "application/x-www-form-urlencoded"
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	h.s.ServeHTTP(w, req)
	return w.Result()
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in and returns the session cookie and the CSRF token the
// pages carry.
func (h *harness) signIn() (*http.Cookie, string) {
	h.t.Helper()
	resp := h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {token}, "next": {"/"}}})
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("sign-in: %s", resp.Status)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			cookie = c
		}
	}
	if cookie == nil {
		h.t.Fatal("sign-in set no session cookie")
	}
	page := bodyOf(h.t, h.do(request{method: "GET", path: "/database", cookie: cookie}))
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		h.t.Fatalf("no CSRF field on the database page:\n%s", page)
	}
	return cookie, m[1]
}

// multipartBody builds a multipart form: fields, then files as
// field → file name → contents.
func multipartBody(t *testing.T, fields map[string]string, files ...[3]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		fw, err := mw.CreateFormFile(f[0], f[1])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, f[2])
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func TestUnauthenticated(t *testing.T) {
	h := newHarness(t)
	stale := &http.Cookie{Name: cookieName, Value: randomToken()}
	cases := []struct {
		name     string
		r        request
		code     int
		location string
	}{
		{"overview", request{method: "GET", path: "/"}, http.StatusSeeOther, "/signin?next=%2F"},
		{"statistics keeps its query", request{method: "GET", path: "/statistics?range=7d"}, http.StatusSeeOther, "/signin?next=%2Fstatistics%3Frange%3D7d"},
		{"unknown session", request{method: "GET", path: "/license", cookie: stale}, http.StatusSeeOther, "/signin?next=%2Flicense"},
		{"unknown page", request{method: "GET", path: "/admin.php"}, http.StatusSeeOther, "/signin?next=%2Fadmin.php"},
		{"scan", request{method: "POST", path: "/scan", form: url.Values{"message": {"Subject: x\r\n\r\nx"}}}, http.StatusUnauthorized, ""},
		{"update", request{method: "POST", path: "/database", form: url.Values{"action": {"update"}}}, http.StatusUnauthorized, ""},
		{"learn with a stale session", request{method: "POST", path: "/learn", cookie: stale}, http.StatusUnauthorized, ""},
		{"sign-out", request{method: "POST", path: "/signout"}, http.StatusUnauthorized, ""},
		{"the sign-in page", request{method: "GET", path: "/signin"}, http.StatusOK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := h.do(c.r)
			if resp.StatusCode != c.code || resp.Header.Get("Location") != c.location {
				t.Errorf("%s %s: %s, Location %q; want %d, %q", c.r.method, c.r.path, resp.Status, resp.Header.Get("Location"), c.code, c.location)
			}
		})
	}
	if n := len(h.f.calls); n != 0 {
		t.Errorf("unauthenticated requests reached the services: %v", h.f.calls)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	cookie, _ := h.signIn()
	for _, r := range []request{{method: "GET", path: "/signin"}, {method: "GET", path: "/"}, {method: "GET", path: "/", cookie: cookie}, {method: "POST", path: "/scan"}} {
		resp := h.do(r)
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
				t.Errorf("%s %s (%s): %s: %q, want %q", r.method, r.path, resp.Status, k, got, want)
			}
		}
	}
}

func TestSignIn(t *testing.T) {
	for _, secure := range []bool{false, true} {
		h := newHarness(t, func(o *Options) { o.Secure = secure })
		resp := h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {token}, "next": {"/statistics?range=1h"}}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/statistics?range=1h" {
			t.Fatalf("sign-in: %s to %q", resp.Status, resp.Header.Get("Location"))
		}
		cs := resp.Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v", cs)
		}
		c := cs[0]
		if c.Name != cookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != secure || c.MaxAge != 12*3600 || len(c.Value) < 40 {
			t.Errorf("secure=%v: session cookie %+v", secure, c)
		}
		if got := h.do(request{method: "GET", path: "/", cookie: c}); got.StatusCode != http.StatusOK {
			t.Errorf("overview with the session: %s", got.Status)
		}
		h.clock.add(12*time.Hour - time.Second)
		if got := h.do(request{method: "GET", path: "/", cookie: c}); got.StatusCode != http.StatusOK {
			t.Errorf("session before 12 h: %s", got.Status)
		}
		h.clock.add(time.Second)
		if got := h.do(request{method: "GET", path: "/", cookie: c}); got.StatusCode != http.StatusSeeOther {
			t.Errorf("session after 12 h: %s, want a redirect to sign in", got.Status)
		}
	}
}

func TestSignInRefused(t *testing.T) {
	h := newHarness(t)
	wrong := func(tok string) *http.Response {
		return h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {tok}}})
	}
	resp := wrong("not-the-token")
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(bodyOf(t, resp), "The admin token does not match.") {
		t.Fatalf("wrong token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	// Right away even the right token waits.
	resp = h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {token}}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || len(resp.Cookies()) != 0 {
		t.Fatalf("right token just after a wrong one: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	// Another address is not held up.
	if resp := h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {token}}, remote: "198.51.100.9:4000"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in from another address: %s", resp.Status)
	}
	h.clock.add(time.Second)
	if resp := wrong(token[:len(token)-1]); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a prefix of the token: %s", resp.Status)
	}
	h.clock.add(time.Second)
	if resp := wrong(""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("second failure waits 2 s: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	h.clock.add(time.Second)
	if resp := h.do(request{method: "POST", path: "/signin", form: url.Values{"token": {" " + token + "\n"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right token (pasted with white space) after the wait: %s", resp.Status)
	}
}

func TestTokenGuard(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := newTokenGuard(token, c.now)
	from := clientPrefix(&http.Request{RemoteAddr: "[2001:db8:1:2::7]:5000"})
	neighbour := clientPrefix(&http.Request{RemoteAddr: "[2001:db8:1:2::8]:5000"})
	if from != neighbour {
		t.Fatalf("one IPv6 /64 counts as one address: %v, %v", from, neighbour)
	}
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 64, 64} {
		if ok, wait := g.check(from, "guess"); ok || wait != 0 {
			t.Fatalf("failure %d: ok %v, wait %s", i+1, ok, wait)
		}
		if _, wait := g.check(neighbour, token); wait != want*time.Second {
			t.Fatalf("after %d failures: wait %s, want %s", i+1, wait, want*time.Second)
		}
		c.add(want * time.Second)
	}
	c.add(guardQuiet + time.Second)
	g.check(from, "guess")
	if _, wait := g.check(from, token); wait != time.Second {
		t.Errorf("after a quiet period the count starts again: wait %s", wait)
	}
	c.add(time.Second)
	if ok, _ := g.check(from, token); !ok {
		t.Error("right token refused")
	}
	if ok, wait := g.check(from, "guess"); ok || wait != 0 {
		t.Error("a success does not clear the failures")
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t)
	cookie, csrf := h.signIn()
	resp := h.do(request{method: "POST", path: "/signout", cookie: cookie, form: url.Values{"csrf": {csrf}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("sign-out: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
		t.Errorf("sign-out does not delete the cookie: %v", cs)
	}
	if resp := h.do(request{method: "GET", path: "/", cookie: cookie}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session lives on after sign-out: %s", resp.Status)
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	cookie, csrf := h.signIn()
	_, other := h.signIn()
	cases := []struct {
		name string
		form url.Values
		code int
	}{
		{"no token", url.Values{"action": {"reload"}}, http.StatusForbidden},
		{"empty token", url.Values{"action": {"reload"}, "csrf": {""}}, http.StatusForbidden},
		{"wrong token", url.Values{"action": {"reload"}, "csrf": {randomToken()}}, http.StatusForbidden},
		{"another session's token", url.Values{"action": {"reload"}, "csrf": {other}}, http.StatusForbidden},
		{"the session's token", url.Values{"action": {"reload"}, "csrf": {csrf}}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.f.called("Reload")
			resp := h.do(request{method: "POST", path: "/database", cookie: cookie, form: c.form})
			if resp.StatusCode != c.code {
				t.Fatalf("%s, want %d", resp.Status, c.code)
			}
			if ran := h.f.called("Reload") - before; (ran == 1) != (c.code == http.StatusOK) {
				t.Errorf("Reload ran %d times", ran)
			}
		})
	}
	// Multipart forms carry it too.
	body, ct := multipartBody(t, map[string]string{"label": "spam", "csrf": "forged"}, [3]string{"messages", "a.eml", "Subject: a\r\n\r\na\r\n"})
	if resp := h.do(request{method: "POST", path: "/learn", cookie: cookie, body: body, contentType: ct}); resp.StatusCode != http.StatusForbidden || h.f.called("Learn") != 0 {
		t.Errorf("learn with a forged CSRF token: %s", resp.Status)
	}
}

func TestBearer(t *testing.T) {
	h := newHarness(t)
	if resp := h.do(request{method: "GET", path: "/", bearer: token}); resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
		t.Fatalf("overview with the bearer token: %s", resp.Status)
	}
	// No CSRF token needed: no cookie is involved.
	resp := h.do(request{method: "POST", path: "/database", bearer: token, form: url.Values{"action": {"reload-policy"}}})
	if b := bodyOf(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "policy /etc/scilla/policy.yaml reloaded: 4 groups") {
		t.Fatalf("reload policy with the bearer token: %s\n%s", resp.Status, b)
	}
	if strings.Contains(bodyOf(t, h.do(request{method: "GET", path: "/", bearer: token})), "Sign out") {
		t.Error("a bearer request is offered to sign out")
	}
	if resp := h.do(request{method: "GET", path: "/", bearer: "wrong"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong bearer token: %s", resp.Status)
	}
	if resp := h.do(request{method: "GET", path: "/", bearer: token}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("bearer token right after a wrong one: %s", resp.Status)
	}
}

// TestPages: each page shows what its service returned.
func TestPages(t *testing.T) {
	h := newHarness(t)
	cookie, _ := h.signIn()
	cases := []struct {
		path string
		want []string
	}{
		{"/", []string{
			"<td>9.8.7 (scilla/1.0)</td>", "<td>26h3m0s</td>", "<td>2026112201</td>", "2026-11-22 08:00:00 UTC (28h0m ago)",
			"https://db.example.com/scilla/", "up to date", "active: commercial key SC-2026-0001 for Example Mail Ltd, 12 days left",
			"the active key expires in 12 days and no reserve key is installed", `<td class="n">17</td>`,
			"10.0.0.5:6379", "unreachable", "dial tcp 10.0.0.5:6379: connection refused", `aria-current="page">Overview`,
		}},
		{"/license", []string{
			"<td>SC-2026-0001</td>", "<td>Example Mail Ltd</td>", "<td>COMMERCIAL</td>", "<td>500</td>", "<td>20 GiB</td>",
			`<td class="n">123</td><td>of 500</td>`, `<td class="n">5 MiB</td><td>of 20 GiB</td>`, "mailboxes: 123 of 500 used",
			"2027-11-22 08:00:00 UTC", "Reserve key</h2>\n<p>None installed",
		}},
		{"/database", []string{"<td>2026112201</td>", "up to date", `value="update">Update now`, `value="reload">Reload database`, `value="reload-policy">Reload policy`}},
		{"/statistics", []string{
			`<th>Messages</th><td class="n">120</td>`, `<td class="n">3 MiB</td>`, `<td class="n">25.0 %</td>`,
			`<td class="SPAM">SPAM</td><td class="n">31</td>`, `<td>NOT_PROTECTED</td><td class="n">7</td>`,
			`<td>00000002 Sales</td><td class="n">24</td><td class="n">25</td><td class="n">24</td>`,
			`<td>example.com</td><td class="n">80</td><td class="n">90</td><td class="n">25.0 %</td>`,
			"Top recipient domains (1 of 3)", "<td>BAYES_99</td><td class=\"n\">27</td>", "<td>content</td>",
		}},
		{"/scan", []string{`enctype="multipart/form-data"`, `name="rcpt_to"`, `name="client_ip"`}},
		{"/learn", []string{`name="messages" multiple`, `value="ham"`}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp := h.do(request{method: "GET", path: c.path, cookie: cookie})
			b := bodyOf(t, resp)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%s, %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			for _, w := range c.want {
				if !strings.Contains(b, w) {
					t.Errorf("no %q in\n%s", w, b)
				}
			}
		})
	}
	if len(h.f.noDeadline) > 0 {
		t.Errorf("calls without a deadline: %v", h.f.noDeadline)
	}
}

func TestStatisticsRange(t *testing.T) {
	h := newHarness(t)
	now := h.clock.now()
	cases := []struct {
		query   string
		from    time.Duration
		day     bool
		cluster bool
	}{
		{"", 24 * time.Hour, false, false},
		{"?range=1h", time.Hour, false, false},
		{"?range=7d&cluster=1", 7 * 24 * time.Hour, true, true},
	}
	for _, c := range cases {
		resp := h.do(request{method: "GET", path: "/statistics" + c.query, bearer: token})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", c.query, resp.Status)
		}
		req := h.f.statsReq
		if !req.GetFrom().AsTime().Equal(now.Add(-c.from)) || !req.GetTo().AsTime().Equal(now) || (req.GetResolution() == 2) != c.day || req.GetCluster() != c.cluster {
			t.Errorf("%s: request %v", c.query, req)
		}
	}
	if resp := h.do(request{method: "GET", path: "/statistics?range=1y", bearer: token}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown range: %s", resp.Status)
	}
	h.f.statsErr = status.Error(codes.FailedPrecondition, "statistics of several servers need the redis section")
	resp := h.do(request{method: "GET", path: "/statistics?cluster=1", bearer: token})
	if b := bodyOf(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(b, `<p class="error" role="alert">statistics of several servers need the redis section</p>`) || !strings.Contains(b, `name="cluster" value="1" checked`) {
		t.Errorf("cluster statistics without Redis: %s\n%s", resp.Status, b)
	}
}

func TestDatabaseActions(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		action, call string
		code         int
		want         string
	}{
		{"update", "Update", http.StatusOK, "<div>installed 2026112202: 1 file fetched (2 KiB), 5 reused</div>"},
		{"reload", "Reload", http.StatusOK, "<div>config /etc/scilla/scillad.yaml</div><div>database 2026112201</div>"},
		{"reload-policy", "ReloadPolicy", http.StatusOK, "<div>policy /etc/scilla/policy.yaml reloaded: 4 groups</div>"},
		{"format-disk", "", http.StatusBadRequest, `action &#34;format-disk&#34;: want update, reload or reload-policy`},
	}
	for _, c := range cases {
		resp := h.do(request{method: "POST", path: "/database", bearer: token, form: url.Values{"action": {c.action}}})
		b := bodyOf(t, resp)
		if resp.StatusCode != c.code || !strings.Contains(b, c.want) || !strings.Contains(b, "<td>2026112201</td>") {
			t.Errorf("%s: %s\n%s", c.action, resp.Status, b)
		}
		if c.call != "" && h.f.called(c.call) != 1 {
			t.Errorf("%s: %s called %d times", c.action, c.call, h.f.called(c.call))
		}
	}
	h.f.updateErr = status.Error(codes.FailedPrecondition, "update failed, the installed database keeps serving: manifest signature does not verify")
	resp := h.do(request{method: "POST", path: "/database", bearer: token, form: url.Values{"action": {"update"}}})
	if b := bodyOf(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(b, "manifest signature does not verify") {
		t.Errorf("failed update: %s\n%s", resp.Status, b)
	}
	if len(h.f.noDeadline) > 0 {
		t.Errorf("calls without a deadline: %v", h.f.noDeadline)
	}
}

const gtube = "From: Tester <tester@example.org>\r\nTo: user@example.com\r\nSubject: Test spam mail (GTUBE)\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"

func TestScan(t *testing.T) {
	h := newHarness(t)
	cookie, csrf := h.signIn()
	body, ct := multipartBody(t, map[string]string{
		"csrf": csrf, "client_ip": "192.0.2.7", "helo": "mx.example.org", "mail_from": "<tester@example.org>",
		"rcpt_to": "user@example.com, <boss@example.com>\r\nthird@example.com",
	}, [3]string{"file", "gtube.eml", gtube})
	resp := h.do(request{method: "POST", path: "/scan", cookie: cookie, body: body, contentType: ct})
	b := bodyOf(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, b)
	}
	for _, w := range []string{
		`Group 00000001 All: <span class="SPAM">SPAM</span>`, "<td>999.26 (rate 100)</td>", "<td>content</td>",
		"<td>GTUBE</td><td class=\"n\">999.00</td><td>test</td><td>the GTUBE test string</td>",
		"X-Spamtest-Status-Extended: SPAM\nX-Spam-Flag: YES\n", "<code>[!! SPAM]</code>", "<td>ACCEPT</td>",
		"<td>user@example.com, boss@example.com, third@example.com</td>", `value="mx.example.org"`,
	} {
		if !strings.Contains(b, w) {
			t.Errorf("no %q in\n%s", w, b)
		}
	}
	env := h.f.scanReq.GetEnvelope()
	if string(h.f.scanReq.GetMessage()) != gtube || env.GetClientIp() != "192.0.2.7" || env.GetHelo() != "mx.example.org" ||
		env.GetMailFrom() != "tester@example.org" || strings.Join(env.GetRcptTo(), " ") != "user@example.com boss@example.com third@example.com" {
		t.Errorf("scan request %v", h.f.scanReq)
	}

	// Pasted, without an envelope: the recipient is postmaster@localhost.
	resp = h.do(request{method: "POST", path: "/scan", bearer: token, form: url.Values{"message": {"\r\n" + gtube}}})
	if resp.StatusCode != http.StatusOK || string(h.f.scanReq.GetMessage()) != gtube || strings.Join(h.f.scanReq.GetEnvelope().GetRcptTo(), " ") != "postmaster@localhost" {
		t.Errorf("pasted message: %s, request %v", resp.Status, h.f.scanReq)
	}
}

func TestScanRefused(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"no message", url.Values{"rcpt_to": {"a@example.com"}}, http.StatusBadRequest, "no message: choose a message file or paste one"},
		{"bad client IP", url.Values{"message": {gtube}, "client_ip": {"999.1.1.1"}}, http.StatusBadRequest, "envelope.client_ip: &#34;999.1.1.1&#34; is not an IP address"},
		{"two-line HELO", url.Values{"message": {gtube}, "helo": {"a\nb"}}, http.StatusBadRequest, "envelope.helo: must be one line"},
		{"refused by the scanner", url.Values{"message": {strings.Repeat("x", 1<<20+1)}}, http.StatusRequestEntityTooLarge, "message: over the server limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.f.called("Scan")
			resp := h.do(request{method: "POST", path: "/scan", bearer: token, form: c.form})
			if b := bodyOf(t, resp); resp.StatusCode != c.code || !strings.Contains(b, c.want) {
				t.Errorf("%s, want %d with %q:\n%s", resp.Status, c.code, c.want, b)
			}
			if called := h.f.called("Scan") - before; (called == 1) != (c.name == "refused by the scanner") {
				t.Errorf("Scan called %d times", called)
			}
		})
	}
}

func TestUploadLimits(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxMessageBytes = 2048 })
	cookie, csrf := h.signIn()
	big := strings.Repeat("x", 2048+formOverhead)
	body, ct := multipartBody(t, map[string]string{"csrf": csrf}, [3]string{"file", "big.eml", big})
	if resp := h.do(request{method: "POST", path: "/scan", cookie: cookie, body: body, contentType: ct}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("scan upload over server.max_message_bytes: %s", resp.Status)
	}
	h.s.SetMaxMessageBytes(len(big))
	body, ct = multipartBody(t, map[string]string{"csrf": csrf}, [3]string{"file", "big.eml", big})
	if resp := h.do(request{method: "POST", path: "/scan", cookie: cookie, body: body, contentType: ct}); resp.StatusCode == http.StatusRequestEntityTooLarge && h.f.called("Scan") == 0 {
		t.Errorf("the limit set on reload does not apply: %s", resp.Status)
	}
	if resp := h.do(request{method: "POST", path: "/signin", body: strings.NewReader("token=" + strings.Repeat("x", smallFormBytes)), contentType: "application/x-www-form-urlencoded"}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized sign-in form: %s", resp.Status)
	}
	if h.f.called("Learn") != 0 {
		t.Error("Learn called")
	}
}

func TestLearn(t *testing.T) {
	h := newHarness(t)
	cookie, csrf := h.signIn()
	mailbox := "From a@example.org Mon Nov 23 10:00:00 2026\nSubject: one\n\nbuy\n\nFrom b@example.org Mon Nov 23 10:01:00 2026\nSubject: two\n\n>From the start\n"
	body, ct := multipartBody(t, map[string]string{"csrf": csrf, "label": "spam", "domain": " example.com "},
		[3]string{"messages", "a.eml", "Subject: a\r\n\r\nfirst\r\n"},
		[3]string{"messages", "empty.eml", " \r\n"},
		[3]string{"messages", "b.eml", "Subject: b\r\n\r\nsecond\r\n"},
		[3]string{"messages", "spam.mbox", mailbox})
	resp := h.do(request{method: "POST", path: "/learn", cookie: cookie, body: body, contentType: ct})
	b := bodyOf(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, b)
	}
	req := h.f.learnReq
	var got []string
	for _, m := range req.GetMessages() {
		got = append(got, string(m))
	}
	want := []string{"Subject: a\r\n\r\nfirst\r\n", "Subject: b\r\n\r\nsecond\r\n", "Subject: one\n\nbuy\n", "Subject: two\n\nFrom the start\n"}
	if req.GetLabel().String() != "LABEL_SPAM" || req.GetDomain() != "example.com" || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("learn request: label %v, domain %q, messages %q", req.GetLabel(), req.GetDomain(), got)
	}
	for _, w := range []string{"4 messages sent as SPAM.", `Learned (counts changed)</th><td class="n">3</td>`, `Already learned with this label</th><td class="n">1</td>`, `<td class="n">4711</td>`, `<td class="n">815</td>`} {
		if !strings.Contains(b, w) {
			t.Errorf("no %q in\n%s", w, b)
		}
	}
	for name, form := range map[string]map[string]string{"no label": {}, "bad label": {"label": "unspecified"}} {
		form["csrf"] = csrf
		body, ct := multipartBody(t, form, [3]string{"messages", "a.eml", "Subject: a\r\n\r\na\r\n"})
		if resp := h.do(request{method: "POST", path: "/learn", cookie: cookie, body: body, contentType: ct}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s", name, resp.Status)
		}
	}
	body, ct = multipartBody(t, map[string]string{"csrf": csrf, "label": "ham"})
	if resp := h.do(request{method: "POST", path: "/learn", cookie: cookie, body: body, contentType: ct}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(bodyOf(t, resp), "no messages") {
		t.Errorf("no files: %s", resp.Status)
	}
	if n := h.f.called("Learn"); n != 1 {
		t.Errorf("Learn called %d times", n)
	}
}

// TestEscaping: what a message, a rule or a form brings in is shown as
// text, never as markup.
func TestEscaping(t *testing.T) {
	h := newHarness(t)
	h.f.description = `<script>alert("rule")</script>`
	msg := "Subject: <script>alert(1)</script>\r\n\r\n</textarea><img src=x onerror=alert(2)>\r\n"
	resp := h.do(request{method: "POST", path: "/scan", bearer: token, form: url.Values{
		"message": {msg}, "helo": {`"><script>alert(3)</script>`}, "rcpt_to": {"<b>@example.com"},
	}})
	b := bodyOf(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, b)
	}
	for _, bad := range []string{"<script>", "<img", `"><script`, "<b>"} {
		if strings.Contains(b, bad) {
			t.Errorf("%q unescaped in\n%s", bad, b)
		}
	}
	for _, w := range []string{"&lt;script&gt;alert(&#34;rule&#34;)&lt;/script&gt;", "Subject: &lt;script&gt;alert(1)&lt;/script&gt;", "&lt;/textarea&gt;&lt;img src=x onerror=alert(2)&gt;"} {
		if !strings.Contains(b, w) {
			t.Errorf("no %q in\n%s", w, b)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:                  "less than a minute",
		3*time.Hour + 12*time.Minute + 20: "3h12m",
		47 * time.Hour:                    "47h0m",
		9*24*time.Hour + 5*time.Hour:      "9 days",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}
